// Where the unlocked officer identity lives. With X25519 in WebCrypto it becomes a
// non-extractable CryptoKey kept in IndexedDB (`speakup-officer` / `keys` / `identity`) so other
// officer pages reuse it until logout; otherwise the identity string stays in this page's memory.
// No DOM: IndexedDB and SubtleCrypto are injectable for tests.

import { checkIdentity, identityScalar } from "./keys.js";

export const DB_NAME = "speakup-officer";
export const STORE_NAME = "keys";
export const RECORD_KEY = "identity";

// PKCS #8 PrivateKeyInfo prefix for a 32-byte X25519 key (OID 1.3.101.110): WebCrypto imports
// X25519 private keys only as PKCS #8 or JWK, never raw.
const PKCS8_X25519_PREFIX = [
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20,
];

/** The PKCS #8 encoding of an `AGE-SECRET-KEY-1…` identity's scalar. */
export function identityToPkcs8(identity) {
  const scalar = identityScalar(identity);
  const out = new Uint8Array(PKCS8_X25519_PREFIX.length + 32);
  out.set(PKCS8_X25519_PREFIX);
  out.set(scalar, PKCS8_X25519_PREFIX.length);
  return out;
}

/**
 * Imports an identity as a non-extractable X25519 CryptoKey (usage `deriveBits`), or returns
 * null where WebCrypto lacks X25519. The key is checked to work (some engines import X25519
 * but cannot derive with it) and to give the same recipient as the string.
 * @param {string} identity
 * @param {SubtleCrypto | undefined} subtle
 * @param {string} recipient the identity's recipient
 * @returns {Promise<CryptoKey | null>}
 */
export async function importIdentityKey(identity, recipient, subtle = globalThis.crypto?.subtle) {
  if (!subtle) return null;
  const pkcs8 = identityToPkcs8(identity);
  try {
    const key = await subtle.importKey("pkcs8", pkcs8, { name: "X25519" }, false, ["deriveBits"]);
    if (key.extractable) return null;
    await checkIdentity(key, recipient);
    return key;
  } catch {
    return null;
  } finally {
    pkcs8.fill(0);
  }
}

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function openDb(idb) {
  return new Promise((resolve, reject) => {
    const req = idb.open(DB_NAME, 1);
    req.onupgradeneeded = () => {
      if (!req.result.objectStoreNames.contains(STORE_NAME)) {
        req.result.createObjectStore(STORE_NAME);
      }
    };
    req.onsuccess = () => {
      const db = req.result;
      // Let a logout in another tab delete the database at once.
      db.onversionchange = () => db.close();
      resolve(db);
    };
    req.onerror = () => reject(req.error);
    req.onblocked = () => reject(new Error("IndexedDB open blocked"));
  });
}

async function withStore(idb, mode, fn) {
  const db = await openDb(idb);
  try {
    const tx = db.transaction(STORE_NAME, mode);
    const done = new Promise((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onabort = () => reject(tx.error ?? new Error("transaction aborted"));
      tx.onerror = () => reject(tx.error);
    });
    const [result] = await Promise.all([fn(tx.objectStore(STORE_NAME)), done]);
    return result;
  } finally {
    db.close();
  }
}

/**
 * Deletes the `speakup-officer` database. Resolves (true) once deleted, or false after
 * `timeoutMs` if another tab holds it open or IndexedDB is missing, so logout never hangs.
 */
export function deleteKeyDatabase(idb = globalThis.indexedDB, timeoutMs = 3000) {
  if (!idb) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    let req;
    try {
      req = idb.deleteDatabase(DB_NAME);
    } catch {
      clearTimeout(timer);
      resolve(false);
      return;
    }
    req.onsuccess = () => {
      clearTimeout(timer);
      resolve(true);
    };
    req.onerror = () => {
      clearTimeout(timer);
      resolve(false);
    };
  });
}

/**
 * The page's key holder.
 * @param {{ indexedDB?: IDBFactory | null, subtle?: SubtleCrypto | null }} [env]
 */
export function createKeyStore(env = {}) {
  const idb = "indexedDB" in env ? env.indexedDB : globalThis.indexedDB;
  const subtle = "subtle" in env ? env.subtle : globalThis.crypto?.subtle;
  /** @type {string | CryptoKey | null} */
  let current = null;
  let persisted = false;

  return {
    /** The unlocked identity (CryptoKey or string), or null. */
    get identity() {
      return current;
    },
    /** Whether the identity is kept in IndexedDB for other pages. */
    get persisted() {
      return persisted;
    },

    /**
     * Unlocks an identity string after checking it belongs to `recipient`. Imports it as a
     * non-extractable CryptoKey and stores that where possible; else keeps the string here.
     * @returns {Promise<{ identity: string | CryptoKey, persisted: boolean }>}
     */
    async unlock(identity, recipient) {
      await checkIdentity(identity, recipient);
      const key = await importIdentityKey(identity, recipient, subtle);
      current = key ?? identity;
      persisted = false;
      if (key && idb) {
        try {
          await withStore(idb, "readwrite", (s) => request(s.put({ key, recipient }, RECORD_KEY)));
          persisted = true;
        } catch {
          // e.g. storage disabled: the CryptoKey still serves this page
        }
      }
      return { identity: current, persisted };
    },

    /**
     * Reuses a key an earlier page stored, if it is a working CryptoKey for `recipient`. A
     * stored key for anyone else is deleted.
     * @returns {Promise<CryptoKey | null>}
     */
    async restore(recipient) {
      if (!idb || !recipient) return null;
      let record;
      try {
        record = await withStore(idb, "readonly", (s) => request(s.get(RECORD_KEY)));
      } catch {
        return null;
      }
      if (!record) return null;
      const key = record.key;
      let ok = false;
      try {
        ok =
          record.recipient === recipient &&
          typeof CryptoKey !== "undefined" &&
          key instanceof CryptoKey &&
          !key.extractable &&
          (await checkIdentity(key, recipient)) === recipient;
      } catch {
        ok = false;
      }
      if (!ok) {
        await deleteKeyDatabase(idb);
        return null;
      }
      current = key;
      persisted = true;
      return key;
    },

    /** Forgets the identity here and deletes the database. */
    async forget() {
      current = null;
      persisted = false;
      return deleteKeyDatabase(idb);
    },
  };
}
