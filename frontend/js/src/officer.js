/*! Speak Up officer workspace: in-browser age encryption (docs/browser-contract.md).
 * Bundles age-encryption (typage), Copyright 2023 The age Authors, BSD-3-Clause;
 * @noble/ciphers, @noble/curves, @noble/hashes, @noble/post-quantum and @scure/base,
 * Copyright (c) 2022-2024 Paul Miller, MIT. @license BSD-3-Clause AND MIT */

// Thin DOM glue: finds the contract's elements and wires them to the pure modules. Decrypted
// text is only ever placed with textContent.

import { decryptBase64Text, decryptResponse } from "./cipher.js";
import { appendParts, buildParts, safeFileName } from "./forms.js";
import {
  generateOfficerKey,
  identityFromFile,
  parseCaseEnvelope,
  unwrapIdentity,
  wrapIdentity,
} from "./keys.js";
import { createKeyStore, deleteKeyDatabase } from "./store.js";

const WRAPPED_KEY_URL = "/officer/key/wrapped";

const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

function loadText() {
  try {
    const el = document.getElementById("speakup-text");
    const obj = el ? JSON.parse(el.textContent) : {};
    return obj && typeof obj === "object" ? obj : {};
  } catch {
    return {};
  }
}

/** `speakup-text`, read once the document is parsed. */
let text = {};
/** A localized string by key, with an optional detail (such as an HTTP status) appended. */
function t(key, detail) {
  const s = typeof text[key] === "string" ? text[key] : key;
  return detail === undefined ? s : `${s} (${detail})`;
}

function codeOf(err, fallback) {
  return err && typeof err.code === "string" && err.code in text ? err.code : fallback;
}

function setStatus(message) {
  const el = document.getElementById("key-status");
  if (el) el.textContent = message;
}

/** The place a form reports to: its own `[role=alert]`, else `#key-status`, else a new alert. */
function formReport(form, message) {
  let el = $("[role=alert]", form) ?? document.getElementById("key-status");
  if (!el) {
    el = document.createElement("p");
    el.setAttribute("role", "alert");
    form.append(el);
  }
  el.textContent = message;
}

const store = createKeyStore();
const page = {
  /** `body[data-recipient]`, read once the document is parsed */
  recipient: "",
  /** @type {string | CryptoKey | null} */
  officer: null,
  /** @type {string | null} the case identity, from #case-envelope */
  caseIdentity: null,
};

/* ---------- logout ---------- */

function setupLogout() {
  const form = document.getElementById("logout");
  if (!form) return;
  let cleared = false;
  form.addEventListener("submit", (ev) => {
    if (cleared) return;
    ev.preventDefault();
    store.forget().finally(() => {
      cleared = true;
      form.submit();
    });
  });
}

/* ---------- unlocking ---------- */

async function unlocked(identity) {
  page.officer = identity;
  const section = document.getElementById("key-unlock");
  if (section) section.hidden = true;
  setStatus("");
  await decryptPage();
}

async function unlockWith(identityFileText) {
  const identity = await identityFromFile(identityFileText, page.recipient);
  const { identity: held } = await store.unlock(identity, page.recipient);
  await unlocked(held);
}

async function setupUnlock() {
  const restored = await store.restore(page.recipient);
  if (restored) {
    await unlocked(restored);
    return;
  }
  setStatus(t("locked"));

  const fileInput = document.getElementById("identity-file");
  fileInput?.addEventListener("change", async () => {
    const file = fileInput.files?.[0];
    if (!file) return;
    setStatus(t("unlocking"));
    try {
      await unlockWith(await file.text());
    } catch (err) {
      console.error("speakup: unlock failed", err);
      setStatus(t("unlock_failed"));
    } finally {
      fileInput.value = "";
    }
  });

  const form = document.getElementById("unlock-passphrase");
  const pass = document.getElementById("key-passphrase");
  form?.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    setStatus(t("unlocking"));
    try {
      const res = await fetch(WRAPPED_KEY_URL, { credentials: "same-origin", cache: "no-store" });
      if (!res.ok) throw Object.assign(new Error(`HTTP ${res.status}`), { status: res.status });
      await unlockWith(await unwrapIdentity((await res.text()).trim(), pass?.value ?? ""));
      if (pass) pass.value = "";
    } catch (err) {
      console.error("speakup: unlock failed", err);
      setStatus(t("unlock_failed", err.status));
    }
  });
}

