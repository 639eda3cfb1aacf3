// Where the reporter's identity lives between the follow-up form and the mailbox:
// `sessionStorage["speakup-reporter"]`, gone when the tab closes or the reporter logs out
// (docs/browser-contract.md, "Follow-up" and "Mailbox"). The receipt token itself is never
// stored. No DOM: the storage is passed in, so tests use a stand-in.

import { identityScalar } from "./keys.js";
import { deriveReporterKeys, isToken } from "./receipt.js";

export const SESSION_KEY = "speakup-reporter";

/** `sessionStorage`, or null where the browser refuses it (storage disabled, sandboxed). */
export function sessionStore() {
  try {
    const s = globalThis.sessionStorage;
    if (!s) return null;
    return s;
  } catch {
    return null;
  }
}

/**
 * The stored reporter identity (`AGE-SECRET-KEY-1…`), or null when there is none or it is
 * unusable (an unusable value is removed).
 * @param {Storage | null} storage
 */
export function loadIdentity(storage) {
  let value;
  try {
    value = storage?.getItem(SESSION_KEY) ?? null;
  } catch {
    return null;
  }
  if (value === null) return null;
  try {
    identityScalar(value);
    return value;
  } catch {
    forgetIdentity(storage);
    return null;
  }
}

/**
 * Stores the identity; false when the storage refuses (then the caller must not rely on it).
 * @param {Storage | null} storage
 * @param {string} identity
 */
export function saveIdentity(storage, identity) {
  identityScalar(identity);
  if (!storage) return false;
  try {
    storage.setItem(SESSION_KEY, identity);
    return storage.getItem(SESSION_KEY) === identity;
  } catch {
    return false;
  }
}

/** Removes the identity (and anything else this tab stored for the site). */
export function forgetIdentity(storage) {
  try {
    storage?.removeItem(SESSION_KEY);
    storage?.clear();
  } catch {
    // storage unavailable: nothing was stored
  }
}

/**
 * The follow-up form's work: derives the keys from a typed receipt and stores the identity.
 * @param {string} typed what the reporter typed into `input[name=receipt]`
 * @param {Storage | null} storage
 * @returns {Promise<string | null>} the lookup (64 hex characters) to post instead of the
 *   receipt; null when the receipt does not parse or the identity cannot be kept, and the
 *   form should go to the server as it is (which shows its own error, or decrypts itself)
 */
export async function prepareFollowUp(typed, storage) {
  if (!isToken(typed)) return null;
  const { lookup, identity } = await deriveReporterKeys(typed);
  if (!saveIdentity(storage, identity)) return null;
  return lookup;
}
