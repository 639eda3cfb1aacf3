// Metadata in attachments: which files may carry location, device or author data (for
// `#metadata-warning`), and removing it from JPEG and PNG before encryption
// (docs/browser-contract.md, "Intake"). Pure: no DOM.
//
// Stripping keeps every other byte as it is: the walkers below only decide which byte ranges
// of the original to keep, and `stripBlob` builds the result from `Blob.slice`s of the
// original, so a large image is neither decoded nor copied into memory.
//
// JPEG: APP1 (Exif, XMP, extended XMP), APP13 (Photoshop IRB / IPTC) and COM segments before
// the first scan are dropped. From the first SOS marker on, everything is kept byte for byte
// (entropy-coded data, later scans, EOI and any trailer): cameras and editors write metadata
// segments before the first scan. Limitation: images embedded further on (MPF secondary
// images, trailers some phones append after EOI) are kept as they are.
// PNG: eXIf, tEXt, iTXt, zTXt and tIME chunks are dropped wherever they are; all other chunks
// (and any bytes after IEND) are kept byte for byte.

/** A file's first bytes → its kind for stripping. */
const JPEG_MAGIC = [0xff, 0xd8, 0xff];
const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** JPEG markers whose segments are dropped. */
export const JPEG_DROP = Object.freeze({ 0xe1: "APP1", 0xed: "APP13", 0xfe: "COM" });
/** PNG chunk types that are dropped. */
export const PNG_DROP = Object.freeze(["eXIf", "tEXt", "iTXt", "zTXt", "tIME"]);

/** The file is not the JPEG or PNG it claims to be: keep it as it is. */
export class MetadataError extends Error {
  constructor(message) {
    super(message);
    this.name = "MetadataError";
  }
}

const OFFICE_EXT =
  /\.(docx?|docm|dotx?|xlsx?|xlsm|xltx?|pptx?|pptm|potx?|odt|ods|odp|odg|ott|rtf|pages|numbers|key|vsdx?)$/i;
const IMAGE_EXT = /\.(jpe?g|png|gif|webp|heic|heif|avif|tiff?|bmp|dng|cr2|nef|arw|raf|orf|svg)$/i;
const VIDEO_EXT = /\.(mp4|m4v|mov|3gp|avi|mkv|webm)$/i;
const OFFICE_TYPE =
  /^application\/(msword|rtf|vnd\.ms-|vnd\.openxmlformats-officedocument\.|vnd\.oasis\.opendocument\.|vnd\.apple\.|vnd\.visio)/i;

/**
 * Whether a file may carry location, device or author data: images, videos (phones record the
 * place), PDFs and office documents. By media type or, where browsers leave that empty, name.
 * @param {{ name?: string, type?: string }} file
 */
export function mayCarryMetadata(file) {
  const type = String(file?.type ?? "");
  const name = String(file?.name ?? "");
  return (
    /^(image|video)\//i.test(type) ||
    /^application\/pdf$/i.test(type) ||
    OFFICE_TYPE.test(type) ||
    /\.pdf$/i.test(name) ||
    OFFICE_EXT.test(name) ||
    IMAGE_EXT.test(name) ||
    VIDEO_EXT.test(name)
  );
}

function startsWith(bytes, magic) {
  return bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);
}

/**
 * `jpeg`, `png` or null, from a file's first bytes (never from its name or claimed type).
 * @param {Uint8Array} head at least the first 8 bytes
 */
export function sniff(head) {
  if (startsWith(head, JPEG_MAGIC)) return "jpeg";
  if (startsWith(head, PNG_MAGIC)) return "png";
  return null;
}

/**
 * @callback Read
 * @param {number} offset
 * @param {number} length
 * @returns {Promise<Uint8Array>} exactly `length` bytes, or fewer at the end of the file
 */

/** A `Read` over bytes in memory. */
export function bytesReader(bytes) {
  return async (offset, length) => bytes.subarray(offset, Math.min(bytes.length, offset + length));
}

/** A `Read` over a Blob that reads windows of `windowSize` bytes and serves from the last one. */
export function blobReader(blob, windowSize = 1 << 20) {
  let start = 0;
  let window = new Uint8Array(0);
  return async (offset, length) => {
    if (offset < start || offset + length > start + window.length) {
      const end = Math.min(blob.size, offset + Math.max(length, windowSize));
      start = offset;
      window = new Uint8Array(await blob.slice(offset, end).arrayBuffer());
    }
    return window.subarray(offset - start, Math.min(window.length, offset - start + length));
  };
}

async function need(read, offset, length, what) {
  const b = await read(offset, length);
  if (b.length < length) throw new MetadataError(`truncated ${what} at ${offset}`);
  return b;
}

/** Appends [start, end) to ranges, merging with the previous range where they touch. */
function keep(ranges, start, end) {
  if (end <= start) return;
  const last = ranges[ranges.length - 1];
  if (last && last[1] === start) last[1] = end;
  else ranges.push([start, end]);
}

/**
 * The byte ranges of a JPEG to keep.
 * @param {Read} read
 * @param {number} size
 * @returns {Promise<{ ranges: Array<[number, number]>, dropped: string[] }>}
 */
