// The receipt token and its keys: the same as server/src/domain/receipt.rs, proved by the
// shared vectors (the Rust tests read the same file) and by Node's own HKDF.

import assert from "node:assert/strict";
import { hkdfSync } from "node:crypto";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { Decrypter, Encrypter } from "age-encryption";

import { identityScalar, recipientOf } from "../src/keys.js";
import {
  ALPHABET,
  INFO_IDENTITY,
  INFO_LOOKUP,
  SALT,
  TOKEN_LEN,
  TokenError,
  deriveReporterKeys,
  generateToken,
  groupToken,
  isToken,
  parseToken,
  secretToIdentity,
  toHex,
} from "../src/receipt.js";

const vectors = JSON.parse(readFileSync(new URL("fixtures/receipt-vectors.json", import.meta.url), "utf8"));

test("the alphabet: 30 symbols, no look-alikes, no U", () => {
  assert.equal(ALPHABET.length, 30);
  assert.equal(new Set(ALPHABET).size, 30);
  for (const c of "01ILOU") assert.ok(!ALPHABET.includes(c), c);
  assert.equal(TOKEN_LEN, 24);
});

test("the shared vectors: canonical form, lookup and recipient", async () => {
  assert.equal(vectors.salt, SALT);
  assert.equal(vectors.info_lookup, INFO_LOOKUP);
  assert.equal(vectors.info_identity, INFO_IDENTITY);
  assert.ok(vectors.vectors.length > 0);
  for (const v of vectors.vectors) {
    assert.equal(parseToken(v.typed), v.canonical);
    const keys = await deriveReporterKeys(v.typed);
    assert.equal(keys.lookup, v.lookup);
    assert.match(keys.lookup, /^[0-9a-f]{64}$/);
    assert.equal(keys.recipient, v.recipient);
    assert.equal(await recipientOf(keys.identity), v.recipient);
    assert.match(keys.identity, /^AGE-SECRET-KEY-1[02-9AC-HJ-NP-Z]{58}$/);
    // The same keys however the token is typed.
    const sloppy = ` ${v.canonical.toLowerCase().replace(/(.{3})/g, "$1 .")}_\n`;
    assert.deepEqual(await deriveReporterKeys(sloppy), keys);
  }
});

test("WebCrypto HKDF agrees with Node's HKDF (RFC 5869)", async () => {
  for (let i = 0; i < 5; i++) {
    const token = generateToken();
    const keys = await deriveReporterKeys(token);
    const lookup = Buffer.from(hkdfSync("sha256", token, SALT, INFO_LOOKUP, 32)).toString("hex");
    assert.equal(keys.lookup, lookup);
    const secret = new Uint8Array(hkdfSync("sha256", token, SALT, INFO_IDENTITY, 32));
    assert.deepEqual(identityScalar(keys.identity), secret);
    assert.notEqual(toHex(secret), keys.lookup);
  }
});

test("the derived identity decrypts what is encrypted to its recipient", async () => {
  const keys = await deriveReporterKeys(generateToken());
  const e = new Encrypter();
  e.addRecipient(keys.recipient);
  const d = new Decrypter();
  d.addIdentity(keys.identity);
  assert.equal(await d.decrypt(await e.encrypt("hello"), "text"), "hello");
});

test("secretToIdentity: bech32, upper case, round trip through the identity parser", () => {
  const secret = new Uint8Array(32).map((_, i) => i * 8 + 1);
  const id = secretToIdentity(secret);
  assert.equal(id, id.toUpperCase());
  assert.ok(id.startsWith("AGE-SECRET-KEY-1"));
  assert.equal(id.length, 74);
  assert.deepEqual(identityScalar(id), secret);
  assert.throws(() => secretToIdentity(new Uint8Array(31)), TypeError);
  assert.throws(() => secretToIdentity("x".repeat(32)), TypeError);
});

test("generated tokens: 24 symbols of the alphabet, grouped by four, parse back", () => {
  const seen = new Set();
  for (let i = 0; i < 200; i++) {
    const t = generateToken();
    assert.match(t, /^[23456789ABCDEFGHJKMNPQRSTVWXYZ]{24}$/);
    seen.add(t);
    const shown = groupToken(t);
    assert.match(shown, /^([0-9A-Z]{4}-){5}[0-9A-Z]{4}$/);
    assert.equal(shown.length, 29);
    assert.equal(parseToken(shown.toLowerCase().replaceAll("-", " ")), t);
  }
  assert.equal(seen.size, 200);
});

