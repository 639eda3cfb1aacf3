import assert from "node:assert/strict";
import { test } from "node:test";

import { AGE_TYPE, CipherError, decrypt } from "../src/cipher.js";
import { KINDS, appendParts, buildParts, officerKeyForm, safeFileName } from "../src/forms.js";
import {
  OFFICER_KEY_HEADER,
  generateOfficerCaseKey,
  generateOfficerKey,
  parseCaseEnvelope,
  parseOfficerEnvelope,
} from "../src/keys.js";

const caseKey = await generateOfficerKey();
const reporter = await generateOfficerKey();
const colleague = await generateOfficerKey();

const bytesOf = async (blob) => new Uint8Array(await blob.arrayBuffer());
const textOf = async (id, blob) => new TextDecoder().decode(await decrypt(id, await bytesOf(blob)));

/** Whether `needle` occurs in `hay` (to prove no plaintext slips into a part). */
function contains(hay, needle) {
  const n = typeof needle === "string" ? new TextEncoder().encode(needle) : needle;
  outer: for (let i = 0; i + n.length <= hay.length; i++) {
    for (let j = 0; j < n.length; j++) if (hay[i + j] !== n[j]) continue outer;
    return true;
  }
  return false;
}

const files = () => [
  new File(["first attachment body"], "Minutes 2026-03 (secret).pdf", { type: "application/pdf" }),
  new File([new Uint8Array(70_000).fill(42)], "photo.jpg", { type: "image/jpeg" }),
];

test("the contract's kinds", () => {
  assert.deepEqual(KINDS, ["message", "note", "status", "grant", "move"]);
});

test("message: message, then attachment + attachment_name per file, to case and reporter", async () => {
  const recipients = `${caseKey.recipient} ${reporter.recipient}`;
  const parts = await buildParts("message", { recipients, message: "We received your report.", files: files() });
  assert.deepEqual(
    parts.map((p) => p.name),
    ["message", "attachment", "attachment_name", "attachment", "attachment_name"],
  );
  for (const p of parts) {
    assert.equal(p.blob.type, AGE_TYPE);
    assert.equal(p.filename, `${p.name}.age`);
    const bytes = await bytesOf(p.blob);
    for (const secret of ["We received", "Minutes", "photo.jpg", "first attachment"]) {
      assert.ok(!contains(bytes, secret), `${p.name} leaks ${secret}`);
    }
  }
  for (const id of [caseKey.identity, reporter.identity]) {
    assert.equal(await textOf(id, parts[0].blob), "We received your report.");
    assert.equal(await textOf(id, parts[1].blob), "first attachment body");
    assert.equal(await textOf(id, parts[2].blob), "Minutes 2026-03 (secret).pdf");
    assert.deepEqual(await decrypt(id, await bytesOf(parts[3].blob)), new Uint8Array(70_000).fill(42));
    assert.equal(await textOf(id, parts[4].blob), "photo.jpg");
  }
  await assert.rejects(textOf(colleague.identity, parts[0].blob), CipherError);
});

test("message without attachments sends only message", async () => {
  const parts = await buildParts("message", { recipients: caseKey.recipient, message: "hi" });
  assert.deepEqual(parts.map((p) => p.name), ["message"]);
  const empty = await buildParts("message", { recipients: caseKey.recipient, message: "", files: [] });
  assert.equal(await textOf(caseKey.identity, empty[0].blob), "");
});

test("note: to the case only, the reporter cannot read it", async () => {
  const parts = await buildParts("note", { recipients: caseKey.recipient, message: "internal", files: files().slice(0, 1) });
  assert.deepEqual(parts.map((p) => p.name), ["message", "attachment", "attachment_name"]);
  assert.equal(await textOf(caseKey.identity, parts[0].blob), "internal");
  await assert.rejects(textOf(reporter.identity, parts[0].blob), CipherError);
});

test("status: reason only when not empty", async () => {
  assert.deepEqual(await buildParts("status", { recipients: caseKey.recipient, reason: "" }), []);
  assert.deepEqual(await buildParts("status", { recipients: caseKey.recipient, reason: "  \n " }), []);
  assert.deepEqual(await buildParts("status", { recipients: caseKey.recipient }), []);
  const parts = await buildParts("status", { recipients: caseKey.recipient, reason: " Closed: resolved \n" });
  assert.deepEqual(parts.map((p) => p.name), ["reason"]);
  assert.equal(await textOf(caseKey.identity, parts[0].blob), " Closed: resolved \n");
});

test("grant: the case identity file sealed to the colleague", async () => {
  const parts = await buildParts("grant", { caseIdentity: caseKey.identity, grantRecipient: colleague.recipient });
  assert.deepEqual(parts.map((p) => [p.name, p.filename]), [["envelope", "envelope.age"]]);
  const text = await textOf(colleague.identity, parts[0].blob);
  assert.equal(text, `# Speak Up case key\n${caseKey.identity}\n`);
  assert.equal(parseCaseEnvelope(text), caseKey.identity);
  assert.ok(!contains(await bytesOf(parts[0].blob), "AGE-SECRET-KEY"));
  await assert.rejects(textOf(caseKey.identity, parts[0].blob), CipherError);
});

test("grant refuses without a case key or a valid recipient", async () => {
  await assert.rejects(buildParts("grant", { grantRecipient: colleague.recipient }), (e) => e.code === "key_missing");
  await assert.rejects(buildParts("grant", { caseIdentity: caseKey.identity, grantRecipient: "" }), CipherError);
  await assert.rejects(
    buildParts("grant", { caseIdentity: caseKey.identity, grantRecipient: `${colleague.recipient} ${reporter.recipient}` }),
    CipherError,
  );
});

