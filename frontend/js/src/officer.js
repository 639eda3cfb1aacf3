/*! Speak Up officer workspace: in-browser age encryption (docs/browser-contract.md).
 * Bundles age-encryption (typage), Copyright 2023 The age Authors, BSD-3-Clause;
 * @noble/ciphers, @noble/curves, @noble/hashes, @noble/post-quantum and @scure/base,
 * Copyright (c) 2022-2024 Paul Miller, MIT; fflate, Copyright (c) 2026 Arjun Barrett, MIT.
 * @license BSD-3-Clause AND MIT */

// Thin DOM glue: finds the contract's elements and wires them to the pure modules. Decrypted
// text is only ever placed with textContent.

import { buildCaseFile } from "./casefile.js";
import { decryptBase64Text, decryptResponse } from "./cipher.js";
import {
  $,
  $$,
  busy,
  decryptAll,
  formReporter,
  loadText,
  plaintextLeaks,
  postParts,
  saveBlob,
  sealedElements,
  setupDownloads,
  statusLine,
  t,
  text,
  whenParsed,
} from "./dom.js";
import { buildParts, officerKeyForm } from "./forms.js";
import {
  generateOfficerCaseKey,
  generateOfficerKey,
  identityFromFile,
  parseCaseEnvelope,
  parseOfficerEnvelope,
  unwrapIdentity,
  wrapIdentity,
} from "./keys.js";
import { sealReport, toFormData } from "./intake.js";
import { groupToken } from "./receipt.js";
import { createKeyStore, deleteKeyDatabase } from "./store.js";

const WRAPPED_KEY_URL = "/officer/key/wrapped";

function codeOf(err, fallback) {
  return err && typeof err.code === "string" && err.code in text ? err.code : fallback;
}

/** `#key-status`: the officer pages' progress and errors. */
const setStatus = statusLine("key-status");

/** The place a form reports to: its own `[role=alert]`, else `#key-status`, else a new alert. */
const formReport = formReporter("[role=alert]", "key-status");

const store = createKeyStore();
const page = {
  /** `body[data-recipient]`, read once the document is parsed */
  recipient: "",
  /** @type {string | CryptoKey | null} */
  officer: null,
  /** @type {string | null} the case identity, from #case-envelope */
  caseIdentity: null,
  /** @type {string | null} the case's officer key, from #officer-key (or just made here) */
  officerKey: null,
  /** @type {Promise<void>} settles once the case has an officer key, or making one failed */
  officerKeyReady: Promise.resolve(),
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
  const fromFile = async () => {
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
  };
  fileInput?.addEventListener("change", fromFile);
  // The section is in the page before this script has run (and before the key store above has
  // answered): a key chosen in that moment fired its change event with nobody listening.
  if (fileInput?.files?.length) void fromFile();

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
  const officerEnvelope = document.getElementById("officer-key");
  if (officerEnvelope?.dataset.age) {
    try {
      const text = await decryptBase64Text(page.officer, officerEnvelope.dataset.age);
      page.officerKey = parseOfficerEnvelope(text);
    } catch (err) {
      console.error("speakup: officer-key envelope", err);
      setStatus(t("decrypt_failed"));
    }
  }
  if (page.officerKey) identities.unshift(page.officerKey);
  const items = sealedElements().filter((el) => el !== envelope);
  const results = await decryptAll(items, identities);
  if (results.includes(false)) setStatus(t("decrypt_failed"));
}

function pageIdentities() {
  return [page.officerKey, page.caseIdentity, page.officer].filter(Boolean);
}

/* ---------- the case's officer key ---------- */

/** Points the officer-only forms (notes, status reasons) at the officer key's recipient. */
function useOfficerRecipient(recipient) {
  const holder = document.getElementById("officer-key");
  if (holder) holder.dataset.recipient = recipient;
  for (const form of $$('form[data-encrypt="note"], form[data-encrypt="status"]')) {
    form.dataset.recipients = recipient;
  }
  for (const input of $$("input[data-officer-recipient]")) input.value = recipient;
}

