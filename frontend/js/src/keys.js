// Officer and case identities: parsing identity files, the case envelope, the identity file
// an officer downloads at enrollment, and its passphrase-wrapped copy. Pure: no DOM, no storage.

import { bech32 } from "@scure/base";
import {
  Decrypter,
  Encrypter,
  armor,
  generateX25519Identity,
  identityToRecipient,
} from "age-encryption";

/** The first line of a case envelope's plaintext (see server/src/crypto.rs `seal_to`). */
export const CASE_KEY_HEADER = "# Speak Up case key";

/** The first line of an officer-key envelope's plaintext (docs/browser-contract.md). */
export const OFFICER_KEY_HEADER = "# Speak Up officer key";

/** scrypt work factor for wrapped identities: age's own default (2^18). */
export const WRAP_WORK_FACTOR = 18;

const IDENTITY_PREFIX = "AGE-SECRET-KEY-1";

/** A refused key, identity file or envelope. `code` is a `speakup-text` key. */
export class KeyError extends Error {
  constructor(message, code = "unlock_failed") {
    super(message);
    this.name = "KeyError";
    this.code = code;
  }
}

/**
 * The 32-byte X25519 scalar of an `AGE-SECRET-KEY-1…` identity, checksum verified.
 * @param {string} identity
 * @returns {Uint8Array}
 */
export function identityScalar(identity) {
  if (typeof identity !== "string" || !identity.startsWith(IDENTITY_PREFIX)) {
    throw new KeyError("not an AGE-SECRET-KEY-1 identity");
  }
  let decoded;
  try {
    decoded = bech32.decodeToBytes(identity);
  } catch (e) {
    throw new KeyError(`invalid identity encoding: ${e.message}`);
  }
  if (decoded.prefix.toUpperCase() !== "AGE-SECRET-KEY-" || decoded.bytes.length !== 32) {
    throw new KeyError("invalid identity");
  }
  return decoded.bytes;
}

/**
 * The identities in an age identity file (`age-keygen` output): `#` comments and blank lines
 * are skipped, every other line must be a native X25519 identity. CRLF is accepted.
 * @param {string} text
 * @returns {string[]} at least one identity
 */
export function parseIdentityFile(text) {
  if (typeof text !== "string") throw new KeyError("identity file is not text");
  const identities = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\r$/, "").trim();
    if (line === "" || line.startsWith("#")) continue;
    if (line.startsWith("AGE-SECRET-KEY-PQ-1")) {
      throw new KeyError("post-quantum identities are not used by Speak Up");
    }
    identityScalar(line); // throws on anything that is not a valid X25519 identity
    identities.push(line);
  }
  if (identities.length === 0) throw new KeyError("no identity in the file");
  return identities;
}

/**
 * The case identity from a decrypted case envelope: `# Speak Up case key\nAGE-SECRET-KEY-1…\n`.
 * @param {string} text
 * @returns {string}
 */
export function parseCaseEnvelope(text, header = CASE_KEY_HEADER) {
  if (typeof text !== "string") throw new KeyError("case envelope is not text", "decrypt_failed");
  const lines = text.replace(/\r\n/g, "\n").split("\n");
  if (lines[0] !== header) {
    throw new KeyError("case envelope does not start with the expected header", "decrypt_failed");
  }
  let ids;
  try {
    ids = parseIdentityFile(lines.slice(1).join("\n"));
  } catch (e) {
    throw new KeyError(`case envelope: ${e.message}`, "decrypt_failed");
  }
  if (ids.length !== 1) throw new KeyError("case envelope holds more than one key", "decrypt_failed");
  return ids[0];
}

/** The case envelope plaintext for a case identity, byte for byte what the server seals. */
export function makeCaseKeyFile(caseIdentity) {
  identityScalar(caseIdentity);
  return `${CASE_KEY_HEADER}\n${caseIdentity}\n`;
}

/** The officer identity from a decrypted officer-key envelope. */
export function parseOfficerEnvelope(text) {
  return parseCaseEnvelope(text, OFFICER_KEY_HEADER);
}

