import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { armor } from "age-encryption";
import {
  CASE_KEY_HEADER,
  KeyError,
  checkIdentity,
  generateOfficerKey,
  identityFromFile,
  identityScalar,
  makeCaseKeyFile,
  makeIdentityFile,
  parseCaseEnvelope,
  parseIdentityFile,
  recipientOf,
  rfc3339,
  unwrapIdentity,
  wrapIdentity,
} from "../src/keys.js";

const fixture = (name) => readFileSync(new URL(`fixtures/${name}`, import.meta.url), "utf8");
const officerFile = fixture("officer.key");
const officerId = officerFile.split("\n").find((l) => l.startsWith("AGE-SECRET-KEY-1"));
const officerRecipient = officerFile.match(/^# public key: (age1\S+)$/m)[1];
const caseFile = fixture("case.key");
const caseId = caseFile.split("\n").find((l) => l.startsWith("AGE-SECRET-KEY-1"));

const IDENTITY_FILE_RE =
  /^# created: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n# public key: (age1[02-9ac-hj-np-z]{58})\n(AGE-SECRET-KEY-1[02-9AC-HJ-NP-Z]{58})\n$/;

/** Flips one data character of a bech32 string, keeping it in the alphabet. */
function corrupt(s) {
  const i = s.length - 10;
  return s.slice(0, i) + (s[i] === "Q" ? "P" : "Q") + s.slice(i + 1);
}

test("parseIdentityFile reads an age-keygen file", () => {
  assert.deepEqual(parseIdentityFile(officerFile), [officerId]);
  assert.deepEqual(parseIdentityFile(officerFile.replace(/\n/g, "\r\n")), [officerId]);
  assert.deepEqual(parseIdentityFile(`${officerFile}\n# another\n${caseId}\n`), [officerId, caseId]);
  assert.deepEqual(parseIdentityFile(`  ${officerId}  `), [officerId]);
});

test("parseIdentityFile refuses malformed files", () => {
  for (const bad of [
    "",
    "# only a comment\n",
    `${officerId}\nnot a key\n`,
    corrupt(officerId),
    officerRecipient,
    `AGE-SECRET-KEY-PQ-1${officerId.slice(16)}`,
    officerId.slice(0, -1),
  ]) {
    assert.throws(() => parseIdentityFile(bad), KeyError, JSON.stringify(bad));
  }
  assert.throws(() => parseIdentityFile(undefined), KeyError);
});

test("identityScalar decodes 32 bytes and checks the checksum", () => {
  assert.equal(identityScalar(officerId).length, 32);
  assert.throws(() => identityScalar(corrupt(officerId)), KeyError);
  assert.throws(() => identityScalar("AGE-SECRET-KEY-1"), KeyError);
});

test("parseCaseEnvelope reads the server's envelope plaintext", () => {
  assert.equal(parseCaseEnvelope(`${CASE_KEY_HEADER}\n${caseId}\n`), caseId);
  assert.equal(parseCaseEnvelope(`${CASE_KEY_HEADER}\r\n${caseId}\r\n`), caseId);
  assert.equal(parseCaseEnvelope(`${CASE_KEY_HEADER}\n${caseId}`), caseId);
  assert.equal(parseCaseEnvelope(makeCaseKeyFile(caseId)), caseId);
  assert.equal(makeCaseKeyFile(caseId), `# Speak Up case key\n${caseId}\n`);
});

test("parseCaseEnvelope refuses malformed envelopes", () => {
  const cases = {
    empty: "",
    "no header": `${caseId}\n`,
    "header not first": `\n${CASE_KEY_HEADER}\n${caseId}\n`,
    "wrong header": `# Speak Up case keys\n${caseId}\n`,
    "no key": `${CASE_KEY_HEADER}\n`,
    "two keys": `${CASE_KEY_HEADER}\n${caseId}\n${officerId}\n`,
    garbage: `${CASE_KEY_HEADER}\n${caseId}\n<script>\n`,
    "bad checksum": `${CASE_KEY_HEADER}\n${corrupt(caseId)}\n`,
    "a recipient": `${CASE_KEY_HEADER}\n${officerRecipient}\n`,
    json: '{"type":"report"}',
  };
  for (const [what, text] of Object.entries(cases)) {
    assert.throws(
      () => parseCaseEnvelope(text),
      (e) => e instanceof KeyError && e.code === "decrypt_failed",
      what,
    );
  }
  assert.throws(() => parseCaseEnvelope(null), KeyError);
});

test("makeIdentityFile writes exactly what age-keygen writes", async () => {
  const recipient = await recipientOf(officerId);
  assert.equal(recipient, officerRecipient);
  const created = new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678));
  assert.equal(rfc3339(created), "2026-01-02T03:04:05Z");
  assert.equal(
    makeIdentityFile(officerId, recipient, created),
    `# created: 2026-01-02T03:04:05Z\n# public key: ${officerRecipient}\n${officerId}\n`,
  );
  // The fixture age-keygen wrote has the same shape.
  assert.match(officerFile, IDENTITY_FILE_RE);
  assert.throws(() => makeIdentityFile(officerId, "age1nope", created), KeyError);
  assert.throws(() => makeIdentityFile("AGE-SECRET-KEY-1XYZ", recipient, created), KeyError);
});