/* ---------- decrypting the page ---------- */

function fillFields(el, format, plaintext) {
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

async function decryptElement(el, identities) {
  const format = el.dataset.format;
  try {
    const plaintext = await decryptBase64Text(identities, el.dataset.age);
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

async function decryptPage() {
  const identities = [page.officer];
  const envelope = document.getElementById("case-envelope");
  if (envelope?.dataset.age) {
    try {
      page.caseIdentity = parseCaseEnvelope(await decryptBase64Text(page.officer, envelope.dataset.age));
      identities.unshift(page.caseIdentity);
    } catch (err) {
      console.error("speakup: case envelope", err);
      setStatus(t("decrypt_failed"));
      return;
    }
  }
  const items = $$("[data-age][data-format]").filter((el) => el !== envelope);
  const results = await Promise.all(items.map((el) => decryptElement(el, identities)));
  if (results.includes(false)) setStatus(t("decrypt_failed"));
}

function pageIdentities() {
  return [page.caseIdentity, page.officer].filter(Boolean);
}

/* ---------- downloads ---------- */

function saveBlob(blob, name) {
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

function setupDownloads() {
  for (const button of $$("button.decrypt-download[data-src]")) {
    button.addEventListener("click", async (ev) => {
      ev.preventDefault();
      const identities = pageIdentities();
      if (identities.length === 0) {
        setStatus(t("key_missing"));
        return;
      }
      button.disabled = true;
      setStatus(t("downloading"));
      try {
        let name = "attachment";
        if (button.dataset.nameAge) {
          name = safeFileName(await decryptBase64Text(identities, button.dataset.nameAge));
        }
        const res = await fetch(button.dataset.src, { credentials: "same-origin" });
        if (!res.ok) throw Object.assign(new Error(`HTTP ${res.status}`), { status: res.status });
        saveBlob(await decryptResponse(identities, res), name);
        setStatus("");
      } catch (err) {
        console.error("speakup: download failed", err);
        setStatus(t("decrypt_failed", err.status));
      } finally {
        button.disabled = false;
      }
    });
  }
}

/* ---------- forms carrying ciphertext ---------- */

function formInput(form, kind) {
  const input = { recipients: form.dataset.recipients ?? "" };
  input.message = $('textarea[data-plaintext="message"]', form)?.value ?? "";
  input.reason = $('textarea[data-plaintext="reason"]', form)?.value ?? "";
  input.files = Array.from($("input[type=file][data-plaintext-files]", form)?.files ?? []);
  if (kind === "grant") {
    const select = $('select[name="account"]', form);
    input.grantRecipient = select?.selectedOptions?.[0]?.dataset.recipient ?? "";
    input.caseIdentity = page.caseIdentity;
  }
  return input;
}

/** Plaintext controls must never have a name: refuse to send a form where one does. */
function plaintextLeaks(form) {
  return $$("[data-plaintext], [data-plaintext-files]", form).some((el) => el.hasAttribute("name"));
}

function setupEncryptForms() {
  for (const form of $$("form[data-encrypt]")) {
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      if (form.dataset.busy) return;
      const kind = form.dataset.encrypt;
      const buttons = $$("button, input[type=submit]", form).filter((b) => !b.disabled);
      form.dataset.busy = "1";
      buttons.forEach((b) => (b.disabled = true));
      try {
        if (plaintextLeaks(form)) throw new Error("a plaintext control has a name");
        if (kind === "grant" && !page.caseIdentity) {
          formReport(form, t("key_missing"));
          return;
        }
        formReport(form, t("encrypting"));
        const parts = await buildParts(kind, formInput(form, kind));
        let data;
        try {
          data = new FormData(form, ev.submitter ?? undefined);
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
          formReport(form, t("send_failed", res.status));
          return;
        }
        location.assign(res.url);
      } catch (err) {
        console.error("speakup: send failed", err);
        formReport(form, t(codeOf(err, "send_failed")));
      } finally {
        delete form.dataset.busy;
        buttons.forEach((b) => (b.disabled = false));
      }
    });
  }
}

/* ---------- enrollment ---------- */

function setupEnroll() {
  const button = document.getElementById("generate-key");
  const output = document.getElementById("generated-recipient");
  const link = document.getElementById("download-key");
  const recipientInput = $('input[name="recipient"]');
  const wrapped = $('input[name="wrapped_identity"]');
  const pass = document.getElementById("wrap-passphrase");
  const confirm = document.getElementById("wrap-passphrase-confirm");
  const form = recipientInput?.form ?? button?.form ?? null;
  /** @type {{ identity: string, recipient: string, file: string } | null} */
  let generated = null;
  let url = null;

  button?.addEventListener("click", async (ev) => {
    ev.preventDefault();
    generated = await generateOfficerKey();
    if (output) output.textContent = generated.recipient;
    if (recipientInput) recipientInput.value = generated.recipient;
    if (wrapped) wrapped.value = "";
    if (link) {
      if (url) URL.revokeObjectURL(url);
      url = URL.createObjectURL(new Blob([generated.file], { type: "text/plain" }));
      link.href = url;
      link.download = "speakup-officer-key.txt";
      link.hidden = false;
      link.removeAttribute("aria-disabled");
    }
    setStatus(t("key_generated"));
  });

  const checkMatch = () => {
    if (!pass || !confirm) return true;
    const ok = pass.value === confirm.value;
    confirm.setCustomValidity(ok ? "" : t("passphrase_mismatch"));
    return ok;
  };
  pass?.addEventListener("input", checkMatch);
  confirm?.addEventListener("input", checkMatch);

  let ready = false;
  form?.addEventListener("submit", async (ev) => {
    if (ready) return;
    if (wrapped) wrapped.value = "";
    const passphrase = pass?.value ?? "";
    if (!checkMatch()) {
      ev.preventDefault();
      confirm.reportValidity();
      setStatus(t("passphrase_mismatch"));
      return;
    }
    // Only a key generated here, and still the one in the recipient field, is wrapped.
    if (!passphrase || !wrapped || !generated) return;
    if (recipientInput && recipientInput.value.trim() !== generated.recipient) return;
    ev.preventDefault();
    const submitter = ev.submitter ?? null;
    setStatus(t("encrypting"));
    try {
      wrapped.value = await wrapIdentity(generated.file, passphrase);
    } catch (err) {
      console.error("speakup: wrap failed", err);
      setStatus(t("send_failed"));
      return;
    }
    ready = true;
    if (typeof form.requestSubmit === "function") form.requestSubmit(submitter ?? undefined);
    else form.submit();
  });
}

/* ---------- start ---------- */

async function main() {
  text = loadText();
  page.recipient = (document.body?.dataset.recipient ?? "").trim();
  for (const b of $$("[data-needs-script]")) b.disabled = false;
  setupLogout();
  const kind = document.body?.dataset.page;
  if (kind === "login") {
    // No session: no key may outlive it.
    deleteKeyDatabase();
    return;
  }
  if (kind === "enroll") setupEnroll();
  setupEncryptForms();
  setupDownloads();
  if (kind === "case" || kind === "account" || document.getElementById("key-unlock")) {
    await setupUnlock();
  }
}

function start() {
  main().catch((err) => {
    console.error("speakup: start failed", err);
    setStatus(t("unlock_failed"));
  });
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