/** The officer-key envelope plaintext: `# Speak Up officer key\nAGE-SECRET-KEY-1…\n`. */
export function makeOfficerKeyFile(officerIdentity) {
  identityScalar(officerIdentity);
  return `${OFFICER_KEY_HEADER}\n${officerIdentity}\n`;
}

/** A new X25519 identity and its recipient: a case's officer key. */
export async function generateOfficerCaseKey() {
  const identity = await generateX25519Identity();
  return { identity, recipient: await identityToRecipient(identity) };
}

/** `2026-05-05T10:20:30Z`: Go's RFC 3339 in UTC, as `age-keygen` writes it (no fraction). */
export function rfc3339(date) {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * The identity file text exactly as `age-keygen` writes it.
 * @param {string} identity
 * @param {string} recipient
 * @param {Date} [created]
 */
export function makeIdentityFile(identity, recipient, created = new Date()) {
  identityScalar(identity);
  if (!/^age1[02-9ac-hj-np-z]{58}$/.test(recipient)) throw new KeyError("invalid recipient");
  return `# created: ${rfc3339(created)}\n# public key: ${recipient}\n${identity}\n`;
}

/** A new X25519 identity with its recipient and downloadable identity file. */
export async function generateOfficerKey(created = new Date()) {
  const identity = await generateX25519Identity();
  const recipient = await identityToRecipient(identity);
  return { identity, recipient, file: makeIdentityFile(identity, recipient, created) };
}

/**
 * The `age1…` recipient of an identity string or X25519 CryptoKey.
 * @param {string | CryptoKey} identity
 */
export async function recipientOf(identity) {
  if (typeof identity === "string") identityScalar(identity);
  return identityToRecipient(identity);
}

/**
 * Refuses an identity whose recipient is not `expected` (the page's `body[data-recipient]`).
 * @param {string | CryptoKey} identity
 * @param {string | undefined | null} expected
 */
export async function checkIdentity(identity, expected) {
  if (!expected) throw new KeyError("the page names no recipient to check the key against");
  let actual;
  try {
    actual = await recipientOf(identity);
  } catch (e) {
    throw new KeyError(`unusable identity: ${e.message}`);
  }
  if (actual !== expected.trim()) throw new KeyError("this key belongs to another recipient");
  return actual;
}

/**
 * Picks, from an identity file, the identity whose recipient is `expected`.
 * @param {string} text identity file
 * @param {string} expected
 */
export async function identityFromFile(text, expected) {
  const ids = parseIdentityFile(text);
  for (const id of ids) {
    try {
      await checkIdentity(id, expected);
      return id;
    } catch {
      // try the next one
    }
  }
  throw new KeyError("no identity in the file matches this account");
}

/**
 * Encrypts an identity file with a passphrase (age scrypt recipient), ASCII armored.
 * @param {string} fileText
 * @param {string} passphrase
 * @param {{ workFactor?: number }} [options] only tests lower the work factor
 */
export async function wrapIdentity(fileText, passphrase, { workFactor = WRAP_WORK_FACTOR } = {}) {
  if (!passphrase) throw new KeyError("empty passphrase", "passphrase_mismatch");
  parseIdentityFile(fileText);
  const e = new Encrypter();
  e.setScryptWorkFactor(workFactor);
  e.setPassphrase(passphrase);
  return armor.encode(await e.encrypt(fileText));
}

/**
 * Decrypts a wrapped identity file (armored, or binary bytes) with its passphrase.
 * @param {string | Uint8Array} wrapped
 * @param {string} passphrase
 * @returns {Promise<string>} the identity file text
 */
export async function unwrapIdentity(wrapped, passphrase) {
  let bytes;
  try {
    bytes = typeof wrapped === "string" ? armor.decode(wrapped) : wrapped;
  } catch (e) {
    throw new KeyError(`wrapped key is not an armored age file: ${e.message}`);
  }
  const d = new Decrypter();
  d.addPassphrase(passphrase);
  let text;
  try {
    text = await d.decrypt(bytes, "text");
  } catch (e) {
    throw new KeyError(`wrong passphrase or damaged wrapped key: ${e.message}`);
  }
  parseIdentityFile(text);
  return text;
}
