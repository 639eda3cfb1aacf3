// Interop with the reference age CLI: fixtures the CLI made (test/fixtures/make-fixtures.sh)
// must decrypt here, and what this package makes must decrypt with `age -d`. The CLI half
// shells out and is skipped, saying so, where `age` is not installed.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";

import { decrypt, decryptBase64Text, decryptResponse, encrypt, encryptBlob, toBase64 } from "../src/cipher.js";
import { buildParts } from "../src/forms.js";
import { sealReport } from "../src/intake.js";
import {
  generateOfficerKey,
  identityFromFile,
  parseCaseEnvelope,
  parseIdentityFile,
  recipientOf,
  unwrapIdentity,
  wrapIdentity,
} from "../src/keys.js";
import { deriveReporterKeys } from "../src/receipt.js";
import { importIdentityKey } from "../src/store.js";

const dir = new URL("fixtures/", import.meta.url);
const path = (name) => new URL(name, dir).pathname;
const text = (name) => readFileSync(new URL(name, dir), "utf8");
const bytes = (name) => new Uint8Array(readFileSync(new URL(name, dir)));
const publicKey = (file) => file.match(/^# public key: (age1\S+)$/m)[1];
const secret = (file) => parseIdentityFile(file)[0];

const officer = text("officer.key");
const caseKey = text("case.key");
const reporter = text("reporter.key");
const jsKey = text("js-identity.txt");

function has(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: "ignore" });
  return !r.error;
}
const noAge = has("age", ["--version"]) && has("age-keygen", ["--version"])
  ? false
  : "the age CLI is not installed (apt-get install age): CLI-side interop not checked";
const noScript = noAge || (has("script", ["--version"]) ? false : "util-linux `script` missing: cannot type a passphrase into age");

