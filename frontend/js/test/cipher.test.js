import assert from "node:assert/strict";
import { test } from "node:test";

import {
  AGE_TYPE,
  CipherError,
  decrypt,
  decryptBase64Text,
  decryptResponse,
  encrypt,
  encryptBlob,
  fromBase64,
  parseRecipients,
  toBase64,
} from "../src/cipher.js";
import { generateOfficerKey } from "../src/keys.js";
import { importIdentityKey } from "../src/store.js";

const a = await generateOfficerKey();
const b = await generateOfficerKey();
const c = await generateOfficerKey();

/** 200,000 bytes that are not all alike: several 64 KiB STREAM chunks. */
function pattern(n = 200_000) {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 7 + 3) % 251;
  return out;
}

/** A ReadableStream that hands `bytes` out in chunks of `size`. */
function chunked(bytes, size) {
  let i = 0;
  return new ReadableStream({
    pull(ctrl) {
      if (i >= bytes.length) return ctrl.close();
      ctrl.enqueue(bytes.slice(i, i + size));
      i += size;
    },
  });
}

test("text round trip to several recipients", async () => {
  const text = "Grüße <b>not html</b> & 🦈\n";
  const ct = await encrypt([a.recipient, b.recipient], text);
  assert.equal(new TextDecoder().decode(ct.subarray(0, 21)), "age-encryption.org/v1");
  for (const id of [a.identity, b.identity]) {
    assert.equal(await decryptBase64Text(id, toBase64(ct)), text);
  }
  await assert.rejects(decrypt(c.identity, ct), (e) => e instanceof CipherError && e.code === "decrypt_failed");
  // Several identities: the one that matches wins.
  assert.equal(await decryptBase64Text([c.identity, b.identity], toBase64(ct)), text);
  await assert.rejects(decrypt([], ct), (e) => e.code === "key_missing");
  await assert.rejects(decrypt(null, ct), (e) => e.code === "key_missing");
});

test("a non-extractable CryptoKey identity decrypts", async () => {
  const key = await importIdentityKey(a.identity, a.recipient);
  assert.ok(key instanceof CryptoKey);
  assert.equal(key.extractable, false);
  const ct = await encrypt(a.recipient, "via WebCrypto");
  assert.equal(new TextDecoder().decode(await decrypt(key, ct)), "via WebCrypto");
});

test("parseRecipients splits, checks and de-duplicates", () => {
  assert.deepEqual(parseRecipients(` ${a.recipient}\n${b.recipient}  ${a.recipient} `), [a.recipient, b.recipient]);
  assert.deepEqual(parseRecipients([b.recipient]), [b.recipient]);
  for (const bad of ["", "  ", undefined, "age1xyz", `${a.recipient} ssh-ed25519 AAAA`, a.identity, a.recipient.toUpperCase()]) {
    assert.throws(() => parseRecipients(bad), CipherError, String(bad));
  }
});

test("base64 helpers", () => {
  const bytes = pattern(1000);
  const b64 = toBase64(bytes);
  assert.equal(b64, Buffer.from(bytes).toString("base64"));
  assert.deepEqual(fromBase64(b64), bytes);
  assert.deepEqual(fromBase64(`${b64.slice(0, 100)}\n  ${b64.slice(100)}`), bytes);
  assert.deepEqual(fromBase64("YQ"), new Uint8Array([97]));
  for (const bad of ["", "***", "YQ===", "a-b_"]) assert.throws(() => fromBase64(bad), CipherError, bad);
});

test("decryptBase64Text refuses invalid UTF-8 and bad base64", async () => {
  const ct = await encrypt(a.recipient, new Uint8Array([0xff, 0xfe, 0x00]));
  await assert.rejects(decryptBase64Text(a.identity, toBase64(ct)), CipherError);
  await assert.rejects(decryptBase64Text(a.identity, "!!"), CipherError);
  await assert.rejects(decryptBase64Text(a.identity, toBase64(new TextEncoder().encode("age-encryption.org/v1\n"))), CipherError);
});

for (const stream of [true, false]) {
  test(`encryptBlob round trip (${stream ? "streaming" : "arrayBuffer"})`, async () => {
    const plain = pattern();
    const blob = await encryptBlob([a.recipient, b.recipient], new Blob([plain]), { stream });
    assert.equal(blob.type, AGE_TYPE);
    const ct = new Uint8Array(await blob.arrayBuffer());
    assert.deepEqual(await decrypt(a.identity, ct), plain);
    assert.deepEqual(await decrypt(b.identity, ct), plain);
  });
}

test("encryptBlob of an empty file", async () => {
  const blob = await encryptBlob(a.recipient, new Blob([]));
  assert.equal((await decrypt(a.identity, new Uint8Array(await blob.arrayBuffer()))).length, 0);
});

test("decryptResponse decrypts a download while it streams", async () => {
  const plain = pattern();
  const ct = await encrypt(a.recipient, plain);
  for (const size of [4096, 65536 + 17, ct.length]) {
    const blob = await decryptResponse(a.identity, new Response(chunked(ct, size)), "application/pdf");
    assert.equal(blob.type, "application/pdf");
    assert.deepEqual(new Uint8Array(await blob.arrayBuffer()), plain, `chunk size ${size}`);
  }
  // Byte-by-byte delivery of a small file.
  const small = await encrypt(a.recipient, "tiny");
  const blob = await decryptResponse(a.identity, new Response(chunked(small, 1)));
  assert.equal(await blob.text(), "tiny");
});

test("decryptResponse fails on tampering, truncation, the wrong key and HTTP errors", async () => {
  const plain = pattern();
  const ct = await encrypt(a.recipient, plain);
  const tampered = ct.slice();
  tampered[tampered.length - 70_000] ^= 1;
  await assert.rejects(decryptResponse(a.identity, new Response(tampered)), CipherError);
  await assert.rejects(decryptResponse(a.identity, new Response(ct.slice(0, ct.length - 100))), CipherError);
  // Cut exactly at a chunk boundary: the final chunk is missing.
  const headerLen = ct.length - (plain.length + Math.ceil(plain.length / 65536) * 16) - 16;
  await assert.rejects(
    decryptResponse(a.identity, new Response(ct.slice(0, headerLen + 16 + 65536 + 16))),
    CipherError,
  );
  await assert.rejects(decryptResponse(c.identity, new Response(ct)), CipherError);
  await assert.rejects(decryptResponse(a.identity, new Response("nope", { status: 404 })), /HTTP 404/);
});
