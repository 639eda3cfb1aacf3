// The sealed report: everything the browser posts to `data-sealed-action`
// (docs/browser-contract.md, "Intake"). Pure: plaintext and keys in, an ordered list of
// multipart entries out; no DOM. The receipt token is returned to the caller and kept nowhere.

import { generateX25519Identity, identityToRecipient } from "age-encryption";

import { AGE_TYPE, CipherError, encrypt, encryptBlob, parseRecipients } from "./cipher.js";
import { makeCaseKeyFile } from "./keys.js";
import { deriveReporterKeys, generateToken } from "./receipt.js";

/** The longest text field the server accepts, in characters (server/src/web/upload.rs). */
export const MAX_TEXT_CHARS = 20_000;

export const MODES = Object.freeze(["anonymous", "confidential"]);

/** The meetings a reporter may ask for (server/src/domain/meeting.rs `MeetingKind`). */
export const MEETINGS = Object.freeze(["", "in_person", "phone"]);

/** A report the browser refuses to send; `code` is a `speakup-text` key. */
export class IntakeError extends CipherError {
  constructor(message, code = "send_failed", field = undefined) {
    super(message, code);
    this.name = "IntakeError";
    this.field = field;
  }
}

/** As the server's text fields: CRLF becomes LF (server/src/web/upload.rs `text`). */
export function normalizeText(value) {
  return String(value ?? "").replace(/\r\n/g, "\n");
}

/**
 * An attachment's name as the server's `clean_file_name` makes it: the last path component,
 * trimmed, without control characters, at most 200 characters, never empty, `.` or `..`.
 * @param {string} raw
 */
export function cleanFileName(raw) {
  const base = String(raw ?? "").split(/[/\\]/).pop().trim();
  // eslint-disable-next-line no-control-regex
  const cleaned = Array.from(base.replace(/[\u0000-\u001f\u007f-\u009f]/g, "")).slice(0, 200).join("");
  return cleaned === "" || cleaned === "." || cleaned === ".." ? "attachment" : cleaned;
}

/** How many officers a reporter may leave out (server/src/domain/routing.rs `MAX_LEAVE_OUT`). */
export const MAX_LEAVE_OUT = 2;

/**
 * Parses `script#intake-keys`: `{"holders":[{"holder","recipient"}…],"escrow":"age1…"|null,
 * "routes":{"<category>":["officer:<id>"…]}}` (routes: the categories that go to a triage
 * group, with the holders of that group; absent or empty when none routes).
 * @param {string | object} json
 * @returns {{ holders: Array<{ holder: string, recipient: string }>, escrow: string | null,
 *   routes: Record<string, string[]> }}
 */
export function parseIntakeKeys(json) {
  let obj = json;
  if (typeof json === "string") {
    try {
      obj = JSON.parse(json);
    } catch {
      throw new IntakeError("intake keys are not JSON");
    }
  }
  if (!obj || typeof obj !== "object" || !Array.isArray(obj.holders)) {
    throw new IntakeError("intake keys have no holders");
  }
  const holders = obj.holders.map((h) => {
    if (!h || typeof h.holder !== "string" || h.holder === "" || h.holder === "escrow") {
      throw new IntakeError("an intake holder has no id");
    }
    const [recipient] = parseRecipients(h.recipient);
    return { holder: h.holder, recipient };
  });
  if (holders.length === 0) throw new IntakeError("no one can receive reports");
  const escrow = obj.escrow === null || obj.escrow === undefined || obj.escrow === ""
    ? null
    : parseRecipients(obj.escrow)[0];
  const routes = {};
  if (obj.routes && typeof obj.routes === "object") {
    for (const [category, list] of Object.entries(obj.routes)) {
      if (!Array.isArray(list) || list.some((h) => typeof h !== "string")) {
        throw new IntakeError("a route is not a list of holders");
      }
      routes[category] = list;
    }
  }
  return { holders, escrow, routes };
}

/**
 * Routing before sealing: the holders a report in `category` is sealed to (the category's
 * triage group when it routes, every holder otherwise), less the officers left out (account
 * ids). Throws an IntakeError whose code is a `speakup-text` key when more than
 * MAX_LEAVE_OUT are left out or nobody would remain.
 * @param {{ holders: Array<{ holder: string, recipient: string }>, routes: Record<string, string[]> }} keys
 * @param {string} category
 * @param {string[]} [leaveOut]
 */
