// The case file (docs/officer-guide.md, "The case file"): the JSON the server answers on
// `GET /officer/cases/{reference}/case-file` (ciphertext and metadata only), decrypted here
// and packed as a ZIP with a printable `index.html` (inline print CSS, no script, no external
// resource). Pure apart from the two functions passed in: no DOM, no fetch of its own.

import { strToU8, zipSync } from "fflate";

/** HTML-escapes text for the summary (everything decrypted is text, never markup). */
export function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A file name safe inside the ZIP: no folders, no control characters, never empty. */
export function zipName(raw) {
  // eslint-disable-next-line no-control-regex
  const base = String(raw ?? "").replace(/[/\\\u0000-\u001f\u007f]/g, "_").trim().slice(0, 120);
  return base === "" || base === "." || base === ".." ? "attachment" : base;
}

const pad = (n) => String(n).padStart(2, "0");

const PRINT_CSS = `body{font:11pt/1.45 system-ui,sans-serif;color:#111;max-width:48rem;margin:2rem auto;padding:0 1rem}
h1{font-size:1.5rem}h2{font-size:1.15rem;border-bottom:1px solid #999;margin-top:2rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dt{font-weight:600}dd{margin:0}
.text{white-space:pre-wrap}table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border:1px solid #bbb;padding:.25rem .4rem;text-align:left;vertical-align:top}
article{border-left:3px solid #ccc;padding-left:.75rem;margin:1rem 0}.meta{color:#444;font-size:.9rem}
@media print{body{margin:0;max-width:none}h2{break-after:avoid}article,tr{break-inside:avoid}}`;

/**
 * Decrypts the case file and packs it.
 * @param {object} data the server's JSON
 * @param {(b64: string) => Promise<string>} openText decrypts a base64 age file to text
 * @param {(url: string) => Promise<Uint8Array>} fetchFile fetches and decrypts an attachment
 * @returns {Promise<{ zip: Uint8Array, name: string, entries: string[] }>}
 */
export async function buildCaseFile(data, openText, fetchFile) {
  const L = data.labels ?? {};
  const text = async (b64) => {
    if (!b64) return null;
    try {
      return await openText(b64);
    } catch {
      return null;
    }
  };
  const files = {};
  const items = [];
  for (const item of data.items ?? []) {
    items.push({ ...item, plain: await text(item.age) });
  }

  const report = items.find((i) => i.kind === "report");
  let reportFields = null;
  if (report?.plain) {
    files["report.json"] = strToU8(report.plain);
    try {
      reportFields = JSON.parse(report.plain);
    } catch {
      reportFields = null;
    }
  }
  const identity = items.find((i) => i.kind === "identity");
  let identityFields = null;
  if (identity?.plain) {
    files["identity.json"] = strToU8(identity.plain);
    try {
      identityFields = JSON.parse(identity.plain);
    } catch {
      identityFields = null;
    }
  }

  // Attachments: decrypted content under files/, numbered so equal names never collide.
  let n = 0;
  for (const a of items.filter((i) => i.kind === "attachment")) {
    n += 1;
    a.zipPath = `files/${pad(n)}-${zipName(a.plain ?? "attachment")}`;
    try {
      files[a.zipPath] = await fetchFile(a.download);
    } catch {
      a.zipPath = null;
    }
  }

  let m = 0;
  for (const i of items.filter((x) => x.kind === "message" || x.kind === "note")) {
    m += 1;
    const folder = i.kind === "message" ? "thread" : "notes";
    i.zipPath = `${folder}/${pad(m)}-${i.day}.txt`;
    files[i.zipPath] = strToU8(`${i.author} – ${i.day}\n\n${i.plain ?? L.unreadable ?? ""}\n`);
  }

  const events = [];
  for (const e of data.events ?? []) events.push({ ...e, reason: await text(e.reason_age) });
  files["case.json"] = strToU8(
    JSON.stringify(
      {
        reference: data.reference,
        category: data.category,
        mode: data.mode,
        channel: data.channel,
        status: data.status,
        received: data.received,
        status_history: events.map(({ reason_age, ...rest }) => rest),
      },
      null,
      2,
    ),
  );
  files["audit.json"] = strToU8(JSON.stringify(data.audit ?? [], null, 2));
  files["index.html"] = strToU8(summary(data, L, { reportFields, identityFields, items, events }));
  const zip = zipSync(files, { level: 6, mtime: new Date("2000-01-01T00:00:00Z") });
  return { zip, name: `case-file-${zipName(data.reference)}.zip`, entries: Object.keys(files) };
}