const tmp = mkdtempSync(join(tmpdir(), "speakup-js-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

function age(args, input) {
  const r = spawnSync("age", args, { input });
  assert.equal(r.status, 0, `age ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

function attachmentPlaintext(n = 200_000) {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 7 + 3) % 251;
  return out;
}

/* ---------- CLI output, decrypted here ---------- */

test("the case page flow on CLI-made files: envelope, case key, report, attachment", async () => {
  const officerId = await identityFromFile(officer, publicKey(officer));
  for (const identity of [officerId, await importIdentityKey(officerId, publicKey(officer))]) {
    const envelope = await decryptBase64Text(identity, toBase64(bytes("envelope.age")));
    const caseId = parseCaseEnvelope(envelope);
    assert.equal(caseId, secret(caseKey));
    assert.equal(await recipientOf(caseId), publicKey(caseKey));

    const report = JSON.parse(await decryptBase64Text(caseId, toBase64(bytes("report.age"))));
    assert.deepEqual(report, {
      type: "report",
      category: "fraud",
      what: 'Invoices <b>doubled</b> & "fixed"',
      when_where: "Q3, Ghent",
      involved: "Finance",
    });
    const blob = await decryptResponse(caseId, new Response(new Blob([bytes("attachment.age")]).stream()));
    assert.deepEqual(new Uint8Array(await blob.arrayBuffer()), attachmentPlaintext());
  }
  // The reporter's key reads the report too; the officer's does not (only the envelope).
  assert.equal(JSON.parse(await decryptBase64Text(secret(reporter), toBase64(bytes("report.age")))).type, "report");
  await assert.rejects(decrypt(secret(officer), bytes("report.age")));
});

test("the identity file this package wrote is one age-keygen would write", async () => {
  assert.match(jsKey, /^# created: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n# public key: age1[02-9ac-hj-np-z]{58}\nAGE-SECRET-KEY-1[02-9AC-HJ-NP-Z]{58}\n$/);
  assert.equal(await recipientOf(secret(jsKey)), publicKey(jsKey));
  assert.equal(new TextDecoder().decode(await decrypt(secret(jsKey), bytes("to-js.age"))), "from age CLI to a typage identity\n");
  const { armor } = await import("age-encryption");
  const armored = armor.decode(text("to-js.armored.age"));
  assert.equal(new TextDecoder().decode(await decrypt(secret(jsKey), armored)), "armored, from age CLI\n");
});

test("a CLI passphrase-wrapped identity file unwraps here", async () => {
  assert.equal(await unwrapIdentity(text("wrapped-by-cli.age"), "correct horse battery staple"), jsKey);
  await assert.rejects(unwrapIdentity(text("wrapped-by-cli.age"), "Correct horse battery staple"));
});

/* ---------- output of this package, decrypted by the CLI ---------- */

test("age-keygen -y agrees with the recipient of a generated identity", { skip: noAge }, async () => {
  const k = await generateOfficerKey();
  const file = join(tmp, "gen.key");
  writeFileSync(file, k.file);
  const r = spawnSync("age-keygen", ["-y", file], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), k.recipient);
});

test("age -d decrypts what this package encrypts (text and streamed file)", { skip: noAge }, async () => {
  const ct = await encrypt([publicKey(officer), publicKey(jsKey)], "to the CLI ✓\n");
  writeFileSync(join(tmp, "t.age"), ct);
  assert.equal(age(["-d", "-i", path("officer.key"), join(tmp, "t.age")]).toString(), "to the CLI ✓\n");
  assert.equal(age(["-d", "-i", path("js-identity.txt"), join(tmp, "t.age")]).toString(), "to the CLI ✓\n");

  const plain = attachmentPlaintext(300_000);
  const blob = await encryptBlob(publicKey(officer), new Blob([plain]));
  writeFileSync(join(tmp, "f.age"), new Uint8Array(await blob.arrayBuffer()));
  assert.deepEqual(new Uint8Array(age(["-d", "-i", path("officer.key"), join(tmp, "f.age")])), plain);
});

test("form parts decrypt with age -d, and a granted envelope opens the case like the export", { skip: noAge }, async () => {
  const parts = await buildParts("message", {
    recipients: `${publicKey(caseKey)} ${publicKey(reporter)}`,
    message: "Thank you.",
    files: [new File(["attached"], "notes.txt")],
  });
  const out = [];
  for (const [i, p] of parts.entries()) {
    const f = join(tmp, `part${i}.age`);
    writeFileSync(f, new Uint8Array(await p.blob.arrayBuffer()));
    out.push(age(["-d", "-i", path("case.key"), f]).toString());
    assert.equal(age(["-d", "-i", path("reporter.key"), f]).toString(), out[i]);
  }
  assert.deepEqual(out, ["Thank you.", "attached", "notes.txt"]);

  // Grant to the officer: `age -d -i officer.key envelope.age > case-key.txt` must give a file
  // that `age -d -i case-key.txt` accepts (docs/export.md).
  const [grant] = await buildParts("grant", { caseIdentity: secret(caseKey), grantRecipient: publicKey(officer) });
  writeFileSync(join(tmp, "env.age"), new Uint8Array(await grant.blob.arrayBuffer()));
  const caseKeyFile = age(["-d", "-i", path("officer.key"), join(tmp, "env.age")]);
  writeFileSync(join(tmp, "case-key.txt"), caseKeyFile);
  assert.equal(caseKeyFile.toString(), `# Speak Up case key\n${secret(caseKey)}\n`);
  assert.match(age(["-d", "-i", join(tmp, "case-key.txt"), path("report.age")]).toString(), /"type":"report"/);
});

test("age -d opens an identity file wrapped here with its passphrase", { skip: noScript }, async () => {
  const k = await generateOfficerKey();
  const wrapped = await wrapIdentity(k.file, "hunter2 hunter2");
  const inFile = join(tmp, "wrapped.age");
  const outFile = join(tmp, "unwrapped.key");
  writeFileSync(inFile, wrapped);
  // age reads passphrases from the terminal only: give it one with script(1).
  const r = spawnSync("script", ["-qec", `age -d -o ${outFile} ${inFile}`, "/dev/null"], {
    input: "hunter2 hunter2\n",
    encoding: "utf8",
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.equal(readFileSync(outFile, "utf8"), k.file);
});

test("a report sealed in the browser opens with age -d, for the officer and the reporter", { skip: noAge }, async () => {
  const sealed = await sealReport(
    {
      csrf: "c",
      category: "safety",
      mode: "confidential",
      what: "Fire exits blocked ✓",
      name: "J. Doe",
      files: [new File([attachmentPlaintext(150_000)], "scan.bin")],
    },
    { holders: [{ holder: "officer:1", recipient: publicKey(officer) }], escrow: null },
  );
  const write = async (name, i = 0) => {
    const f = join(tmp, `sealed-${name}-${i}.age`);
    writeFileSync(f, new Uint8Array(await sealed.entries.filter((e) => e.name === name)[i].value.arrayBuffer()));
    return f;
  };
  // Officer: envelope -> case key file -> everything else (as docs/export.md does it).
  const caseKeyFile = join(tmp, "sealed-case.key");
  writeFileSync(caseKeyFile, age(["-d", "-i", path("officer.key"), await write("envelope")]));
  const report = JSON.parse(age(["-d", "-i", caseKeyFile, await write("report")]).toString());
  assert.equal(report.what, "Fire exits blocked ✓");
  assert.equal(JSON.parse(age(["-d", "-i", caseKeyFile, await write("identity")]).toString()).name, "J. Doe");
  assert.deepEqual(new Uint8Array(age(["-d", "-i", caseKeyFile, await write("attachment")])), attachmentPlaintext(150_000));
  // Reporter: an identity file from the receipt token alone.
  const { identity } = await deriveReporterKeys(sealed.token);
  const reporterFile = join(tmp, "sealed-reporter.key");
  writeFileSync(reporterFile, `${identity}\n`);
  assert.equal(age(["-d", "-i", reporterFile, await write("attachment_name")]).toString(), "scan.bin");
  assert.equal(JSON.parse(age(["-d", "-i", reporterFile, await write("report")]).toString()).category, "safety");
  const keygen = spawnSync("age-keygen", ["-y", reporterFile], { encoding: "utf8" });
  assert.equal(keygen.stdout.trim(), sealed.reporterRecipient);
});