/**
 * A case without an officer key gets one now, made here and sealed to every holder of the
 * case key (`#officer-key-holders`), so officer-only items never go to the case key, which a
 * reporter's browser may hold. The first officer to do so wins; a refused attempt (a
 * colleague was first) asks for a reload.
 */
async function ensureOfficerKey() {
  const list = document.getElementById("officer-key-holders");
  const csrf = $('input[name="csrf"]')?.value;
  if (!list || !csrf || document.getElementById("officer-key")?.dataset.recipient) return;
  const holders = $$("li[data-holder]", list).map((li) => ({
    holder: li.dataset.holder,
    recipient: li.dataset.recipient,
  }));
  try {
    const key = await generateOfficerCaseKey();
    const data = new FormData();
    data.append("csrf", csrf);
    await officerKeyForm(data, key, holders);
    const res = await fetch(list.dataset.action, {
      method: "POST",
      body: data,
      credentials: "same-origin",
    });
    if (!res.ok) throw Object.assign(new Error(`HTTP ${res.status}`), { status: res.status });
    page.officerKey = key.identity;
    useOfficerRecipient(key.recipient);
    list.remove();
  } catch (err) {
    console.error("speakup: officer key", err);
    setStatus(t("officer_key_failed", err.status));
  }
}

/* ---------- downloads ---------- */

/** What a download decrypts with; with nothing unlocked, `#key-status` says so. */
function downloadIdentities() {
  const identities = pageIdentities();
  if (identities.length === 0) {
    setStatus(t("key_missing"));
    return null;
  }
  return identities;
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
    input.officerIdentity = page.officerKey;
  }
  if (kind === "move") {
    const option = $('select[name="entity"]', form)?.selectedOptions?.[0];
    input.moveHolders = JSON.parse(option?.dataset.holders ?? "[]");
    input.caseIdentity = page.caseIdentity;
    input.officerIdentity = page.officerKey;
  }
  return input;
}

function setupEncryptForms() {
  for (const form of $$("form[data-encrypt]")) {
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      if (form.dataset.busy) return;
      const kind = form.dataset.encrypt;
      const done = busy(form);
      try {
        if (plaintextLeaks(form)) throw new Error("a plaintext control has a name");
        await page.officerKeyReady;
        const hasOfficerKey = Boolean(document.getElementById("officer-key")?.dataset.recipient);
        const reason = $('textarea[data-plaintext="reason"]', form)?.value ?? "";
        const officerOnly = kind === "note" || (kind === "status" && reason.trim() !== "");
        if (
          ((kind === "grant" || kind === "move") &&
            (!page.caseIdentity || (hasOfficerKey && !page.officerKey))) ||
          (officerOnly && !form.dataset.recipients)
        ) {
          formReport(form, t("key_missing"));
          return;
        }
        formReport(form, t("encrypting"));
        const parts = await buildParts(kind, formInput(form, kind));
        await postParts(form, ev.submitter, parts, formReport);
      } catch (err) {
        console.error("speakup: send failed", err);
        formReport(form, t(codeOf(err, "send_failed")));
      } finally {
        done();
      }
    });
  }
}

/* ---------- a report entered on a reporter's behalf ---------- */

/** `#enter-report-form`'s values; the plaintext controls have no name (never posted as such). */
function enteredInput(form) {
  const plain = (field) => $(`[data-plaintext="${field}"]`, form)?.value ?? "";
  return {
    csrf: $('input[name="csrf"]', form)?.value ?? "",
    category: $('select[name="category"]', form)?.value ?? "",
    mode: $('input[name="mode"]:checked', form)?.value ?? "anonymous",
    what: plain("what"),
    when_where: plain("when_where"),
    involved: plain("involved"),
    name: plain("name"),
    contact: plain("contact"),
    files: Array.from($("input[type=file][data-plaintext-files]", form)?.files ?? []),
  };
}