/** The printable summary: one self-contained HTML page. */
function summary(data, L, { reportFields, identityFields, items, events }) {
  const row = (label, value) => `<dt>${esc(label)}</dt><dd>${esc(value)}</dd>`;
  const para = (label, value) => `<dt>${esc(label)}</dt><dd class="text">${esc(value)}</dd>`;
  const unreadable = `<p><em>${esc(L.unreadable)}</em></p>`;
  const attachmentsOf = (id) =>
    items.filter((a) => a.kind === "attachment" && a.parent === id).map((a) => `<li>${esc(a.plain ?? L.unreadable)}${a.zipPath ? ` (<code>${esc(a.zipPath)}</code>)` : ""}</li>`);
  const parts = [];
  parts.push(`<!DOCTYPE html><html lang="${esc(data.lang)}"><head><meta charset="utf-8"><title>${esc(L.title)} ${esc(data.reference)}</title><style>${PRINT_CSS}</style></head><body>`);
  parts.push(`<h1>${esc(L.title)} ${esc(data.reference)}</h1><dl>`);
  parts.push(row(L.reference, data.reference), row(L.category, data.category), row(L.mode, data.mode));
  parts.push(row(L.channel, data.channel), row(L.status, data.status), row(L.received, data.received));
  parts.push(row(L.generated, data.generated), "</dl>");

  parts.push(`<h2>${esc(L.report)}</h2>`);
  const report = items.find((i) => i.kind === "report");
  if (reportFields) {
    parts.push(`<dl id="report">`, para(L.what, reportFields.what), para(L.when_where, reportFields.when_where));
    parts.push(para(L.involved, reportFields.involved), "</dl>");
  } else parts.push(unreadable);
  if (report) {
    const files = attachmentsOf(report.id);
    if (files.length > 0) parts.push(`<ul>${files.join("")}</ul>`);
  }

  if (identityFields) {
    parts.push(`<h2>${esc(L.identity)}</h2><dl id="identity">`, row(L.name, identityFields.name), row(L.contact, identityFields.contact), "</dl>");
  }

  const entry = (i) => {
    const files = attachmentsOf(i.id);
    return `<article><p class="meta">${esc(i.author)} – ${esc(i.day)}</p>${i.plain === null ? unreadable : `<p class="text">${esc(i.plain)}</p>`}${files.length ? `<ul>${files.join("")}</ul>` : ""}</article>`;
  };
  parts.push(`<h2>${esc(L.thread)}</h2><div id="thread">`);
  for (const i of items.filter((x) => x.kind === "message")) parts.push(entry(i));
  parts.push(`</div><h2>${esc(L.notes)}</h2><div id="notes">`);
  for (const i of items.filter((x) => x.kind === "note")) parts.push(entry(i));
  parts.push("</div>");

  parts.push(`<h2>${esc(L.files)}</h2><ul id="files">`);
  for (const a of items.filter((x) => x.kind === "attachment")) {
    const from = a.from_reporter ? L.reporter : a.author;
    parts.push(`<li>${esc(a.plain ?? L.unreadable)} – ${esc(from)}, ${esc(a.day)}${a.zipPath ? ` (<code>${esc(a.zipPath)}</code>)` : ""}</li>`);
  }
  parts.push("</ul>");

  parts.push(`<h2>${esc(L.history)}</h2><table id="history"><thead><tr><th>${esc(L.at)}</th><th>${esc(L.by)}</th><th>${esc(L.status)}</th><th>${esc(L.reason)}</th></tr></thead><tbody>`);
  for (const e of events) {
    const status = e.outcome ? `${e.status} (${e.outcome})` : e.status;
    const reason = e.reason_age ? (e.reason ?? L.unreadable) : "";
    parts.push(`<tr><td>${esc(e.at)}</td><td>${esc(e.actor)}</td><td>${esc(status)}</td><td class="text">${esc(reason)}</td></tr>`);
  }
  parts.push("</tbody></table>");

  parts.push(`<h2>${esc(L.audit)}</h2><table id="audit"><thead><tr><th>#</th><th>${esc(L.at)}</th><th>${esc(L.by)}</th><th>${esc(L.action)}</th><th>${esc(L.detail)}</th></tr></thead><tbody>`);
  for (const r of data.audit ?? []) {
    parts.push(`<tr><td>${esc(r.seq)}</td><td>${esc(r.at)}</td><td>${esc(r.actor)}</td><td>${esc(r.action)}</td><td>${esc(r.detail)}</td></tr>`);
  }
  parts.push("</tbody></table></body></html>");
  return parts.join("\n");
}
