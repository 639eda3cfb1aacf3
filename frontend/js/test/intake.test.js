// The sealed report (docs/browser-contract.md, "Intake"): field order, what each part decrypts
// to and for whom, and that no plaintext reaches the wire.

import assert from "node:assert/strict";
import { test } from "node:test";

import { AGE_TYPE, CipherError, decrypt } from "../src/cipher.js";
import {
  IntakeError,
  MAX_TEXT_CHARS,
  checkReport,
  cleanFileName,
  identityJson,
  parseIntakeKeys,
  reportJson,
  routeHolders,
  sealReport,
  toFormData,
} from "../src/intake.js";
import { generateOfficerKey, parseCaseEnvelope, recipientOf } from "../src/keys.js";
import { deriveReporterKeys, generateToken, parseToken } from "../src/receipt.js";

const alice = await generateOfficerKey();
const bob = await generateOfficerKey();
const escrow = await generateOfficerKey();
const outsider = await generateOfficerKey();

const keys = {
  holders: [
    { holder: "officer:1", recipient: alice.recipient },
    { holder: "officer:7", recipient: bob.recipient },
  ],
  escrow: escrow.recipient,
};

const bytesOf = async (blob) => new Uint8Array(await blob.arrayBuffer());
const textOf = async (id, blob) => new TextDecoder().decode(await decrypt(id, await bytesOf(blob)));

/** The recipient stanzas of an age file's header. */
function stanzas(ageBytes) {
  const text = new TextDecoder("latin1").decode(ageBytes.subarray(0, 4096));
  const header = text.slice(0, text.indexOf("\n---"));
  assert.ok(header.startsWith("age-encryption.org/v1\n"));
  return header.split("\n").filter((l) => l.startsWith("-> ")).map((l) => l.split(" ")[1]);
}

function contains(hay, needle) {
  const n = typeof needle === "string" ? new TextEncoder().encode(needle) : needle;
  outer: for (let i = 0; i + n.length <= hay.length; i++) {
    for (let j = 0; j < n.length; j++) if (hay[i + j] !== n[j]) continue outer;
    return true;
  }
  return false;
}

function bigFile(n) {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 13 + 5) % 251;
  return out;
}

const report = () => ({
  csrf: "csrf-token-123",
  category: "fraud",
  mode: "confidential",
  what: "Invoices <b>doubled</b> & \"fixed\"\r\nsecond line",
  when_where: "Q3, Ghent",
  involved: "Finance",
  name: "Jane Whistle",
  contact: "jane@example.org",
  files: [
    new File(["minutes body"], "C:\\Users\\jane\\Minutes (secret).pdf", { type: "application/pdf" }),
    new File([bigFile(300_000)], "photo.jpg", { type: "image/jpeg" }),
  ],
});

test("the entries come in the contract's order", async () => {
  const sealed = await sealReport(report(), keys);
  assert.deepEqual(sealed.entries.map((e) => e.name), [
    "csrf", "category", "mode", "lookup", "case_recipient", "reporter_recipient",
    "report", "identity",
    "holder", "envelope", "holder", "envelope", "holder", "envelope",
    "attachment", "attachment_name", "attachment", "attachment_name",
  ]);
  const v = Object.fromEntries(sealed.entries.filter((e) => typeof e.value === "string").map((e) => [e.name, e.value]));
  assert.equal(v.csrf, "csrf-token-123");
  assert.equal(v.category, "fraud");
  assert.equal(v.mode, "confidential");
  assert.match(v.lookup, /^[0-9a-f]{64}$/);
  assert.deepEqual(
    sealed.entries.filter((e) => e.name === "holder").map((e) => e.value),
    ["officer:1", "officer:7", "escrow"],
  );
  // Text fields are text; ciphertext parts are binary age files named <part>.age.
  for (const e of sealed.entries) {
    if (["report", "identity", "envelope", "attachment", "attachment_name"].includes(e.name)) {
      assert.ok(e.value instanceof Blob, e.name);
      assert.equal(e.value.type, AGE_TYPE);
      assert.equal(e.filename, `${e.name}.age`);
    } else {
      assert.equal(typeof e.value, "string", e.name);
      assert.equal(e.filename, undefined);
    }
  }
});