export function routeHolders(keys, category, leaveOut = []) {
  const out = [...new Set(leaveOut.filter((id) => id !== ""))];
  if (out.length > MAX_LEAVE_OUT) {
    throw new IntakeError("too many left out", "routing_error_too_many", "leave_out");
  }
  const route = Object.hasOwn(keys.routes ?? {}, category) ? keys.routes[category] : null;
  const readers = keys.holders.filter((h) => route === null || route.includes(h.holder));
  const left = new Set(out.map((id) => `officer:${id}`));
  const holders = readers.filter((h) => !left.has(h.holder));
  if (holders.length === 0) {
    throw new IntakeError("nobody left to read the report", "routing_error_everyone", "leave_out");
  }
  return { holders, leaveOut: out };
}

/** The report JSON, as `ReportContent` in server/src/domain/content.rs (same key order). */
export function reportJson(r) {
  return JSON.stringify(
    {
      type: "report",
      version: 1,
      category: normalizeText(r.category),
      what: normalizeText(r.what),
      when_where: normalizeText(r.when_where),
      involved: normalizeText(r.involved),
    },
    null,
    2,
  );
}

/** The identity JSON, as `IdentityContent` in server/src/domain/content.rs. */
export function identityJson(r) {
  return JSON.stringify(
    { type: "identity", version: 1, name: normalizeText(r.name), contact: normalizeText(r.contact) },
    null,
    2,
  );
}

const chars = (s) => Array.from(s).length;

/**
 * The checks the server makes again; they only spare the reporter a round trip.
 * @returns {Array<{ field: string, code: string }>} empty when the report can be sent
 */
export function checkReport(r) {
  const problems = [];
  if (String(r.category ?? "").trim() === "") problems.push({ field: "category", code: "category_required" });
  if (normalizeText(r.what).trim() === "") problems.push({ field: "what", code: "what_required" });
  if (!MODES.includes(r.mode)) problems.push({ field: "mode", code: "mode_invalid" });
  if (r.mode === "confidential" && normalizeText(r.name).trim() === "") {
    problems.push({ field: "name", code: "identity_required" });
  }
  const meeting = String(r.meeting ?? "");
  if (!MEETINGS.includes(meeting)) problems.push({ field: "meeting", code: "meeting_invalid" });
  if (meeting === "" && normalizeText(r.availability).trim() !== "") {
    problems.push({ field: "meeting", code: "meeting_required" });
  }
  for (const field of ["what", "when_where", "involved", "name", "contact", "availability"]) {
    if (chars(normalizeText(r[field])) > MAX_TEXT_CHARS) problems.push({ field, code: "too_long" });
  }
  for (const file of r.files ?? []) {
    if (file.size === 0) problems.push({ field: "attachments", code: "empty_file" });
  }
  return problems;
}

/**
 * @typedef {object} Entry one multipart field, in the order it must be appended
 * @property {string} name
 * @property {string | Blob} value text, or an age file (`application/octet-stream`)
 * @property {string} [filename] for Blobs: `<name>.age`, never a plaintext name
 */

const ageEntry = (name, data) => ({
  name,
  value: data instanceof Blob ? data : new Blob([data], { type: AGE_TYPE }),
  filename: `${name}.age`,
});

/**
 * Builds the sealed report.
 *
 * @param {object} report
 * @param {string} report.csrf
 * @param {string} report.category
 * @param {string} report.mode `anonymous` or `confidential`
 * @param {string} report.what
 * @param {string} [report.when_where]
 * @param {string} [report.involved]
 * @param {string} [report.name]
 * @param {string} [report.contact]
 * @param {Iterable<File>} [report.files] already stripped of metadata where wanted
 * @param {string[]} [report.leaveOut] officers (account ids) the reporter leaves out
 * @param {string | object} keys `script#intake-keys` (see parseIntakeKeys)
 * @param {object} [options]
 * @param {string} [options.token] a canonical token (tests); by default a new one
 * @param {string} [options.caseIdentity] a case identity (tests); by default a new one
 * @param {(step: { stage: string, index?: number, count?: number }) => void} [options.progress]
 * @returns {Promise<{ token: string, lookup: string, caseRecipient: string,
 *   reporterRecipient: string, entries: Entry[] }>}
 */
