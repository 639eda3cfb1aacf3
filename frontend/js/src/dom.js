// The DOM plumbing both entry points share (officer.js, reporter.js): element lookup, the
// page's `speakup-text` strings, status lines, busy forms, filling `[data-age]` elements (or
// `[data-age-src]` ones, whose ciphertext is fetched from the item's own route) with their
// plaintext, posting `data-encrypt` forms and saving decrypted downloads
// (docs/browser-contract.md). Decrypted text is only ever placed with textContent.

import { CipherError, decrypt, decryptBase64Text, decryptResponse } from "./cipher.js";
import { appendParts, safeFileName } from "./forms.js";

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

/* ---------- the page's strings ---------- */

/** `speakup-text`, read by `loadText()` once the document is parsed. */
export let text = {};

/** Reads `script#speakup-text` (a JSON object) into `text`; anything else gives `{}`. */
export function loadText(doc = document) {
  try {
    const el = doc.getElementById("speakup-text");
    const obj = el ? JSON.parse(el.textContent) : {};
    text = obj && typeof obj === "object" ? obj : {};
  } catch {
    text = {};
  }
  return text;
}

/**
 * A localized string by key, or by the first of a list of `keys` that `speakup-text` has (the
 * key itself, or the list's last one, is used as is when none is there), with an optional
 * detail (such as an HTTP status) appended.
 * @param {string | string[]} keys
 * @param {string | number} [detail]
 */
export function t(keys, detail) {
  const list = Array.isArray(keys) ? keys : [keys];
  const key = list.find((k) => typeof text[k] === "string");
  const s = key === undefined ? list[list.length - 1] : text[key];
  return detail === undefined ? s : `${s} (${detail})`;
}

/* ---------- status lines ---------- */

/** The function that puts a message into the element `#id`, where the page has one. */
export function statusLine(id) {
  return (message) => {
    const el = document.getElementById(id);
    if (el) el.textContent = message;
  };
}

/**
 * The function that reports on a form: in its own element matching `regions`, else in
 * `#fallbackId`, else in a new `[role=alert]` paragraph at the form's end.
 */
export function formReporter(regions, fallbackId) {
  return (form, message) => {
    let el = $(regions, form) ?? document.getElementById(fallbackId);
    if (!el) {
      el = document.createElement("p");
      el.setAttribute("role", "alert");
      form.append(el);
    }
    el.textContent = message;
  };
}

/**
 * Marks a form busy (`data-busy`, and `aria-busy` with `{ aria: true }`) and disables its
 * enabled buttons; returns the function that undoes both.
 */
export function busy(form, { aria = false } = {}) {
  const buttons = $$("button, input[type=submit]", form).filter((b) => !b.disabled);
  form.dataset.busy = "1";
  if (aria) form.setAttribute("aria-busy", "true");
  buttons.forEach((b) => (b.disabled = true));
  return () => {
    delete form.dataset.busy;
    if (aria) form.removeAttribute("aria-busy");
    buttons.forEach((b) => (b.disabled = false));
  };
}

/* ---------- decrypting the page ---------- */

/** Fills the `[data-field]` children of `el` from a JSON object whose `type` is `format`. */
export function fillFields(el, format, plaintext) {
  const obj = JSON.parse(plaintext);
  if (!obj || typeof obj !== "object" || obj.type !== format) {
    throw new Error(`expected a ${format} object`);
  }
  for (const field of $$("[data-field]", el)) {
    const name = field.dataset.field;
    if (!Object.hasOwn(obj, name)) continue;
    const v = obj[name];
    field.textContent = v === null || v === undefined ? "" : Array.isArray(v) ? v.join(", ") : String(v);
  }
}

/* ---------- fetching item ciphertext ---------- */

/** How often a fetch refused with 429 is tried again, and the longest wait between tries. */
export const FETCH_TRIES = 5;
const MAX_WAIT_MS = 30_000;

/** Waits `ms` milliseconds (replaced in tests). */
export let sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
export function setSleep(fn) {
  sleep = fn;
}

/**
 * Fetches one item's age file from its own route (`data-age-src`), as bytes. A 429 (the
 * reporter's read budget) is waited out as `Retry-After` says and tried again, a few times;
 * any other error status fails.
 * @param {string} src
 * @returns {Promise<Uint8Array>}
 */
export async function fetchAge(src) {
  for (let attempt = 1; ; attempt++) {
    const res = await fetch(src, { credentials: "same-origin", cache: "no-store" });
    if (res.ok) return new Uint8Array(await res.arrayBuffer());
    if (res.status !== 429 || attempt >= FETCH_TRIES) {
      throw Object.assign(new CipherError(`HTTP ${res.status}`), { status: res.status });
    }
    const seconds = Number.parseInt(res.headers.get("retry-after") ?? "", 10);
    await sleep(Math.min(MAX_WAIT_MS, (Number.isFinite(seconds) && seconds > 0 ? seconds : 1) * 1000));
  }
}

/** An element's age file as text: inline in `data-age` (base64) or fetched from `data-age-src`. */
async function elementText(el, identities) {
  if (el.dataset.age) return decryptBase64Text(identities, el.dataset.age);
  const bytes = await decrypt(identities, await fetchAge(el.dataset.ageSrc ?? ""));
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new CipherError("decrypted content is not UTF-8 text");
  }
}