test("lookup and reporter recipient are the token's; the token is new each time", async () => {
  const a = await sealReport(report(), keys);
  const b = await sealReport(report(), keys);
  assert.notEqual(a.token, b.token);
  assert.notEqual(a.caseRecipient, b.caseRecipient);
  assert.equal(parseToken(a.token), a.token);
  const derived = await deriveReporterKeys(a.token);
  const v = Object.fromEntries(a.entries.filter((e) => typeof e.value === "string").map((e) => [e.name, e.value]));
  assert.equal(v.lookup, derived.lookup);
  assert.equal(v.reporter_recipient, derived.recipient);
  assert.equal(v.case_recipient, a.caseRecipient);
  assert.equal(a.lookup, derived.lookup);
  assert.equal(a.reporterRecipient, derived.recipient);
});

test("every part decrypts for the case key and the reporter, and only for them", async () => {
  const token = generateToken();
  const caseKey = await generateOfficerKey();
  const sealed = await sealReport(report(), keys, { token, caseIdentity: caseKey.identity });
  assert.equal(sealed.token, token);
  assert.equal(sealed.caseRecipient, caseKey.recipient);
  const reporter = await deriveReporterKeys(token);
  const part = (name, i = 0) => sealed.entries.filter((e) => e.name === name)[i].value;

  for (const id of [caseKey.identity, reporter.identity]) {
    const r = JSON.parse(await textOf(id, part("report")));
    assert.deepEqual(r, {
      type: "report",
      version: 1,
      category: "fraud",
      what: 'Invoices <b>doubled</b> & "fixed"\nsecond line',
      when_where: "Q3, Ghent",
      involved: "Finance",
    });
    assert.deepEqual(Object.keys(r), ["type", "version", "category", "what", "when_where", "involved"]);
    assert.deepEqual(JSON.parse(await textOf(id, part("identity"))), {
      type: "identity",
      version: 1,
      name: "Jane Whistle",
      contact: "jane@example.org",
    });
    assert.equal(await textOf(id, part("attachment", 0)), "minutes body");
    assert.equal(await textOf(id, part("attachment_name", 0)), "Minutes (secret).pdf");
    assert.deepEqual(await decrypt(id, await bytesOf(part("attachment", 1))), bigFile(300_000));
    assert.equal(await textOf(id, part("attachment_name", 1)), "photo.jpg");
  }
  for (const name of ["report", "identity", "attachment", "attachment_name"]) {
    assert.deepEqual(stanzas(await bytesOf(part(name))), ["X25519", "X25519"], name);
    await assert.rejects(textOf(alice.identity, part(name)), CipherError, name);
    await assert.rejects(textOf(outsider.identity, part(name)), CipherError, name);
  }
});

test("each holder's envelope opens to the case identity file, for that holder alone", async () => {
  const caseKey = await generateOfficerKey();
  const sealed = await sealReport(report(), keys, { caseIdentity: caseKey.identity });
  const envelopes = sealed.entries.filter((e) => e.name === "envelope").map((e) => e.value);
  const holders = [alice, bob, escrow];
  assert.equal(envelopes.length, 3);
  for (const [i, env] of envelopes.entries()) {
    assert.deepEqual(stanzas(await bytesOf(env)), ["X25519"]);
    const file = await textOf(holders[i].identity, env);
    assert.equal(file, `# Speak Up case key\n${caseKey.identity}\n`);
    assert.equal(parseCaseEnvelope(file), caseKey.identity);
    assert.equal(await recipientOf(parseCaseEnvelope(file)), sealed.caseRecipient);
    for (const [j, other] of holders.entries()) {
      if (j !== i) await assert.rejects(textOf(other.identity, env), CipherError);
    }
    assert.ok(!contains(await bytesOf(env), "AGE-SECRET-KEY"));
  }
  // The case key from an envelope reads the report.
  const caseId = parseCaseEnvelope(await textOf(bob.identity, envelopes[1]));
  const reportPart = sealed.entries.find((e) => e.name === "report").value;
  assert.equal(JSON.parse(await textOf(caseId, reportPart)).category, "fraud");
});

test("anonymous: no identity part, even with a name typed; no escrow: no escrow envelope", async () => {
  const r = { ...report(), mode: "anonymous", files: [] };
  const sealed = await sealReport(r, { holders: keys.holders.slice(0, 1), escrow: null });
  assert.deepEqual(sealed.entries.map((e) => e.name), [
    "csrf", "category", "mode", "lookup", "case_recipient", "reporter_recipient",
    "report", "holder", "envelope",
  ]);
  const wire = await new Response(toFormData(sealed.entries)).text();
  assert.ok(!wire.includes("Jane"));
  assert.ok(!wire.includes("Invoices"));
});