test("move: per holder of the new group, the holder, then its sealed case and officer keys", async () => {
  const officerKey = await generateOfficerKey();
  const moveHolders = [
    { holder: "officer:a", recipient: colleague.recipient },
    { holder: "officer:b", recipient: reporter.recipient },
  ];
  const input = { caseIdentity: caseKey.identity, officerIdentity: officerKey.identity, moveHolders };
  const parts = await buildParts("move", input);
  assert.deepEqual(
    parts.map((p) => p.name),
    ["holder", "envelope", "officer_envelope", "holder", "envelope", "officer_envelope"],
  );
  assert.equal(await parts[0].blob.text(), "officer:a");
  assert.equal(parseCaseEnvelope(await textOf(colleague.identity, parts[1].blob)), caseKey.identity);
  assert.equal(parseOfficerEnvelope(await textOf(colleague.identity, parts[2].blob)), officerKey.identity);
  assert.equal(parseCaseEnvelope(await textOf(reporter.identity, parts[4].blob)), caseKey.identity);
  await assert.rejects(textOf(reporter.identity, parts[1].blob), CipherError);
  const plain = await buildParts("move", { caseIdentity: caseKey.identity, moveHolders: moveHolders.slice(0, 1) });
  assert.deepEqual(plain.map((p) => p.name), ["holder", "envelope"]);
  await assert.rejects(buildParts("move", { moveHolders }), (e) => e.code === "key_missing");
});

test("bad recipients and unknown kinds are refused", async () => {
  await assert.rejects(buildParts("message", { recipients: "", message: "x" }), CipherError);
  await assert.rejects(buildParts("note", { recipients: "age1bogus", message: "x" }), CipherError);
  await assert.rejects(buildParts("delete", { recipients: caseKey.recipient }), (e) => e.code === "send_failed");
});

test("appendParts gives binary file parts on the wire", async () => {
  const parts = await buildParts("message", {
    recipients: caseKey.recipient,
    message: "m",
    files: [new File(["x"], "x.txt")],
  });
  const fd = new FormData();
  fd.append("csrf", "token123");
  appendParts(fd, parts);
  assert.deepEqual([...fd.keys()], ["csrf", "message", "attachment", "attachment_name"]);
  const msg = fd.get("message");
  assert.ok(msg instanceof File);
  assert.equal(msg.name, "message.age");
  assert.equal(msg.type, AGE_TYPE);
  const wire = await new Response(fd).text();
  assert.match(wire, /Content-Disposition: form-data; name="csrf"\r\n\r\ntoken123\r\n/);
  for (const name of ["message", "attachment", "attachment_name"]) {
    assert.match(
      wire,
      new RegExp(`Content-Disposition: form-data; name="${name}"; filename="${name}\\.age"\r\nContent-Type: application/octet-stream\r\n\r\nage-encryption\\.org/v1\n`),
    );
  }
  assert.ok(!wire.includes("x.txt"));
});

test("safeFileName keeps a plain name and strips paths and control characters", () => {
  assert.equal(safeFileName("Report Q3.pdf"), "Report Q3.pdf");
  assert.equal(safeFileName("../../etc/passwd"), "passwd");
  assert.equal(safeFileName("C:\\Users\\x\\evil.exe"), "evil.exe");
  assert.equal(safeFileName("a\u0000b\nc.txt"), "abc.txt");
  assert.equal(safeFileName("..."), "attachment");
  assert.equal(safeFileName(".hidden"), "hidden");
  assert.equal(safeFileName(""), "attachment");
  assert.equal(safeFileName(undefined), "attachment");
  assert.equal(safeFileName("x".repeat(500)).length, 200);
});

test("grant: the officer key sealed to the colleague too, when the case has one", async () => {
  const officerKey = await generateOfficerKey();
  const parts = await buildParts("grant", {
    caseIdentity: caseKey.identity,
    officerIdentity: officerKey.identity,
    grantRecipient: colleague.recipient,
  });
  assert.deepEqual(
    parts.map((p) => p.name),
    ["envelope", "officer_envelope"],
  );
  const text = await textOf(colleague.identity, parts[1].blob);
  assert.equal(parseOfficerEnvelope(text), officerKey.identity);
  assert.ok(text.startsWith(`${OFFICER_KEY_HEADER}\n`));
});

test("officer key form: the recipient, then a holder and its sealed copy each", async () => {
  const key = await generateOfficerCaseKey();
  const other = await generateOfficerKey();
  const data = await officerKeyForm(new FormData(), key, [
    { holder: "officer:a", recipient: colleague.recipient },
    { holder: "escrow", recipient: other.recipient },
  ]);
  const entries = [...data.entries()];
  assert.deepEqual(
    entries.map(([n]) => n),
    ["recipient", "holder", "officer_envelope", "holder", "officer_envelope"],
  );
  assert.equal(entries[0][1], key.recipient);
  assert.equal(entries[1][1], "officer:a");
  assert.equal(parseOfficerEnvelope(await textOf(colleague.identity, entries[2][1])), key.identity);
  assert.equal(parseOfficerEnvelope(await textOf(other.identity, entries[4][1])), key.identity);
  // A case key file is not an officer key file, and the reverse.
  await assert.rejects(async () => parseCaseEnvelope(await textOf(other.identity, entries[4][1])));
  await assert.rejects(officerKeyForm(new FormData(), key, []), CipherError);
});
