// The reporter's receipt token and the keys derived from it, exactly as
// server/src/domain/receipt.rs does it (docs/browser-contract.md, "Receipt token and keys").
// Pure: WebCrypto and typage only, no DOM, no storage. The token and the identity are secrets:
// they are never logged and only ever returned to the caller.

import { bech32 } from "@scure/base";
import { identityToRecipient } from "age-encryption";

/** 30 symbols with no look-alikes: no 0/O, 1/I/L, and no U. */
export const ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ";
/** 24 symbols of log2(30) bits each: 117.7 bits. */
export const TOKEN_LEN = 24;
export const GROUP_LEN = 4;

export const SALT = "speakup/receipt/v1";
export const INFO_LOOKUP = "speakup/receipt/v1/lookup";
export const INFO_IDENTITY = "speakup/receipt/v1/age-identity";

/** Rejection sampling bound: 240 = 8 * 30, so bytes below it map uniformly onto the alphabet. */
const SAMPLE_BOUND = 240;
const SEPARATORS = /[\p{White_Space}\-._]/u;

/** Not a receipt token (what the server calls `InvalidToken`). */
export class TokenError extends Error {
  constructor(message = "not a receipt token") {
    super(message);
    this.name = "TokenError";
  }
}

/**
 * A new canonical token (24 upper-case symbols, no separators).
 * @param {(bytes: Uint8Array) => Uint8Array} [random] `crypto.getRandomValues`; tests inject
 * @returns {string}
 */
export function generateToken(random = (b) => crypto.getRandomValues(b)) {
  let out = "";
  const buf = new Uint8Array(64);
  while (out.length < TOKEN_LEN) {
    random(buf);
    for (const b of buf) {
      if (b >= SAMPLE_BOUND) continue;
      if (out.length === TOKEN_LEN) break;
      out += ALPHABET[b % ALPHABET.length];
    }
  }
  buf.fill(0);
  return out;
}

/**
 * What a person types back, in canonical form: any case; white space, `-`, `.` and `_`
 * anywhere are ignored. Anything else, or a wrong length, is refused.
 * @param {string} input
 * @returns {string} the canonical token
 */
export function parseToken(input) {
  if (typeof input !== "string") throw new TokenError();
  let out = "";
  for (const c of input) {
    if (SEPARATORS.test(c)) continue;
    // Like Rust's to_ascii_uppercase: only a-z change (no Unicode case mapping such as ß → SS).
    const up = c >= "a" && c <= "z" ? c.toUpperCase() : c;
    if (!ALPHABET.includes(up) || out.length >= TOKEN_LEN) throw new TokenError();
    out += up;
  }
  if (out.length !== TOKEN_LEN) throw new TokenError();
  return out;
}

/** Whether `input` parses as a token. */
export function isToken(input) {
  try {
    parseToken(input);
    return true;
  } catch {
    return false;
  }
}

/**
 * Groups of four joined by dashes (`ABCD-EFGH-…`), for showing once.
 * @param {string} token canonical or typed
 */
export function groupToken(token) {
  const canonical = parseToken(token);
  const groups = [];
  for (let i = 0; i < canonical.length; i += GROUP_LEN) groups.push(canonical.slice(i, i + GROUP_LEN));
  return groups.join("-");
}

/** Lower-case hex. */
export function toHex(bytes) {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

/**
 * The age identity string (`AGE-SECRET-KEY-1…`, upper case) for a 32-byte X25519 secret.
 * @param {Uint8Array} secret
 */
export function secretToIdentity(secret) {
  if (!(secret instanceof Uint8Array) || secret.length !== 32) {
    throw new TypeError("an X25519 secret is 32 bytes");
  }
  // 15 + 1 + 52 + 6 = 74 characters, under bech32's default 90; `false` lifts the limit anyway
  // so a change of defaults cannot break identities (age itself ignores BIP 173's limit).
  return bech32.encode("AGE-SECRET-KEY-", bech32.toWords(secret), false).toUpperCase();
}

/**
 * HKDF-SHA256 (WebCrypto) over the canonical token.
 * @param {string} token canonical or typed
 * @param {SubtleCrypto} [subtle]
 * @returns {Promise<{ lookup: string, identity: string, recipient: string }>} `lookup`: 64
 *   lower-case hex characters; `identity`: the reporter's `AGE-SECRET-KEY-1…`; `recipient`:
 *   its `age1…`
 */
export async function deriveReporterKeys(token, subtle = globalThis.crypto.subtle) {
  const canonical = parseToken(token);
  const enc = new TextEncoder();
  const ikm = enc.encode(canonical);
  const key = await subtle.importKey("raw", ikm, "HKDF", false, ["deriveBits"]);
  ikm.fill(0);
  const derive = async (info) =>
    new Uint8Array(
      await subtle.deriveBits(
        { name: "HKDF", hash: "SHA-256", salt: enc.encode(SALT), info: enc.encode(info) },
        key,
        256,
      ),
    );
  const lookup = toHex(await derive(INFO_LOOKUP));
  const secret = await derive(INFO_IDENTITY);
  const identity = secretToIdentity(secret);
  secret.fill(0);
  const recipient = await identityToRecipient(identity);
  return { lookup, identity, recipient };
}
