// Metadata removal on small synthetic JPEG and PNG files built here: the metadata segments and
// chunks go, every other byte stays exactly where the walkers say.

import assert from "node:assert/strict";
import { test } from "node:test";
import { crc32 } from "node:zlib";

import {
  JPEG_DROP,
  MetadataError,
  PNG_DROP,
  blobReader,
  bytesReader,
  jpegRanges,
  keepRanges,
  mayCarryMetadata,
  pngRanges,
  sniff,
  stripBlob,
  stripBytes,
} from "../src/metadata.js";

const enc = new TextEncoder();
const cat = (...parts) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};
const bytes = (...xs) => new Uint8Array(xs);
const filled = (n, seed) => new Uint8Array(n).map((_, i) => (i * 31 + seed) % 256);

/** Index of `needle` in `hay`, or -1. */
function indexOf(hay, needle) {
  const n = typeof needle === "string" ? enc.encode(needle) : needle;
  outer: for (let i = 0; i + n.length <= hay.length; i++) {
    for (let j = 0; j < n.length; j++) if (hay[i + j] !== n[j]) continue outer;
    return i;
  }
  return -1;
}

/* ---------- JPEG ---------- */

/** A JPEG segment: FF marker, 2-byte length (including itself), payload. */
function seg(marker, payload) {
  const len = payload.length + 2;
  return cat(bytes(0xff, marker, len >> 8, len & 0xff), payload);
}

const SOI = bytes(0xff, 0xd8);
const EOI = bytes(0xff, 0xd9);
const APP0 = seg(0xe0, cat(enc.encode("JFIF\0"), bytes(1, 2, 0, 0, 1, 0, 1, 0, 0)));
const EXIF = seg(0xe1, cat(enc.encode("Exif\0\0MM\0*"), enc.encode("GPS 50.85N 4.35E Canon EOS secret-owner"), filled(300, 1)));
const XMP = seg(0xe1, enc.encode("http://ns.adobe.com/xap/1.0/\0<x:xmpmeta>creator: Jane Doe</x:xmpmeta>"));
const ICC = seg(0xe2, cat(enc.encode("ICC_PROFILE\0"), bytes(1, 1), filled(128, 2)));
const IPTC = seg(0xed, cat(enc.encode("Photoshop 3.0\0"), enc.encode("8BIM IPTC byline: Jane Doe")));
const COM = seg(0xfe, enc.encode("edited on jane-laptop"));
const DQT = seg(0xdb, cat(bytes(0), filled(64, 3)));
const SOF0 = seg(0xc0, bytes(8, 0, 16, 0, 16, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1));
const DHT = seg(0xc4, cat(bytes(0), filled(16, 4), filled(12, 5)));
const DRI = seg(0xdd, bytes(0, 4));
const ADOBE = seg(0xee, cat(enc.encode("Adobe"), bytes(0, 100, 0, 0, 0, 0, 1)));
const SOS = seg(0xda, bytes(3, 1, 0, 2, 0x11, 3, 0x11, 0, 63, 0));
// Entropy-coded data with stuffed FF 00 and restart markers; then a second scan.
const SCAN = cat(filled(200, 6).map((b) => (b === 0xff ? 0xfe : b)), bytes(0xff, 0x00), filled(50, 7).map((b) => (b === 0xff ? 0 : b)), bytes(0xff, 0xd0), filled(40, 8).map((b) => (b === 0xff ? 0 : b)));
const DHT2 = seg(0xc4, cat(bytes(0x10), filled(16, 9), filled(10, 10)));
const SOS2 = seg(0xda, bytes(1, 1, 0x11, 1, 5, 0));
const SCAN2 = filled(80, 11).map((b) => (b === 0xff ? 0 : b));
// Metadata after the first scan (unusual) is kept byte for byte, like all image data.
const LATE_COM = seg(0xfe, enc.encode("late comment"));

const jpeg = cat(SOI, APP0, EXIF, XMP, ICC, IPTC, DQT, COM, SOF0, DHT, DRI, ADOBE, SOS, SCAN, DHT2, SOS2, SCAN2, LATE_COM, EOI);
const jpegExpected = cat(SOI, APP0, ICC, DQT, SOF0, DHT, DRI, ADOBE, SOS, SCAN, DHT2, SOS2, SCAN2, LATE_COM, EOI);

