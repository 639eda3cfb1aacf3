/*! Speak Up reporter pages: in-browser age encryption (docs/browser-contract.md).
 * Bundles age-encryption (typage), Copyright 2023 The age Authors, BSD-3-Clause;
 * @noble/ciphers, @noble/curves, @noble/hashes, @noble/post-quantum and @scure/base,
 * Copyright (c) 2022-2024 Paul Miller, MIT. @license BSD-3-Clause AND MIT */

// Thin DOM glue for /report, /follow-up and /mailbox: finds the contract's elements and wires
// them to the pure modules. Every page works without this script (the server then encrypts on
// arrival); where the browser lacks what sealing needs, forms are left to post as they are.
// Decrypted text is only ever placed with textContent.

import {
  $,
  $$,
  busy,
  decryptAll,
  formReporter,
  loadText,
  plaintextLeaks,
  postParts,
  sealedElements,
  setupDownloads,
  statusLine,
  t,
  text,
  whenParsed,
} from "./dom.js";
import { buildParts } from "./forms.js";
import { IntakeError, checkReport, cleanFileName, sealReport, toFormData } from "./intake.js";
import { MetadataError, mayCarryMetadata, stripBlob } from "./metadata.js";
import { groupToken, isToken } from "./receipt.js";
import { forgetIdentity, loadIdentity, prepareFollowUp, sessionStore } from "./session.js";

/** What sealing in the browser needs; without it the no-JS paths stay in charge. */
function canSeal() {
  return (
    typeof crypto !== "undefined" &&
    typeof crypto.subtle?.importKey === "function" &&
    typeof crypto.getRandomValues === "function" &&
    typeof fetch === "function" &&
    typeof FormData === "function" &&
    typeof Blob === "function" &&
    typeof ReadableStream === "function" &&
    typeof Response === "function" &&
    typeof DOMParser === "function" &&
    typeof TextEncoder === "function"
  );
}

/** `#send-status`: the reporter pages' progress and errors. */
const setSendStatus = statusLine("send-status");

/**
 * The place a form reports to: its own `[role=alert]`/`[role=status]`, else `#send-status`,
 * else a new alert.
 */
const formReport = formReporter("[role=alert], [role=status]", "send-status");

/** `#browser-protection`: only where this script really does encrypt. */
function revealProtection() {
  const el = document.getElementById("browser-protection");
  if (el) el.hidden = false;
}

/* ---------- attachments: metadata ---------- */

const strippable = (f) => /^image\/(jpeg|pjpeg|png)$/i.test(f.type) || /\.(jpe?g|jfif|png)$/i.test(f.name);

/**
 * `#metadata-warning`: shown while a chosen file may carry metadata. The `#strip-metadata`
 * choice is shown while a JPEG or PNG is chosen, and only where this script encrypts the
 * files (`stripping`); elsewhere it would do nothing.
 */
function setupMetadataWarning(input, stripping) {
  const warning = document.getElementById("metadata-warning");
  const strip = document.getElementById("strip-metadata");
  const stripWrap = strip ? strip.closest("label") ?? strip.parentElement : null;
  let announced = false;
  const update = () => {
    const files = Array.from(input.files ?? []);
    const risky = files.some(mayCarryMetadata);
    if (warning) warning.hidden = !risky;
    if (strip) strip.disabled = !stripping;
    const showStrip = stripping && files.some(strippable);
    if (stripWrap && stripWrap !== warning) stripWrap.hidden = !showStrip;
    else if (strip) strip.hidden = !showStrip;
    // Un-hiding is not announced by screen readers; the status region is.
    if (risky && !announced && text.metadata_warning) setSendStatus(text.metadata_warning);
    else if (!risky && announced) setSendStatus("");
    announced = risky && Boolean(text.metadata_warning);
  };
  input.addEventListener("change", update);
  update();
}

/**
 * The files to encrypt: JPEG/PNG without metadata when `#strip-metadata` is checked (a damaged
 * image is kept as it is), names cleaned as the server would.
 * @param {File[]} files
 */
async function prepareFiles(files) {
  const strip = document.getElementById("strip-metadata");
  const wanted = strip ? strip.checked && !strip.disabled : false;
  const out = [];
  for (const file of files) {
    let f = file;
    if (wanted) {
      try {
        f = await stripBlob(file);
      } catch (err) {
        if (!(err instanceof MetadataError)) throw err;
        console.warn("speakup: metadata kept, image not understood", err.message);
      }
    }
    const name = cleanFileName(file.name);
    out.push(f instanceof File && f.name === name ? f : new File([f], name, { type: file.type }));
  }
  return out;
}

/* ---------- intake ---------- */

function showPage(doc) {
  document.title = doc.title;
  const body = document.adoptNode(doc.body);
  document.body.replaceWith(body);
  window.scrollTo(0, 0);
  const main = $("#main", body) ?? $("h1", body);
  if (main) {
    if (!main.hasAttribute("tabindex")) main.setAttribute("tabindex", "-1");
    main.focus();
  }
}