/**
 * Decrypts one `[data-age][data-format]` or `[data-age-src][data-format]` element in place
 * and marks it `data-decrypted` `ok` or `failed` (a failed `text` element says
 * `decrypt_failed`).
 * @param {Element} el
 * @param {string | CryptoKey | Array<string | CryptoKey>} identities one identity or several
 * @returns {Promise<boolean>} whether it opened
 */
export async function decryptElement(el, identities) {
  const format = el.dataset.format;
  try {
    const plaintext = await elementText(el, identities);
    if (format === "text") el.textContent = plaintext;
    else if (format === "report" || format === "identity") fillFields(el, format, plaintext);
    else throw new Error(`unknown data-format ${format}`);
    el.dataset.decrypted = "ok";
    return true;
  } catch (err) {
    console.error("speakup: decrypt failed", err);
    el.dataset.decrypted = "failed";
    if (format === "text") el.textContent = t("decrypt_failed");
    return false;
  }
}

/** The page's elements to decrypt: inline ones, and those whose item route is given. */
export function sealedElements(root = document) {
  return $$("[data-format]", root).filter((el) => el.dataset.age || el.dataset.ageSrc);
}

/** How many items are fetched and decrypted at once. */
export const PARALLEL = 4;

/**
 * Decrypts `elements` a few at a time (so a long page does not fire every fetch at once),
 * in page order; resolves to each one's result.
 * @param {Element[]} elements
 * @param {string | CryptoKey | Array<string | CryptoKey>} identities
 * @returns {Promise<boolean[]>}
 */
export async function decryptAll(elements, identities) {
  const results = new Array(elements.length);
  let next = 0;
  const worker = async () => {
    while (next < elements.length) {
      const i = next++;
      results[i] = await decryptElement(elements[i], identities);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, elements.length) }, worker));
  return results;
}

/* ---------- downloads ---------- */

/** Offers a Blob to the user as a download named `name`. */
export function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/**
 * Wires every `button.decrypt-download[data-src]`: a click fetches the age file from `data-src`,
 * decrypts it while it downloads and saves it under the name decrypted from `data-name-age`
 * (inline) or fetched from `data-name-src` (else `attachment`).
 * @param {() => unknown} identities the identity or identities to decrypt with, read at each
 *   click; a falsy answer stops the click (the caller has said why)
 * @param {(button: Element, message: string) => void} status shows progress and errors
 */
export function setupDownloads(identities, status) {
  for (const button of $$("button.decrypt-download[data-src]")) {
    button.addEventListener("click", async (ev) => {
      ev.preventDefault();
      const ids = identities();
      if (!ids) return;
      button.disabled = true;
      status(button, t("downloading"));
      try {
        let name = "attachment";
        if (button.dataset.nameAge) {
          name = safeFileName(await decryptBase64Text(ids, button.dataset.nameAge));
        } else if (button.dataset.nameSrc) {
          const bytes = await decrypt(ids, await fetchAge(button.dataset.nameSrc));
          name = safeFileName(new TextDecoder().decode(bytes));
        }
        const res = await fetch(button.dataset.src, { credentials: "same-origin" });
        if (!res.ok) throw Object.assign(new Error(`HTTP ${res.status}`), { status: res.status });
        saveBlob(await decryptResponse(ids, res), name);
        status(button, "");
      } catch (err) {
        console.error("speakup: download failed", err);
        status(button, t("decrypt_failed", err.status));
      } finally {
        button.disabled = false;
      }
    });
  }
}

/* ---------- forms carrying ciphertext ---------- */

/** Plaintext controls must never have a name: refuse to send a form where one does. */
export function plaintextLeaks(form) {
  return $$("[data-plaintext], [data-plaintext-files]", form).some((el) => el.hasAttribute("name"));
}

/**
 * Posts a `data-encrypt` form: its named controls (with the submitter's), the ciphertext `parts`
 * in place of any control of the same name. On success the browser goes to the page the server
 * answered with; on an error status `report` says `send_failed` with it and the page stays.
 * @param {HTMLFormElement} form
 * @param {HTMLElement | null | undefined} submitter
 * @param {import("./forms.js").Part[]} parts
 * @param {(form: HTMLFormElement, message: string) => void} report
 */
export async function postParts(form, submitter, parts, report) {
  let data;
  try {
    data = new FormData(form, submitter ?? undefined);
  } catch {
    data = new FormData(form);
  }
  for (const p of parts) data.delete(p.name);
  appendParts(data, parts);
  const res = await fetch(form.action, {
    method: "POST",
    body: data,
    redirect: "follow",
    credentials: "same-origin",
  });
  if (!res.ok) {
    report(form, t("send_failed", res.status));
    return;
  }
  location.assign(res.url);
}

/* ---------- start ---------- */

/** Runs `main` once the document is parsed; a failure is logged and `failed` says so. */
export function whenParsed(main, failed) {
  const start = () => {
    main().catch((err) => {
      console.error("speakup: start failed", err);
      failed();
    });
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
}