export async function sealReport(report, keys, options = {}) {
  const progress = options.progress ?? (() => {});
  const problems = checkReport(report);
  if (problems.length > 0) {
    throw new IntakeError(`report not complete: ${problems.map((p) => p.field).join(", ")}`, problems[0].code, problems[0].field);
  }
  const parsed = parseIntakeKeys(keys);
  const { escrow } = parsed;
  const { holders, leaveOut } = routeHolders(parsed, String(report.category), report.leaveOut ?? []);
  const files = Array.from(report.files ?? []);

  progress({ stage: "keys" });
  const token = options.token ?? generateToken();
  const reporter = await deriveReporterKeys(token);
  const caseIdentity = options.caseIdentity ?? (await generateX25519Identity());
  const caseRecipient = await identityToRecipient(caseIdentity);
  const both = [caseRecipient, reporter.recipient];

  progress({ stage: "report" });
  const entries = [
    { name: "csrf", value: String(report.csrf ?? "") },
    { name: "category", value: String(report.category) },
    { name: "mode", value: String(report.mode) },
    { name: "lookup", value: reporter.lookup },
    { name: "case_recipient", value: caseRecipient },
    { name: "reporter_recipient", value: reporter.recipient },
  ];
  // A meeting asked for: its kind is case metadata, sent in clear like the category.
  if (report.meeting) entries.push({ name: "meeting", value: String(report.meeting) });
  if (leaveOut.length > 0) entries.push({ name: "leave_out", value: leaveOut.join(" ") });
  entries.push(ageEntry("report", await encrypt(both, reportJson(report))));
  if (report.mode === "confidential") entries.push(ageEntry("identity", await encrypt(both, identityJson(report))));
  // What the reporter wrote about the meeting they ask for: a message of its own, sealed to
  // the case and the reporter like a reply (server: `app::meetings::at_intake`).
  const availability = normalizeText(report.availability).trim();
  if (report.meeting && availability !== "") entries.push(ageEntry("message", await encrypt(both, availability)));

  const keyFile = makeCaseKeyFile(caseIdentity);
  const sealedTo = [...holders];
  if (escrow) sealedTo.push({ holder: "escrow", recipient: escrow });
  for (const { holder, recipient } of sealedTo) {
    entries.push({ name: "holder", value: holder });
    entries.push(ageEntry("envelope", await encrypt(recipient, keyFile)));
  }

  // Attachments are encrypted as streams: `encryptBlob` feeds `file.stream()` through typage's
  // STREAM encrypter (64 KiB chunks) and collects the ciphertext with `Response.blob()`, so a
  // 200 MiB file is never held whole in script memory; the result is a Blob, which browsers
  // keep in their blob storage (Chromium and Firefox may page large blobs out to disk; private
  // windows keep them in memory, outside the page's script heap). The request
  // body is then an ordinary FormData of Blobs. A streaming request body (`fetch` with a
  // ReadableStream and `duplex: "half"`) is not used: Chromium allows it only over HTTP/2 or
  // HTTP/3, Firefox and Safari not at all, and it would mean writing the multipart encoding by
  // hand, so it cannot be the one path that must always work.
  for (const [index, file] of files.entries()) {
    progress({ stage: "attachment", index, count: files.length });
    entries.push(ageEntry("attachment", await encryptBlob(both, file)));
    entries.push(ageEntry("attachment_name", await encrypt(both, cleanFileName(file.name))));
  }
  progress({ stage: "done" });
  return {
    token,
    lookup: reporter.lookup,
    caseRecipient,
    reporterRecipient: reporter.recipient,
    entries,
  };
}

/**
 * The entries as a FormData, in order.
 * @param {Entry[]} entries
 * @param {FormData} [formData]
 */
export function toFormData(entries, formData = new FormData()) {
  for (const e of entries) {
    if (e.value instanceof Blob) formData.append(e.name, e.value, e.filename);
    else formData.append(e.name, e.value);
  }
  return formData;
}