/** Puts the grouped token into the receipt page; a page without a place for it gets one. */
function placeToken(doc, token) {
  let el = $("#receipt[data-sealed]", doc) ?? $("#receipt", doc);
  if (!el) {
    el = doc.createElement("code");
    el.id = "receipt";
    const p = doc.createElement("p");
    p.append(el);
    ($("main", doc) ?? doc.body).prepend(p);
  }
  el.textContent = groupToken(token);
}

function reportInput(form) {
  const value = (name) => {
    const el = form.elements.namedItem(name);
    return el && "value" in el ? String(el.value ?? "") : "";
  };
  const fileInput = form.elements.namedItem("attachments") ?? $("#attachments", form);
  return {
    csrf: value("csrf"),
    category: value("category"),
    mode: value("mode") || "anonymous",
    what: value("what"),
    when_where: value("when_where"),
    involved: value("involved"),
    name: value("name"),
    contact: value("contact"),
    meeting: value("meeting"),
    availability: value("availability"),
    files: Array.from(fileInput?.files ?? []),
    leaveOut: $$('input[name="leave_out"]:checked', form).map((el) => el.value),
  };
}

/**
 * Routing before sealing: only the officers who read the chosen category are offered to be
 * left out; the others are hidden and unticked (the server would ignore them anyway).
 */
function setupLeaveOut(form) {
  const category = form.elements.namedItem("category");
  const choices = $$("#leave-out [data-officer]", form);
  if (!category || choices.length === 0) return;
  const sync = () => {
    let routes = {};
    try {
      routes = JSON.parse(intakeKeys()).routes ?? {};
    } catch {
      return;
    }
    const route = Object.hasOwn(routes, category.value) ? routes[category.value] : null;
    for (const el of choices) {
      const shown = route === null || route.includes(`officer:${el.dataset.officer}`);
      el.hidden = !shown;
      const box = $("input", el);
      if (!shown && box) box.checked = false;
    }
  };
  category.addEventListener("change", sync);
  sync();
}

function intakeKeys() {
  const el = $('script#intake-keys[type="application/json"]');
  return el ? el.textContent : "";
}

function markInvalid(form, field) {
  const el = form.elements.namedItem(field);
  const control = el && "focus" in el ? el : $(`[name="${field}"]`, form);
  if (control) {
    control.setAttribute("aria-invalid", "true");
    control.focus();
  }
}

function setupIntake() {
  const form = document.getElementById("report-form");
  if (!form) return;
  const action = form.dataset.sealedAction;
  const sealing = Boolean(action) && canSeal();
  const fileInput = form.elements.namedItem("attachments") ?? $("#attachments", form);
  if (fileInput) setupMetadataWarning(fileInput, sealing);

  // A confidential report needs a name: let the browser say so before anything is sent.
  const nameInput = form.elements.namedItem("name");
  const syncName = () => {
    if (nameInput && "required" in nameInput) nameInput.required = form.elements.namedItem("mode")?.value === "confidential";
  };
  for (const radio of $$('input[name="mode"]', form)) radio.addEventListener("change", syncName);
  syncName();

  setupLeaveOut(form);
  if (!sealing) return;
  revealProtection();

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (form.dataset.busy) return;
    const input = reportInput(form);
    const problems = checkReport(input);
    if (problems.length > 0) {
      const [p] = problems;
      setSendStatus(t([p.code, "send_failed"]));
      markInvalid(form, p.field);
      return;
    }
    const done = busy(form, { aria: true });
    // The token exists only in this closure until it is placed into the receipt page.
    let sealed = null;
    try {
      setSendStatus(t("sealing"));
      input.files = await prepareFiles(input.files);
      sealed = await sealReport(input, intakeKeys(), {
        progress: ({ stage, index, count }) => {
          if (stage === "attachment") setSendStatus(t("sealing", `${index + 1}/${count}`));
        },
      });
      const body = toFormData(sealed.entries);
      sealed.entries = null;
      setSendStatus(t("sending"));
      const res = await fetch(action, {
        method: "POST",
        body,
        credentials: "same-origin",
        redirect: "follow",
        cache: "no-store",
      });
      const doc = new DOMParser().parseFromString(await res.text(), "text/html");
      // The report is filed only with a 200; otherwise the server's page says why.
      if (res.ok) placeToken(doc, sealed.token);
      showPage(doc);
    } catch (err) {
      // A report the reporter can fix (a leave-out refused, say) is no script error.
      if (!(err instanceof IntakeError)) console.error("speakup: sealed report failed", err);
      const code = err instanceof IntakeError ? [err.code, "send_failed"] : "send_failed";
      setSendStatus(t(code));
      done();
    } finally {
      sealed = null;
    }
  });
}

/* ---------- follow-up ---------- */