test("generateOfficerKey gives a fresh identity, its recipient and the file", async () => {
  const a = await generateOfficerKey();
  const b = await generateOfficerKey();
  assert.notEqual(a.identity, b.identity);
  const m = a.file.match(IDENTITY_FILE_RE);
  assert.ok(m, a.file);
  assert.equal(m[1], a.recipient);
  assert.equal(m[2], a.identity);
  assert.equal(await recipientOf(a.identity), a.recipient);
  assert.deepEqual(parseIdentityFile(a.file), [a.identity]);
});

test("checkIdentity refuses a key for another recipient", async () => {
  assert.equal(await checkIdentity(officerId, officerRecipient), officerRecipient);
  assert.equal(await checkIdentity(officerId, ` ${officerRecipient}\n`), officerRecipient);
  const other = await recipientOf(caseId);
  await assert.rejects(checkIdentity(officerId, other), (e) => e.code === "unlock_failed");
  await assert.rejects(checkIdentity(officerId, ""), KeyError);
  await assert.rejects(checkIdentity(officerId, undefined), KeyError);
  await assert.rejects(checkIdentity("AGE-SECRET-KEY-1QQQ", officerRecipient), KeyError);
});

test("identityFromFile picks the identity that matches the page", async () => {
  const both = `${caseFile}${officerFile}`;
  assert.equal(await identityFromFile(both, officerRecipient), officerId);
  assert.equal(await identityFromFile(both, await recipientOf(caseId)), caseId);
  await assert.rejects(identityFromFile(caseFile, officerRecipient), (e) => e.code === "unlock_failed");
  await assert.rejects(identityFromFile("garbage", officerRecipient), KeyError);
});

test("wrapped identity round trip, armored scrypt", async () => {
  const { file } = await generateOfficerKey();
  const wrapped = await wrapIdentity(file, "tr0ub4dor&3", { workFactor: 10 });
  assert.match(wrapped, /^-----BEGIN AGE ENCRYPTED FILE-----\n[A-Za-z0-9+/=\n]+-----END AGE ENCRYPTED FILE-----\n$/);
  const header = new TextDecoder().decode(armor.decode(wrapped)).split("\n");
  assert.equal(header[0], "age-encryption.org/v1");
  assert.match(header[1], /^-> scrypt [A-Za-z0-9+/]{22} 10$/);
  assert.ok(!wrapped.includes("AGE-SECRET-KEY"));
  assert.equal(await unwrapIdentity(wrapped, "tr0ub4dor&3"), file);
  assert.equal(await unwrapIdentity(`\n  ${wrapped}  \n`, "tr0ub4dor&3"), file);
  assert.equal(await unwrapIdentity(armor.decode(wrapped), "tr0ub4dor&3"), file);
});

test("unwrapIdentity refuses a wrong passphrase or damaged input", async () => {
  const { file } = await generateOfficerKey();
  const wrapped = await wrapIdentity(file, "right passphrase", { workFactor: 10 });
  await assert.rejects(unwrapIdentity(wrapped, "wrong passphrase"), (e) => e instanceof KeyError && e.code === "unlock_failed");
  await assert.rejects(unwrapIdentity(wrapped, ""), KeyError);
  await assert.rejects(unwrapIdentity("not armored", "right passphrase"), KeyError);
  const lines = wrapped.split("\n");
  lines[3] = lines[3].slice(0, 10) + (lines[3][10] === "A" ? "B" : "A") + lines[3].slice(11);
  await assert.rejects(unwrapIdentity(lines.join("\n"), "right passphrase"), KeyError);
  // A passphrase file that does not hold an identity file is refused too.
  const { Encrypter } = await import("age-encryption");
  const e = new Encrypter();
  e.setScryptWorkFactor(10);
  e.setPassphrase("p");
  await assert.rejects(unwrapIdentity(armor.encode(await e.encrypt("hello")), "p"), KeyError);
});

test("wrapIdentity uses age's default work factor and refuses bad input", async () => {
  const { file } = await generateOfficerKey();
  const wrapped = await wrapIdentity(file, "a long enough passphrase");
  const header = new TextDecoder().decode(armor.decode(wrapped)).split("\n");
  assert.match(header[1], /^-> scrypt \S+ 18$/);
  await assert.rejects(wrapIdentity(file, ""), (e) => e.code === "passphrase_mismatch");
  await assert.rejects(wrapIdentity("not an identity file", "p", { workFactor: 10 }), KeyError);
});