export async function jpegRanges(read, size) {
  const soi = await need(read, 0, 2, "JPEG start");
  if (soi[0] !== 0xff || soi[1] !== 0xd8) throw new MetadataError("not a JPEG");
  const ranges = [[0, 2]];
  const dropped = [];
  let pos = 2;
  while (pos < size) {
    const start = pos;
    // A marker: 0xFF, optional 0xFF fill bytes, then the marker code.
    if ((await need(read, pos, 1, "marker"))[0] !== 0xff) {
      throw new MetadataError(`expected a marker at ${pos}`);
    }
    let code = 0xff;
    while (code === 0xff) {
      pos += 1;
      code = (await need(read, pos, 1, "marker"))[0];
    }
    pos += 1;
    if (code === 0x00 || code === 0xd8) throw new MetadataError(`unexpected marker ${code} at ${start}`);
    if (code === 0xda || code === 0xd9) {
      // SOS (first scan) or EOI: everything from here on is kept as it is.
      keep(ranges, start, size);
      return { ranges, dropped };
    }
    if (code === 0x01 || (code >= 0xd0 && code <= 0xd7)) {
      keep(ranges, start, pos); // TEM, RSTn: no length
      continue;
    }
    const len = await need(read, pos, 2, "segment length");
    const length = (len[0] << 8) | len[1];
    if (length < 2) throw new MetadataError(`bad segment length at ${start}`);
    const end = pos + length;
    if (end > size) throw new MetadataError(`segment at ${start} runs past the end`);
    if (Object.hasOwn(JPEG_DROP, code)) dropped.push(JPEG_DROP[code]);
    else keep(ranges, start, end);
    pos = end;
  }
  throw new MetadataError("JPEG without image data");
}

/**
 * The byte ranges of a PNG to keep.
 * @param {Read} read
 * @param {number} size
 * @returns {Promise<{ ranges: Array<[number, number]>, dropped: string[] }>}
 */
export async function pngRanges(read, size) {
  if (!startsWith(await need(read, 0, 8, "PNG signature"), PNG_MAGIC)) throw new MetadataError("not a PNG");
  const ranges = [[0, 8]];
  const dropped = [];
  let pos = 8;
  let ended = false;
  while (pos < size && !ended) {
    const head = await need(read, pos, 8, "chunk header");
    const length = ((head[0] << 24) | (head[1] << 16) | (head[2] << 8) | head[3]) >>> 0;
    if (length > 0x7fffffff) throw new MetadataError(`bad chunk length at ${pos}`);
    const type = String.fromCharCode(head[4], head[5], head[6], head[7]);
    if (!/^[A-Za-z]{4}$/.test(type)) throw new MetadataError(`bad chunk type at ${pos}`);
    const end = pos + 12 + length;
    if (end > size) throw new MetadataError(`chunk ${type} at ${pos} runs past the end`);
    if (PNG_DROP.includes(type)) dropped.push(type);
    else keep(ranges, pos, end);
    ended = type === "IEND";
    pos = end;
  }
  if (!ended) throw new MetadataError("PNG without IEND");
  keep(ranges, pos, size); // bytes after IEND, kept as they are
  return { ranges, dropped };
}

/**
 * The ranges to keep of a JPEG or PNG, or null for any other file.
 * @param {Read} read
 * @param {number} size
 */
export async function keepRanges(read, size) {
  const kind = sniff(await read(0, 8));
  if (kind === "jpeg") return { kind, ...(await jpegRanges(read, size)) };
  if (kind === "png") return { kind, ...(await pngRanges(read, size)) };
  return null;
}

function join(bytes, ranges) {
  const out = new Uint8Array(ranges.reduce((n, [s, e]) => n + e - s, 0));
  let at = 0;
  for (const [s, e] of ranges) {
    out.set(bytes.subarray(s, e), at);
    at += e - s;
  }
  return out;
}

/**
 * A JPEG or PNG without its metadata; other bytes are returned as they are.
 * @param {Uint8Array} bytes
 * @returns {Promise<{ bytes: Uint8Array, kind: string | null, dropped: string[] }>}
 */
export async function stripBytes(bytes) {
  const plan = await keepRanges(bytesReader(bytes), bytes.length);
  if (!plan) return { bytes, kind: null, dropped: [] };
  return { bytes: join(bytes, plan.ranges), kind: plan.kind, dropped: plan.dropped };
}

/**
 * A File or Blob without its JPEG/PNG metadata, built from slices of the original (nothing is
 * copied into memory). Other files, and JPEG/PNG with nothing to drop, come back unchanged
 * (the same object). A damaged JPEG/PNG throws MetadataError.
 * @template {Blob} T
 * @param {T} blob
 * @returns {Promise<T | File | Blob>}
 */
export async function stripBlob(blob) {
  const plan = await keepRanges(blobReader(blob), blob.size);
  if (!plan || plan.dropped.length === 0) return blob;
  const parts = plan.ranges.map(([s, e]) => blob.slice(s, e));
  const type = blob.type;
  if (typeof File !== "undefined" && blob instanceof File) {
    return new File(parts, blob.name, { type, lastModified: blob.lastModified });
  }
  return new Blob(parts, { type });
}