test("on the wire: text fields as text, age parts as application/octet-stream files, no plaintext", async () => {
  const sealed = await sealReport(report(), keys);
  const fd = toFormData(sealed.entries);
  assert.deepEqual([...fd.keys()], sealed.entries.map((e) => e.name));
  const wire = new Uint8Array(await new Response(fd).arrayBuffer());
  const text = new TextDecoder("latin1").decode(wire);
  assert.match(text, /Content-Disposition: form-data; name="csrf"\r\n\r\ncsrf-token-123\r\n/);
  assert.match(text, /Content-Disposition: form-data; name="lookup"\r\n\r\n[0-9a-f]{64}\r\n/);
  assert.match(text, /Content-Disposition: form-data; name="holder"\r\n\r\nofficer:1\r\n/);
  for (const name of ["report", "identity", "envelope", "attachment", "attachment_name"]) {
    assert.match(
      text,
      new RegExp(`Content-Disposition: form-data; name="${name}"; filename="${name}\\.age"\r\nContent-Type: application/octet-stream\r\n\r\nage-encryption\\.org/v1\n`),
    );
  }
  for (const secret of ["Invoices", "Ghent", "Finance", "Jane", "jane@", "Minutes", "photo.jpg", "minutes body", "AGE-SECRET-KEY", sealed.token]) {
    assert.ok(!contains(wire, secret), secret);
  }
  assert.ok(!contains(wire, bigFile(300_000).subarray(1000, 1064)));
});

test("checkReport: the server's rules, as a convenience", () => {
  const ok = report();
  assert.deepEqual(checkReport(ok), []);
  const codes = (r) => checkReport(r).map((p) => `${p.field}:${p.code}`);
  assert.deepEqual(codes({ ...ok, category: " " }), ["category:category_required"]);
  assert.deepEqual(codes({ ...ok, what: " \r\n " }), ["what:what_required"]);
  assert.deepEqual(codes({ ...ok, mode: "public" }), ["mode:mode_invalid"]);
  assert.deepEqual(codes({ ...ok, name: "  " }), ["name:identity_required"]);
  assert.deepEqual(codes({ ...ok, mode: "anonymous", name: "" }), []);
  assert.deepEqual(codes({ ...ok, what: "é".repeat(MAX_TEXT_CHARS) }), []);
  assert.deepEqual(codes({ ...ok, what: "🦈".repeat(MAX_TEXT_CHARS) }), [], "characters, not UTF-16 units");
  assert.deepEqual(codes({ ...ok, involved: "x".repeat(MAX_TEXT_CHARS + 1) }), ["involved:too_long"]);
  assert.deepEqual(codes({ ...ok, files: [new File([], "empty.txt")] }), ["attachments:empty_file"]);
});

test("sealReport refuses an incomplete report or unusable keys before encrypting", async () => {
  await assert.rejects(sealReport({ ...report(), what: "" }, keys), (e) => e instanceof IntakeError && e.code === "what_required" && e.field === "what");
  await assert.rejects(sealReport(report(), { holders: [] }), IntakeError);
  await assert.rejects(sealReport(report(), "not json"), IntakeError);
  await assert.rejects(sealReport(report(), { holders: [{ holder: "officer:1", recipient: "age1nope" }] }), CipherError);
});

test("progress is reported per attachment", async () => {
  const steps = [];
  await sealReport(report(), keys, { progress: (s) => steps.push(s) });
  assert.deepEqual(steps, [
    { stage: "keys" },
    { stage: "report" },
    { stage: "attachment", index: 0, count: 2 },
    { stage: "attachment", index: 1, count: 2 },
    { stage: "done" },
  ]);
});

test("parseIntakeKeys reads script#intake-keys", () => {
  const json = JSON.stringify({ holders: [{ holder: "officer:3", recipient: alice.recipient }], escrow: null });
  assert.deepEqual(parseIntakeKeys(json), { holders: [{ holder: "officer:3", recipient: alice.recipient }], escrow: null, routes: {} });
  assert.equal(parseIntakeKeys({ ...JSON.parse(json), escrow: escrow.recipient }).escrow, escrow.recipient);
  assert.equal(parseIntakeKeys({ holders: JSON.parse(json).holders }).escrow, null);
  for (const bad of [
    "",
    "{",
    "null",
    JSON.stringify({ holders: [] }),
    JSON.stringify({ holders: [{ recipient: alice.recipient }] }),
    JSON.stringify({ holders: [{ holder: "escrow", recipient: alice.recipient }] }),
    JSON.stringify({ holders: [{ holder: "officer:1", recipient: alice.identity }] }),
    JSON.stringify({ holders: [{ holder: "officer:1", recipient: alice.recipient }], escrow: "age1bad" }),
  ]) {
    assert.throws(() => parseIntakeKeys(bad), CipherError, bad);
  }
});

