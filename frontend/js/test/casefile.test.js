// The case file's ZIP: what goes in, the printable summary, and escaping (casefile.js).

import assert from "node:assert/strict";
import { test } from "node:test";
import { strFromU8, unzipSync } from "fflate";

import { buildCaseFile, esc, zipName } from "../src/casefile.js";

const b64 = (s) => Buffer.from(s, "utf8").toString("base64");

const data = {
  reference: "SU-1234-5678",
  lang: "en",
  category: "Fraud",
  mode: "Anonymous",
  channel: "Entered by an officer",
  status: "Investigating",
  received: "1 March 2026",
  generated: "2 March 2026 10:00 UTC",
  labels: { title: "Case file", unreadable: "(could not be decrypted)", reason: "Reason" },
  items: [
    { id: "r", kind: "report", author: "Reporter", day: "2026-03-01", parent: null,
      age: b64(JSON.stringify({ type: "report", version: 1, category: "fraud", what: "Cash <missing>", when_where: "", involved: "" })) },
    { id: "a", kind: "attachment", author: "Reporter", from_reporter: true, day: "2026-03-01", parent: "r", age: b64("../ledger.txt"), download: "/dl/a" },
    { id: "m", kind: "message", author: "Olga", day: "2026-03-02", parent: null, age: b64("We received it.") },
    { id: "n", kind: "note", author: "Olga", day: "2026-03-02", parent: null, age: "broken" },
  ],
  events: [{ at: "2 March", actor: "Olga", status: "Investigating", outcome: null, reason_age: b64("Invoices match") }],
  audit: [{ seq: 7, at: "2 March", actor: "olga@example.org", action: "Case file downloaded", detail: "" }],
};

// The test's "decryption" is base64; anything else fails, as a wrong key would.
const openText = async (s) => {
  if (s === "broken") throw new Error("no identity matched");
  return Buffer.from(s, "base64").toString("utf8");
};

test("the case file holds the report, files, thread, history and audit, with a summary", async () => {
  const fetched = [];
  const { zip, name, entries } = await buildCaseFile(data, openText, async (url) => {
    fetched.push(url);
    return new TextEncoder().encode("ledger contents");
  });
  assert.equal(name, "case-file-SU-1234-5678.zip");
  assert.deepEqual(fetched, ["/dl/a"]);
  const files = unzipSync(zip);
  assert.deepEqual(Object.keys(files).sort(), [...entries].sort());
  assert.equal(strFromU8(files["files/01-.._ledger.txt"]), "ledger contents");
  assert.match(strFromU8(files["thread/01-2026-03-02.txt"]), /We received it\./);
  assert.match(strFromU8(files["notes/02-2026-03-02.txt"]), /could not be decrypted/);
  const index = strFromU8(files["index.html"]);
  assert.match(index, /Cash &#60;missing&#62;/);
  assert.doesNotMatch(index, /<missing>/);
  assert.match(index, /Invoices match/);
  assert.match(index, /Case file downloaded/);
  assert.match(index, /@media print/);
  assert.doesNotMatch(index, /<script|<link|src=|https?:/);
});

test("names and text are made safe", () => {
  assert.equal(zipName("a/b\\c"), "a_b_c");
  assert.equal(zipName(""), "attachment");
  assert.equal(esc(`<a href="x">'&`), "&#60;a href=&#34;x&#34;&#62;&#39;&#38;");
});
