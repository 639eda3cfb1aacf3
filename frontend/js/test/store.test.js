import assert from "node:assert/strict";
import { test } from "node:test";

import { IDBFactory } from "fake-indexeddb";

import { decrypt, encrypt } from "../src/cipher.js";
import { KeyError, generateOfficerKey } from "../src/keys.js";
import {
  DB_NAME,
  RECORD_KEY,
  STORE_NAME,
  createKeyStore,
  deleteKeyDatabase,
  identityToPkcs8,
  importIdentityKey,
} from "../src/store.js";

const me = await generateOfficerKey();
const other = await generateOfficerKey();

async function databases(idb) {
  return (await idb.databases()).map((d) => d.name);
}

async function rawRecord(idb) {
  return new Promise((resolve, reject) => {
    const req = idb.open(DB_NAME);
    req.onsuccess = () => {
      const db = req.result;
      const get = db.transaction(STORE_NAME).objectStore(STORE_NAME).get(RECORD_KEY);
      get.onsuccess = () => {
        db.close();
        resolve(get.result);
      };
      get.onerror = () => reject(get.error);
    };
    req.onerror = () => reject(req.error);
  });
}

test("the contract's names", () => {
  assert.equal(DB_NAME, "speakup-officer");
  assert.equal(STORE_NAME, "keys");
  assert.equal(RECORD_KEY, "identity");
});

test("identityToPkcs8 wraps the 32-byte scalar", () => {
  const der = identityToPkcs8(me.identity);
  assert.equal(der.length, 48);
  assert.equal(Buffer.from(der.subarray(0, 16)).toString("hex"), "302e020100300506032b656e04220420");
});

test("importIdentityKey gives a non-extractable X25519 key, or null without WebCrypto X25519", async () => {
  const key = await importIdentityKey(me.identity, me.recipient);
  assert.ok(key instanceof CryptoKey);
  assert.equal(key.extractable, false);
  assert.equal(key.algorithm.name, "X25519");
  assert.deepEqual(key.usages, ["deriveBits"]);
  await assert.rejects(crypto.subtle.exportKey("pkcs8", key));
  assert.equal(await importIdentityKey(me.identity, other.recipient), null);
  const noX25519 = {
    importKey: async () => {
      throw new DOMException("Unrecognized name.", "NotSupportedError");
    },
  };
  assert.equal(await importIdentityKey(me.identity, me.recipient, noX25519), null);
  assert.equal(await importIdentityKey(me.identity, me.recipient, null), null);
});

test("unlock stores a CryptoKey that a later page restores and uses", async () => {
  const idb = new IDBFactory();
  const first = createKeyStore({ indexedDB: idb });
  const { identity, persisted } = await first.unlock(me.identity, me.recipient);
  assert.equal(persisted, true);
  assert.ok(identity instanceof CryptoKey);
  assert.equal(first.identity, identity);

  const stored = await rawRecord(idb);
  assert.equal(stored.recipient, me.recipient);
  assert.ok(stored.key instanceof CryptoKey);
  assert.equal(stored.key.extractable, false);
  assert.ok(!JSON.stringify(stored).includes("AGE-SECRET-KEY"));

  const later = createKeyStore({ indexedDB: idb });
  const key = await later.restore(me.recipient);
  assert.ok(key instanceof CryptoKey);
  assert.equal(later.persisted, true);
  const ct = await encrypt(me.recipient, "case item");
  assert.equal(new TextDecoder().decode(await decrypt(key, ct)), "case item");
});

test("restore deletes a key stored for another officer", async () => {
  const idb = new IDBFactory();
  await createKeyStore({ indexedDB: idb }).unlock(me.identity, me.recipient);
  const s = createKeyStore({ indexedDB: idb });
  assert.equal(await s.restore(other.recipient), null);
  assert.equal(s.identity, null);
  assert.deepEqual(await databases(idb), []);
  assert.equal(await createKeyStore({ indexedDB: idb }).restore(me.recipient), null);
});

test("restore without a stored key, recipient or IndexedDB gives null", async () => {
  assert.equal(await createKeyStore({ indexedDB: new IDBFactory() }).restore(me.recipient), null);
  assert.equal(await createKeyStore({ indexedDB: new IDBFactory() }).restore(""), null);
  assert.equal(await createKeyStore({ indexedDB: null }).restore(me.recipient), null);
});

test("unlock refuses a key for another recipient and stores nothing", async () => {
  const idb = new IDBFactory();
  const s = createKeyStore({ indexedDB: idb });
  await assert.rejects(s.unlock(me.identity, other.recipient), (e) => e instanceof KeyError && e.code === "unlock_failed");
  assert.equal(s.identity, null);
  assert.deepEqual(await databases(idb), []);
});

test("forget (logout) deletes the database", async () => {
  const idb = new IDBFactory();
  const s = createKeyStore({ indexedDB: idb });
  await s.unlock(me.identity, me.recipient);
  assert.deepEqual(await databases(idb), [DB_NAME]);
  assert.equal(await s.forget(), true);
  assert.equal(s.identity, null);
  assert.deepEqual(await databases(idb), []);
  assert.equal(await createKeyStore({ indexedDB: idb }).restore(me.recipient), null);
  assert.equal(await deleteKeyDatabase(null), false);
});

test("without WebCrypto X25519 the identity string stays in memory only", async () => {
  const idb = new IDBFactory();
  const s = createKeyStore({ indexedDB: idb, subtle: null });
  const { identity, persisted } = await s.unlock(me.identity, me.recipient);
  assert.equal(identity, me.identity);
  assert.equal(persisted, false);
  assert.deepEqual(await databases(idb), []);
  assert.equal(await createKeyStore({ indexedDB: idb }).restore(me.recipient), null);
});

test("without IndexedDB the CryptoKey serves this page only", async () => {
  const s = createKeyStore({ indexedDB: null });
  const { identity, persisted } = await s.unlock(me.identity, me.recipient);
  assert.ok(identity instanceof CryptoKey);
  assert.equal(persisted, false);
});

test("a failing IndexedDB does not break unlocking", async () => {
  const broken = {
    open() {
      throw new DOMException("The operation is insecure.", "SecurityError");
    },
    deleteDatabase() {
      throw new DOMException("The operation is insecure.", "SecurityError");
    },
  };
  const s = createKeyStore({ indexedDB: broken });
  const { identity, persisted } = await s.unlock(me.identity, me.recipient);
  assert.ok(identity instanceof CryptoKey);
  assert.equal(persisted, false);
  assert.equal(await s.restore(me.recipient), null);
  assert.equal(await s.forget(), false);
});