test("JPEG: APP1 (Exif, XMP), APP13 and COM go; all else is kept byte for byte", async () => {
  assert.deepEqual(JPEG_DROP, { 0xe1: "APP1", 0xed: "APP13", 0xfe: "COM" });
  const out = await stripBytes(jpeg);
  assert.equal(out.kind, "jpeg");
  assert.deepEqual(out.dropped, ["APP1", "APP1", "APP13", "COM"]);
  assert.deepEqual(out.bytes, jpegExpected);
  assert.equal(out.bytes.length, jpeg.length - EXIF.length - XMP.length - IPTC.length - COM.length);
  for (const secret of ["Exif", "GPS", "Canon", "xmpmeta", "Jane Doe", "8BIM", "jane-laptop"]) {
    assert.equal(indexOf(out.bytes, secret), -1, secret);
  }
  // The image data, from the first SOS to the end, is the original's, unchanged.
  const scanAt = indexOf(jpeg, SOS);
  assert.deepEqual(out.bytes.subarray(out.bytes.length - (jpeg.length - scanAt)), jpeg.subarray(scanAt));
  // The output walks as a JPEG and has nothing left to drop.
  const again = await stripBytes(out.bytes);
  assert.deepEqual(again.dropped, []);
  assert.deepEqual(again.bytes, out.bytes);
});

test("JPEG: the kept ranges are the original's segments, merged where adjacent", async () => {
  const { ranges, dropped } = await jpegRanges(bytesReader(jpeg), jpeg.length);
  assert.equal(dropped.length, 4);
  const o = (part) => indexOf(jpeg, part);
  assert.deepEqual(ranges, [
    [0, o(EXIF)],
    [o(ICC), o(ICC) + ICC.length],
    [o(DQT), o(DQT) + DQT.length],
    [o(SOF0), jpeg.length],
  ]);
});

test("JPEG: fill bytes before a marker stay with their segment; standalone markers are kept", async () => {
  const file = cat(SOI, bytes(0xff, 0xff), APP0, bytes(0xff), EXIF, bytes(0xff, 0x01), DQT, SOS, SCAN, EOI);
  const out = await stripBytes(file);
  assert.deepEqual(out.bytes, cat(SOI, bytes(0xff, 0xff), APP0, bytes(0xff, 0x01), DQT, SOS, SCAN, EOI));
});

test("JPEG without metadata, and a JPEG that ends before a scan", async () => {
  const plain = cat(SOI, APP0, DQT, SOF0, DHT, SOS, SCAN, EOI);
  const out = await stripBytes(plain);
  assert.deepEqual(out.dropped, []);
  assert.deepEqual(out.bytes, plain);
  const tablesOnly = cat(SOI, DQT, COM, EOI);
  assert.deepEqual((await stripBytes(tablesOnly)).bytes, cat(SOI, DQT, EOI));
});

test("damaged JPEGs are refused, not half stripped", async () => {
  const cases = {
    truncated: jpeg.subarray(0, indexOf(jpeg, XMP) + 10),
    "no marker": cat(SOI, APP0, bytes(0x12, 0x34), SOS, SCAN),
    "bad length": cat(SOI, bytes(0xff, 0xe1, 0x00, 0x01), SOS, SCAN),
    "no scan": cat(SOI, APP0, DQT),
    "second SOI": cat(SOI, SOI, APP0, SOS, SCAN),
  };
  for (const [name, file] of Object.entries(cases)) {
    await assert.rejects(stripBytes(file), MetadataError, name);
  }
});

/* ---------- PNG ---------- */

