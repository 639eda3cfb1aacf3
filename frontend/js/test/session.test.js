// The follow-up form's work and the reporter identity kept in sessionStorage.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { generateOfficerKey } from "../src/keys.js";
import {
  SESSION_KEY,
  forgetIdentity,
  loadIdentity,
  prepareFollowUp,
  saveIdentity,
} from "../src/session.js";

const [vector] = JSON.parse(readFileSync(new URL("fixtures/receipt-vectors.json", import.meta.url), "utf8")).vectors;

/** A Storage stand-in. */
class MemoryStorage {
  constructor() {
    this.map = new Map();
  }
  getItem(k) {
    return this.map.has(k) ? this.map.get(k) : null;
  }
  setItem(k, v) {
    this.map.set(k, String(v));
  }
  removeItem(k) {
    this.map.delete(k);
  }
  clear() {
    this.map.clear();
  }
}

/** A Storage that refuses to store (Safari private mode, storage disabled). */
class FullStorage extends MemoryStorage {
  setItem() {
    throw new DOMException("quota", "QuotaExceededError");
  }
}

test("a typed receipt gives the lookup and leaves only the identity in the tab", async () => {
  const storage = new MemoryStorage();
  const lookup = await prepareFollowUp(` ${vector.typed.toLowerCase()} `, storage);
  assert.equal(lookup, vector.lookup);
  assert.deepEqual([...storage.map.keys()], [SESSION_KEY]);
  const identity = loadIdentity(storage);
  assert.match(identity, /^AGE-SECRET-KEY-1[02-9AC-HJ-NP-Z]{58}$/);
  const { recipientOf } = await import("../src/keys.js");
  assert.equal(await recipientOf(identity), vector.recipient);
  // The token is stored nowhere.
  for (const v of storage.map.values()) {
    assert.ok(!v.includes(vector.canonical));
    assert.ok(!v.toUpperCase().includes(vector.canonical));
  }
});

test("a receipt that does not parse is left for the server", async () => {
  const storage = new MemoryStorage();
  for (const bad of ["", "hello", "2345-6789-ABCD-EFGH-JKMN-PQR0", "2345-6789"]) {
    assert.equal(await prepareFollowUp(bad, storage), null, bad);
  }
  assert.equal(storage.map.size, 0);
});

test("without storage the form goes to the server with the receipt", async () => {
  assert.equal(await prepareFollowUp(vector.typed, null), null);
  assert.equal(await prepareFollowUp(vector.typed, new FullStorage()), null);
});

test("load, save, forget", async () => {
  const storage = new MemoryStorage();
  assert.equal(loadIdentity(storage), null);
  assert.equal(loadIdentity(null), null);
  const k = await generateOfficerKey();
  assert.equal(saveIdentity(storage, k.identity), true);
  assert.equal(loadIdentity(storage), k.identity);
  assert.throws(() => saveIdentity(storage, "not an identity"));
  storage.setItem("other", "x");
  forgetIdentity(storage);
  assert.equal(storage.map.size, 0);
  forgetIdentity(null);
  // Something unusable under the key is removed, not used.
  storage.setItem(SESSION_KEY, "AGE-SECRET-KEY-1BROKEN");
  assert.equal(loadIdentity(storage), null);
  assert.equal(storage.getItem(SESSION_KEY), null);
});