test("JSON shapes match server/src/domain/content.rs", () => {
  assert.deepEqual(JSON.parse(reportJson({ category: "c", what: "w" })), {
    type: "report", version: 1, category: "c", what: "w", when_where: "", involved: "",
  });
  assert.deepEqual(JSON.parse(identityJson({ name: "n" })), { type: "identity", version: 1, name: "n", contact: "" });
});

test("cleanFileName is the server's clean_file_name", () => {
  assert.equal(cleanFileName("Report Q3.pdf"), "Report Q3.pdf");
  assert.equal(cleanFileName("C:\\Users\\jane\\Desktop\\x.pdf"), "x.pdf");
  assert.equal(cleanFileName("/home/jane/y.txt"), "y.txt");
  assert.equal(cleanFileName("  spaced.txt  "), "spaced.txt");
  assert.equal(cleanFileName("a\u0000b\u0085c\u007f.txt"), "abc.txt");
  assert.equal(cleanFileName(".hidden"), ".hidden");
  for (const empty of ["", "   ", ".", "..", "dir/", "\u0001"]) assert.equal(cleanFileName(empty), "attachment", JSON.stringify(empty));
  assert.equal(cleanFileName("🦈".repeat(300)), "🦈".repeat(200));
});

test("a meeting request: its kind in clear, what the reporter wrote about it sealed like a reply", async () => {
  const availability = "Tuesdays after six, 0470 12 34 56";
  const sealed = await sealReport({ ...report(), files: [], meeting: "phone", availability: `  ${availability}\r\n` }, keys);
  const names = sealed.entries.map((e) => e.name);
  assert.deepEqual(names.slice(0, 9), [
    "csrf", "category", "mode", "lookup", "case_recipient", "reporter_recipient", "meeting",
    "report", "identity",
  ]);
  assert.equal(sealed.entries.find((e) => e.name === "meeting").value, "phone");
  const message = sealed.entries.find((e) => e.name === "message");
  assert.ok(message.value instanceof Blob);
  assert.equal(message.filename, "message.age");
  const reporter = await deriveReporterKeys(sealed.token);
  assert.equal(await textOf(reporter.identity, message.value), availability);
  const wire = await new Response(toFormData(sealed.entries)).text();
  assert.ok(!wire.includes("Tuesdays"), "availability in clear on the wire");
  // No meeting: neither field is sent; text without a meeting is refused before sending.
  const none = await sealReport({ ...report(), files: [] }, keys);
  assert.ok(!none.entries.some((e) => e.name === "meeting" || e.name === "message"));
  const codes = (r) => checkReport(r).map((p) => `${p.field}:${p.code}`);
  assert.deepEqual(codes({ ...report(), availability: "any time" }), ["meeting:meeting_required"]);
  assert.deepEqual(codes({ ...report(), meeting: "video" }), ["meeting:meeting_invalid"]);
});

test("routing before sealing: a routed category seals to its group only, less the leave-outs", async () => {
  const routed = { ...keys, routes: { harassment: ["officer:7"] } };
  assert.deepEqual(routeHolders(parseIntakeKeys(routed), "harassment").holders.map((h) => h.holder), ["officer:7"]);
  assert.deepEqual(routeHolders(parseIntakeKeys(routed), "fraud", ["1"]).holders.map((h) => h.holder), ["officer:7"]);
  assert.throws(() => routeHolders(parseIntakeKeys(routed), "harassment", ["7"]), (e) => e.code === "routing_error_everyone");
  assert.throws(() => routeHolders(parseIntakeKeys(routed), "fraud", ["1", "7", "9"]), (e) => e.code === "routing_error_too_many");
  const sealed = await sealReport({ ...report(), category: "harassment", files: [] }, routed);
  const holders = sealed.entries.filter((e) => e.name === "holder").map((e) => e.value);
  assert.deepEqual(holders, ["officer:7", "escrow"]);
  assert.equal(sealed.entries.find((e) => e.name === "leave_out"), undefined);
  const left = await sealReport({ ...report(), files: [], leaveOut: ["7"] }, routed);
  assert.deepEqual(left.entries.filter((e) => e.name === "holder").map((e) => e.value), ["officer:1", "escrow"]);
  assert.equal(left.entries.find((e) => e.name === "leave_out").value, "7");
});