/** Shows the server's receipt page in place of this one, the token placed where it belongs. */
function showEntered(doc, token) {
  const el = $("#receipt", doc);
  if (el) el.textContent = groupToken(token);
  document.title = doc.title;
  const main = document.getElementById("main");
  const next = $("#main", doc);
  if (main && next) main.replaceChildren(...Array.from(next.childNodes).map((n) => document.adoptNode(n)));
  main?.focus();
  window.scrollTo(0, 0);
}

/**
 * The officer's intake form: sealed here exactly as on the reporter's browser path (a new
 * receipt, case key and reporter key; the report and files to the case and the reporter; the
 * case key to each holder the page lists). The receipt lives only in this closure until the
 * server's answer is shown with it, once.
 */
function setupEnterReport() {
  const form = document.getElementById("enter-report-form");
  if (!form) return;
  const status = statusLine("enter-status");
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (form.dataset.busy) return;
    const done = busy(form);
    let sealed = null;
    try {
      if (plaintextLeaks(form)) throw new Error("a plaintext control has a name");
      status(t("entered_sealing"));
      const keys = $('script#intake-keys[type="application/json"]')?.textContent ?? "";
      sealed = await sealReport(enteredInput(form), keys);
      const lang = $('select[name="reporter_lang"]', form)?.value ?? "";
      const body = toFormData([...sealed.entries, { name: "reporter_lang", value: lang }]);
      sealed.entries = null;
      const res = await fetch(form.dataset.action, {
        method: "POST",
        body,
        credentials: "same-origin",
        cache: "no-store",
      });
      if (!res.ok) throw Object.assign(new Error(`HTTP ${res.status}`), { status: res.status });
      showEntered(new DOMParser().parseFromString(await res.text(), "text/html"), sealed.token);
    } catch (err) {
      console.error("speakup: entering the report failed", err);
      status(t("entered_failed", err.status));
      done();
    } finally {
      sealed = null;
    }
  });
}

/* ---------- the case file ---------- */

/** `#case-file-download`: the whole case, decrypted here, saved as a ZIP. */
function setupCaseFile() {
  const button = document.getElementById("case-file-download");
  if (!button) return;
  const status = statusLine("case-file-status");
  button.addEventListener("click", async (ev) => {
    ev.preventDefault();
    const ids = pageIdentities();
    if (ids.length === 0) {
      status(t("key_missing"));
      return;
    }
    button.disabled = true;
    status(t("casefile_preparing"));
    try {
      const res = await fetch(button.dataset.src, { credentials: "same-origin", cache: "no-store" });
      if (!res.ok) throw Object.assign(new Error(`HTTP ${res.status}`), { status: res.status });
      const data = await res.json();
      const fetchFile = async (url) => {
        const r = await fetch(url, { credentials: "same-origin", cache: "no-store" });
        return new Uint8Array(await (await decryptResponse(ids, r)).arrayBuffer());
      };
      const { zip, name } = await buildCaseFile(data, (b64) => decryptBase64Text(ids, b64), fetchFile);
      saveBlob(new Blob([zip], { type: "application/zip" }), name);
      status(t("casefile_done"));
    } catch (err) {
      console.error("speakup: case file failed", err);
      status(t("casefile_failed", err.status));
    } finally {
      button.disabled = false;
    }
  });
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
  loadText();
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
  if (kind === "case") page.officerKeyReady = ensureOfficerKey();
  if (kind === "enter-report") setupEnterReport();
  if (kind === "case") setupCaseFile();
  setupEncryptForms();
  setupDownloads(downloadIdentities, (_button, message) => setStatus(message));
  if (kind === "case" || kind === "account" || document.getElementById("key-unlock")) {
    await setupUnlock();
  }
}

whenParsed(main, () => setStatus(t("unlock_failed")));
