// age encryption and decryption of case content. Pure: works on strings, bytes, Blobs and
// Responses, never on the DOM. Identities are `AGE-SECRET-KEY-1…` strings or X25519 CryptoKeys.

import { Decrypter, Encrypter } from "age-encryption";

/** A ciphertext part's media type. */
export const AGE_TYPE = "application/octet-stream";

/** Decryption failed. `code` is a `speakup-text` key. */
export class CipherError extends Error {
  constructor(message, code = "decrypt_failed") {
    super(message);
    this.name = "CipherError";
    this.code = code;
  }
}

/**
 * Checks and de-duplicates a recipient list (`data-recipients` is space separated).
 * @param {string | string[]} recipients
 * @returns {string[]}
 */
export function parseRecipients(recipients) {
  const list = Array.isArray(recipients) ? recipients : String(recipients ?? "").split(/\s+/);
  const out = [];
  for (const r of list.map((s) => s.trim()).filter(Boolean)) {
    if (!/^age1[02-9ac-hj-np-z]{58}$/.test(r)) {
      throw new CipherError(`not an age X25519 recipient: ${r.slice(0, 12)}…`, "send_failed");
    }
    if (!out.includes(r)) out.push(r);
  }
  if (out.length === 0) throw new CipherError("no recipients to encrypt to", "send_failed");
  return out;
}

function encrypter(recipients) {
  const e = new Encrypter();
  for (const r of parseRecipients(recipients)) e.addRecipient(r);
  return e;
}

function decrypter(identities) {
  const list = (Array.isArray(identities) ? identities : [identities]).filter(Boolean);
  if (list.length === 0) throw new CipherError("no identity unlocked", "key_missing");
  const d = new Decrypter();
  for (const identity of list) d.addIdentity(identity);
  return d;
}

/**
 * Encrypts UTF-8 text or bytes to all recipients.
 * @param {string | string[]} recipients
 * @param {string | Uint8Array} plaintext
 * @returns {Promise<Uint8Array>} a binary age file
 */
export async function encrypt(recipients, plaintext) {
  return encrypter(recipients).encrypt(plaintext);
}

/** Whether this platform can feed a Blob's stream through typage's stream encryption. */
export function canStream(blob) {
  return (
    typeof ReadableStream !== "undefined" &&
    typeof Response !== "undefined" &&
    typeof blob?.stream === "function"
  );
}

/**
 * Encrypts a Blob or File to all recipients, streaming where the platform allows (the
 * plaintext is never held in memory whole), else through `arrayBuffer()`.
 * @param {string | string[]} recipients
 * @param {Blob} blob
 * @returns {Promise<Blob>} the age file, `application/octet-stream`
 */
export async function encryptBlob(recipients, blob, { stream = canStream(blob) } = {}) {
  const e = encrypter(recipients);
  if (stream) {
    const out = await e.encrypt(blob.stream());
    const expected = out.size(blob.size);
    const result = await new Response(out).blob();
    if (result.size !== expected) {
      throw new CipherError(`encrypted ${result.size} bytes, expected ${expected}`, "send_failed");
    }
    return new Blob([result], { type: AGE_TYPE });
  }
  const bytes = new Uint8Array(await blob.arrayBuffer());
  return new Blob([await e.encrypt(bytes)], { type: AGE_TYPE });
}

/**
 * Decodes base64 (standard alphabet; whitespace and missing padding tolerated).
 * @param {string} text
 * @returns {Uint8Array}
 */
export function fromBase64(text) {
  const clean = String(text ?? "").replace(/\s+/g, "");
  if (clean === "" || !/^[A-Za-z0-9+/]+={0,2}$/.test(clean)) {
    throw new CipherError("not base64");
  }
  let bin;
  try {
    bin = atob(clean);
  } catch (e) {
    throw new CipherError(`not base64: ${e.message}`);
  }
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Encodes bytes as standard padded base64. */
export function toBase64(bytes) {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}

/**
 * Decrypts an age file.
 * @param {string | CryptoKey | Array<string | CryptoKey>} identity
 * @param {Uint8Array} ciphertext
 * @returns {Promise<Uint8Array>}
 */
export async function decrypt(identity, ciphertext) {
  const d = decrypter(identity);
  try {
    return await d.decrypt(ciphertext);
  } catch (e) {
    throw new CipherError(`age decryption failed: ${e.message}`);
  }
}

/**
 * Decrypts a base64 age file (a `data-age` attribute) to UTF-8 text. Invalid UTF-8 fails.
 * @param {string | CryptoKey | Array<string | CryptoKey>} identity
 * @param {string} b64
 * @returns {Promise<string>}
 */
export async function decryptBase64Text(identity, b64) {
  const bytes = await decrypt(identity, fromBase64(b64));
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new CipherError("decrypted content is not UTF-8 text");
  }
}

/**
 * Decrypts a fetched age file while it downloads, into a Blob.
 * @param {string | CryptoKey | Array<string | CryptoKey>} identity
 * @param {Response} response
 * @param {string} [type] the Blob's media type
 * @returns {Promise<Blob>}
 */
export async function decryptResponse(identity, response, type = AGE_TYPE) {
  if (!response.ok) {
    throw new CipherError(`download failed: HTTP ${response.status}`);
  }
  const d = decrypter(identity);
  let body = response.body;
  if (!body) body = new Response(await response.arrayBuffer()).body;
  let plain;
  try {
    plain = await d.decrypt(body);
    const blob = await new Response(plain).blob();
    return new Blob([blob], { type });
  } catch (e) {
    throw new CipherError(`age decryption failed: ${e.message}`);
  }
}