const SIG = bytes(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

function chunk(type, data = new Uint8Array(0)) {
  const head = new Uint8Array(8);
  new DataView(head.buffer).setUint32(0, data.length);
  head.set(enc.encode(type), 4);
  const crc = new Uint8Array(4);
  new DataView(crc.buffer).setUint32(0, crc32(cat(enc.encode(type), data)));
  return cat(head, data, crc);
}

const IHDR = chunk("IHDR", bytes(0, 0, 0, 16, 0, 0, 0, 16, 8, 2, 0, 0, 0));
const GAMA = chunk("gAMA", bytes(0, 0, 0xb1, 0x8f));
const ICCP = chunk("iCCP", cat(enc.encode("sRGB\0\0"), filled(40, 12)));
const TEXT = chunk("tEXt", enc.encode("Author\0Jane Doe"));
const ITXT = chunk("iTXt", enc.encode("XML:com.adobe.xmp\0\0\0\0\0<x:xmpmeta>GPS 50.85N</x:xmpmeta>"));
const ZTXT = chunk("zTXt", cat(enc.encode("Comment\0\0"), filled(30, 13)));
const TIME = chunk("tIME", bytes(0x07, 0xea, 5, 5, 10, 20, 30));
const EXIF_PNG = chunk("eXIf", cat(enc.encode("MM\0*"), enc.encode("Pixel 9 serial 1234")));
const PHYS = chunk("pHYs", bytes(0, 0, 0x0b, 0x13, 0, 0, 0x0b, 0x13, 1));
const IDAT1 = chunk("IDAT", filled(300, 14));
const IDAT2 = chunk("IDAT", filled(120, 15));
const LATE_TEXT = chunk("tEXt", enc.encode("Software\0jane's editor"));
const IEND = chunk("IEND");
const TRAILER = enc.encode("trailing bytes");

const png = cat(SIG, IHDR, GAMA, ICCP, TEXT, ITXT, ZTXT, TIME, EXIF_PNG, PHYS, IDAT1, IDAT2, LATE_TEXT, IEND, TRAILER);
const pngExpected = cat(SIG, IHDR, GAMA, ICCP, PHYS, IDAT1, IDAT2, IEND, TRAILER);

test("PNG: eXIf, tEXt, iTXt, zTXt and tIME go wherever they are; all else is kept", async () => {
  assert.deepEqual(PNG_DROP, ["eXIf", "tEXt", "iTXt", "zTXt", "tIME"]);
  const out = await stripBytes(png);
  assert.equal(out.kind, "png");
  assert.deepEqual(out.dropped, ["tEXt", "iTXt", "zTXt", "tIME", "eXIf", "tEXt"]);
  assert.deepEqual(out.bytes, pngExpected);
  for (const secret of ["Jane Doe", "xmpmeta", "Pixel 9", "jane's editor", "tIME", "eXIf"]) {
    assert.equal(indexOf(out.bytes, secret), -1, secret);
  }
  // The image data chunks are the original's, each with its CRC, in order.
  const at = indexOf(out.bytes, IDAT1);
  assert.ok(at > 0);
  assert.deepEqual(out.bytes.subarray(at, at + IDAT1.length + IDAT2.length), cat(IDAT1, IDAT2));
  // Every chunk of the output still carries a valid CRC, and walks to IEND.
  let pos = 8;
  const types = [];
  while (pos < out.bytes.length - TRAILER.length) {
    const view = new DataView(out.bytes.buffer, out.bytes.byteOffset + pos);
    const len = view.getUint32(0);
    const type = new TextDecoder().decode(out.bytes.subarray(pos + 4, pos + 8));
    assert.equal(view.getUint32(8 + len), crc32(out.bytes.subarray(pos + 4, pos + 8 + len)), type);
    types.push(type);
    pos += 12 + len;
  }
  assert.deepEqual(types, ["IHDR", "gAMA", "iCCP", "pHYs", "IDAT", "IDAT", "IEND"]);
});

test("PNG: ranges, and a PNG with nothing to drop", async () => {
  const { ranges } = await pngRanges(bytesReader(png), png.length);
  const o = (part) => indexOf(png, part);
  assert.deepEqual(ranges, [
    [0, o(TEXT)],
    [o(PHYS), o(LATE_TEXT)],
    [o(IEND), png.length],
  ]);
  const plain = cat(SIG, IHDR, IDAT1, IEND);
  const out = await stripBytes(plain);
  assert.deepEqual(out.dropped, []);
  assert.deepEqual(out.bytes, plain);
});

test("damaged PNGs are refused", async () => {
  const badType = chunk("IDAT", filled(4, 1));
  badType[5] = 0x31; // "I1AT"
  const cases = {
    truncated: png.subarray(0, indexOf(png, IDAT1) + 20),
    "no IEND": cat(SIG, IHDR, IDAT1),
    "bad type": cat(SIG, IHDR, badType, IEND),
    "huge length": cat(SIG, bytes(0xff, 0xff, 0xff, 0xff), enc.encode("IDAT"), IEND),
  };
  for (const [name, file] of Object.entries(cases)) {
    await assert.rejects(stripBytes(file), MetadataError, name);
  }
});

/* ---------- files ---------- */

test("sniffing looks at the bytes, not the name", async () => {
  assert.equal(sniff(jpeg), "jpeg");
  assert.equal(sniff(png), "png");
  assert.equal(sniff(enc.encode("%PDF-1.7")), null);
  assert.equal(sniff(new Uint8Array(0)), null);
  const pdf = enc.encode("%PDF-1.7 Author Jane Doe");
  assert.equal(await keepRanges(bytesReader(pdf), pdf.length), null);
  const out = await stripBytes(pdf);
  assert.equal(out.bytes, pdf);
  assert.equal(out.kind, null);
});

test("stripBlob builds the result from slices of the original File", async () => {
  for (const [name, data, expected, type] of [
    ["IMG_0001.JPG", jpeg, jpegExpected, "image/jpeg"],
    ["scan.png", png, pngExpected, "image/png"],
  ]) {
    const file = new File([data], name, { type, lastModified: 1_700_000_000_000 });
    const out = await stripBlob(file);
    assert.ok(out instanceof File);
    assert.notEqual(out, file);
    assert.equal(out.name, name);
    assert.equal(out.type, type);
    assert.deepEqual(new Uint8Array(await out.arrayBuffer()), expected);
  }
  // Nothing to drop, or not an image: the very same object.
  const plain = new File([cat(SOI, APP0, DQT, SOS, SCAN, EOI)], "a.jpg", { type: "image/jpeg" });
  assert.equal(await stripBlob(plain), plain);
  const doc = new File(["hello"], "notes.txt");
  assert.equal(await stripBlob(doc), doc);
  // A Blob stays a Blob.
  const blob = await stripBlob(new Blob([png], { type: "image/png" }));
  assert.ok(!(blob instanceof File));
  assert.deepEqual(new Uint8Array(await blob.arrayBuffer()), pngExpected);
  await assert.rejects(stripBlob(new File([png.subarray(0, 60)], "cut.png")), MetadataError);
});

test("blobReader gives the same answers with any window size", async () => {
  for (const size of [1, 3, 7, 64, 1 << 20]) {
    const read = blobReader(new Blob([png]), size);
    assert.deepEqual(await pngRanges(read, png.length), await pngRanges(bytesReader(png), png.length), `window ${size}`);
    const readJ = blobReader(new Blob([jpeg]), size);
    assert.deepEqual(await jpegRanges(readJ, jpeg.length), await jpegRanges(bytesReader(jpeg), jpeg.length));
    assert.deepEqual(await read(png.length - 2, 10), png.subarray(png.length - 2));
    assert.deepEqual(await read(0, 4), png.subarray(0, 4));
  }
});

test("which files get the warning", () => {
  for (const f of [
    { name: "IMG_0001.HEIC", type: "" },
    { name: "photo.jpg", type: "image/jpeg" },
    { name: "x", type: "image/png" },
    { name: "clip.mov", type: "video/quicktime" },
    { name: "contract.pdf", type: "application/pdf" },
    { name: "CONTRACT.PDF", type: "" },
    { name: "minutes.docx", type: "application/vnd.openxmlformats-officedocument.wordprocessingml.document" },
    { name: "budget.xlsx", type: "" },
    { name: "slides.odp", type: "" },
    { name: "old.doc", type: "application/msword" },
    { name: "letter.rtf", type: "" },
  ]) {
    assert.equal(mayCarryMetadata(f), true, f.name);
  }
  for (const f of [
    { name: "notes.txt", type: "text/plain" },
    { name: "data.csv", type: "text/csv" },
    { name: "archive.zip", type: "application/zip" },
    { name: "docx", type: "" },
    {},
  ]) {
    assert.equal(mayCarryMetadata(f), false, f.name);
  }
});