function setupFollowUp() {
  const form = document.getElementById("follow-up-form");
  if (!form) return;
  const storage = sessionStore();
  // A new receipt is about to be typed: an identity left from before is not needed.
  forgetIdentity(storage);
  if (!storage || !canSeal()) return;
  const receipt = $('input[name="receipt"]', form);
  if (!receipt) return;
  revealProtection();
  let lookupInput = null;

  // Coming back (history / bfcache): the form is as it was before the script changed it.
  window.addEventListener("pageshow", () => {
    receipt.disabled = false;
    lookupInput?.remove();
    lookupInput = null;
    delete form.dataset.busy;
  });

  form.addEventListener("submit", async (ev) => {
    if (form.dataset.busy === "sent") return;
    // Not a token: the form goes as it is, and the server shows its own error.
    if (!isToken(receipt.value)) return;
    ev.preventDefault();
    if (form.dataset.busy) return;
    form.dataset.busy = "1";
    let lookup = null;
    try {
      lookup = await prepareFollowUp(receipt.value, storage);
    } catch (err) {
      console.error("speakup: receipt derivation failed", err);
    }
    if (lookup) {
      receipt.value = "";
      receipt.disabled = true; // a disabled control is not sent
      lookupInput = document.createElement("input");
      lookupInput.type = "hidden";
      lookupInput.name = "lookup";
      lookupInput.value = lookup;
      form.append(lookupInput);
    }
    // Without a lookup (the identity could not be kept) the receipt goes to the server, which
    // then opens the mailbox itself.
    form.dataset.busy = "sent";
    form.submit();
  });
}

/* ---------- mailbox ---------- */

const mailbox = {
  /** @type {string | null} */
  identity: null,
};

function showLocked() {
  const locked = document.getElementById("mailbox-locked");
  if (locked) locked.hidden = false;
}

async function decryptMailbox() {
  const items = sealedElements();
  if (!mailbox.identity) {
    showLocked();
    return;
  }
  const results = await decryptAll(items, mailbox.identity);
  // Nothing opened: the identity kept in this tab belongs to another receipt.
  if (results.length > 0 && !results.includes(true)) showLocked();
}

/** A status line next to a download button (the mailbox has no page-wide one). */
function buttonStatus(button, message) {
  let el = button.nextElementSibling;
  if (!el || !el.classList.contains("download-status")) {
    el = document.createElement("span");
    el.className = "download-status";
    el.setAttribute("role", "status");
    button.after(el);
  }
  el.textContent = message ? ` ${message}` : "";
}

/** What a download decrypts with; without it, `#mailbox-locked` says why and what to do. */
function downloadIdentity() {
  if (!mailbox.identity) showLocked();
  return mailbox.identity;
}

function setupReplyForm() {
  const form = $('form#reply-form[data-encrypt="message"]');
  if (!form) return;
  const fileInput = $("input[type=file][data-plaintext-files]", form);
  if (fileInput) setupMetadataWarning(fileInput, true);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (form.dataset.busy) return;
    const done = busy(form, { aria: true });
    try {
      if (plaintextLeaks(form)) throw new Error("a plaintext control has a name");
      formReport(form, t("encrypting"));
      const parts = await buildParts("message", {
        recipients: form.dataset.recipients ?? "",
        message: $('textarea[data-plaintext="message"]', form)?.value ?? "",
        files: await prepareFiles(Array.from(fileInput?.files ?? [])),
      });
      formReport(form, t(["sending", "encrypting"]));
      await postParts(form, ev.submitter, parts, formReport);
    } catch (err) {
      console.error("speakup: send failed", err);
      formReport(form, t("send_failed"));
    } finally {
      done();
    }
  });
}

function setupMailbox() {
  const storage = sessionStore();
  const logout = document.getElementById("mailbox-logout");
  // Synchronous: the identity is gone before the form posts.
  logout?.addEventListener("submit", () => forgetIdentity(storage));
  if (!document.body.hasAttribute("data-sealed")) {
    // The server decrypts and encrypts here; only the warning about metadata applies.
    const files = $("form input[type=file]");
    if (files) setupMetadataWarning(files, false);
    return null;
  }
  mailbox.identity = loadIdentity(storage);
  if (!canSeal()) {
    showLocked();
    return null;
  }
  revealProtection();
  setupDownloads(downloadIdentity, buttonStatus);
  setupReplyForm();
  return decryptMailbox();
}

/* ---------- start ---------- */

async function main() {
  loadText();
  // Controls that only this script can serve; where it cannot seal they stay disabled.
  if (canSeal()) for (const el of $$("[data-needs-script]")) el.disabled = false;
  const kind = document.body?.dataset.page;
  if (kind === "report") setupIntake();
  else if (kind === "follow-up") setupFollowUp();
  else if (kind === "mailbox") await setupMailbox();
}

whenParsed(main, () => setSendStatus(t("send_failed")));