test("rejection sampling: bytes from 240 up are skipped, the rest map b % 30", () => {
  // A fake random source: the first call is all rejected bytes, then a known pattern.
  let calls = 0;
  const random = (buf) => {
    calls += 1;
    if (calls === 1) buf.fill(255);
    else for (let i = 0; i < buf.length; i++) buf[i] = i % 2 === 0 ? 240 + (i % 16) : (i * 7) % 240;
    return buf;
  };
  const t = generateToken(random);
  assert.equal(calls, 2);
  const expected = [];
  for (let i = 0; expected.length < 24; i++) if (i % 2 === 1) expected.push(ALPHABET[((i * 7) % 240) % 30]);
  assert.equal(t, expected.join(""));
  // A source that only ever gives rejected bytes for a while is waited out.
  let n = 0;
  const slow = (buf) => {
    n += 1;
    buf.fill(n < 5 ? 250 : 0);
    return buf;
  };
  assert.equal(generateToken(slow), "2".repeat(24));
  assert.equal(n, 5);
});

test("generated symbols are uniform (chi-square over 48,000 symbols)", () => {
  const counts = new Map([...ALPHABET].map((c) => [c, 0]));
  const tokens = 2000;
  for (let i = 0; i < tokens; i++) for (const c of generateToken()) counts.set(c, counts.get(c) + 1);
  const expected = (tokens * TOKEN_LEN) / ALPHABET.length;
  let chi = 0;
  for (const n of counts.values()) chi += (n - expected) ** 2 / expected;
  // 29 degrees of freedom: P(chi² > 70) < 1e-4. A modulo bias (b % 30 over all 256 byte
  // values) gives the first 16 symbols 9/256 instead of 8/256: chi² near 190 (next test).
  assert.ok(chi < 70, `chi² = ${chi.toFixed(1)}`);
});

test("the modulo bias the rejection avoids would be caught by the same check", () => {
  // Map every byte (no rejection): symbols 2…H get 9/256, the rest 8/256.
  const counts = new Array(30).fill(0);
  const buf = new Uint8Array(48_000);
  crypto.getRandomValues(buf);
  for (const b of buf) counts[b % 30] += 1;
  const expected = buf.length / 30;
  const chi = counts.reduce((s, n) => s + (n - expected) ** 2 / expected, 0);
  assert.ok(chi > 70, `biased chi² = ${chi.toFixed(1)} not detected`);
});

test("parsing: any case, separators anywhere; everything else refused", () => {
  const c = "23456789ABCDEFGHJKMNPQRS";
  for (const typed of [c, c.toLowerCase(), "2345-6789-abcd-EFGH-jkmn-PQRS", " 2345 6789\tABCD\nEFGH.JKMN_PQRS ", "2-3-4-5-6789ABCDEFGHJKMNPQRS", "2345\u00a06789\u2003ABCDEFGHJKMNPQRS"]) {
    assert.equal(parseToken(typed), c, JSON.stringify(typed));
    assert.ok(isToken(typed));
  }
  for (const bad of [
    "",
    "ABCD",
    "0000-0000-0000-0000-0000-0000",
    "A".repeat(25),
    "A".repeat(23),
    "ÄBCD-6789-ABCD-EFGH-JKMN-PQRS",
    "U345-6789-ABCD-EFGH-JKMN-PQRS",
    "2345-6789-ABCD-EFGH-JKMN-PQR/",
    "2345+6789-ABCD-EFGH-JKMN-PQRS",
    "2345-6789-ABCD-EFGH-JKMN-PQRS\uFEFF",
    "ß345-6789-ABCD-EFGH-JKMN-PQR",
    undefined,
    null,
    42,
  ]) {
    assert.throws(() => parseToken(bad), TokenError, String(bad));
    assert.equal(isToken(bad), false);
  }
  assert.throws(() => groupToken("nope"), TokenError);
});
