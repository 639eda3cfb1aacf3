// Drives the officer workspace in Debian's Chromium, against a running Speak Up server, the way
// an officer does: nothing here talks to the server except through the browser. Two phases, so
// a report can be filed in between (reports are sealed to the officers that exist at filing
// time):
//
//   node officer.mjs enroll --link URL --email E [--passphrase P] [--key-dir DIR]
//     opens the enrollment link, sets a password, reads the TOTP secret, lets the page generate
//     the age key (optionally wrapped with a passphrase), downloads the key file and submits.
//     Prints {email, password, totp_secret, key_file, recipient, passphrase, ...} as JSON.
//
//   node officer.mjs work --base URL --email E --password P --totp-secret S --key-file F
//       --report-text T --marker M --reply R --note N --reason W --report-attachment-name N
//       --report-attachment-text C [--unlock file|passphrase --passphrase P]
//       [--reporter-name NAME]
//     signs in, opens the case from the list, unlocks the key, checks the report decrypts,
//     reveals the reporter's identity (with --reporter-name), acknowledges (text + marker),
//     sends a reply with a file, downloads and checks both attachments, writes an internal note
//     and a status change with a reason (to the case's officer key, which the page made when it
//     first opened) and checks both decrypt after the reload, and logs out, checking
//     the unlocked key's IndexedDB database is gone. Prints a JSON summary.
//
// Every flag can also be given as an environment variable: --totp-secret is
// SPEAKUP_TOTP_SECRET, and so on. SPEAKUP_CLOCK_OFFSET (seconds, default 0) is added to this
// machine's clock to compute TOTP codes, for a server whose clock a test moved forward.
// Screenshots (desktop 1280 px and phone 360 px wide, of the enrollment, login, case list and
// case pages) go to SPEAKUP_ARTIFACTS (default target/browser-artifacts in the repository).
// Any failure exits 1 with a message on stderr.

import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import {
  ARTIFACTS,
  check,
  checkProblems,
  currentStep,
  databases,
  fail,
  need,
  openBrowser,
  pageError,
  run,
  screenshots,
  text,
  totpAt,
  until,
  waitForLoad,
  watchedPage,
} from "./common.mjs";

const DB_NAME = "speakup-officer";

const OPTIONS = {
  base: { type: "string" },
  link: { type: "string" },
  email: { type: "string" },
  password: { type: "string" },
  passphrase: { type: "string" },
  "key-dir": { type: "string" },
  "totp-secret": { type: "string" },
  "key-file": { type: "string" },
  "report-text": { type: "string" },
  marker: { type: "string" },
  reply: { type: "string" },
  note: { type: "string" },
  reason: { type: "string" },
  "report-attachment-name": { type: "string" },
  "report-attachment-text": { type: "string" },
  "reporter-name": { type: "string" },
  unlock: { type: "string" },
};

/* ---------- phase 1: enrollment ---------- */

async function enroll(opts) {
  const link = need(opts, "link");
  const email = need(opts, "email");
  const passphrase = opts.passphrase ?? "";
  const password = `tulip ${randomBytes(12).toString("hex")} harbour`;
  const keyDir = opts["key-dir"] || mkdtempSync(join(tmpdir(), "speakup-officer-key-"));
  mkdirSync(keyDir, { recursive: true });

  const problems = [];
  const { browser, context } = await openBrowser();
  try {
    const page = await watchedPage(context, problems);
    const res = await page.goto(link);
    check(res?.ok(), `enrollment link answered HTTP ${res?.status()}`);
    check((await page.getAttribute("body", "data-page")) === "enroll", "not the enrollment page");

    await page.fill("#password", password);
    await page.fill("#password-confirm", password);
    const secret = (await text(page.locator("#totp-secret"))).replace(/\s+/g, "");
    check(/^[A-Z2-7]{16,}=*$/.test(secret), `unexpected TOTP secret ${JSON.stringify(secret)}`);

    // The button is enabled by the script: a disabled one means the bundle did not run.
    const generate = page.locator("#generate-key");
    await until("the script to enable #generate-key", () => generate.isEnabled());
    await generate.click();
    const recipientInput = page.locator('input[name="recipient"]');
    const recipient = await until("input[name=recipient] to be filled", async () => {
      const v = (await recipientInput.inputValue()).trim();
      return /^age1[02-9ac-hj-np-z]{58}$/.test(v) ? v : null;
    });
    check(
      (await text(page.locator("#generated-recipient"))) === recipient,
      "output#generated-recipient does not show the generated recipient",
    );

    const downloadLink = page.locator("a#download-key");
    check(await downloadLink.isVisible(), "a#download-key is not shown after generating");
    const [download] = await Promise.all([page.waitForEvent("download"), downloadLink.click()]);
    check(
      download.suggestedFilename() === "speakup-officer-key.txt",
      `key file offered as ${download.suggestedFilename()}`,
    );
    const keyFile = join(keyDir, "speakup-officer-key.txt");
    await download.saveAs(keyFile);
    const keyText = readFileSync(keyFile, "utf8");
    check(
      new RegExp(`^# created: \\S+Z\\n# public key: ${recipient}\\nAGE-SECRET-KEY-1[0-9A-Z]+\\n$`).test(keyText),
      "the downloaded key file is not an age-keygen identity file for the generated recipient",
    );

    if (passphrase) {
      await page.fill("#wrap-passphrase", passphrase);
      await page.fill("#wrap-passphrase-confirm", passphrase);
    }

    const shots = [];
    await screenshots(page, "enroll", shots);

    // A code of the current step: the server accepts each step once, so a login must use a
    // later one.
    const step = currentStep();
    await page.fill("#code", totpAt(secret, step));
    // With a passphrase the script wraps the key first (scrypt), then submits.
    await waitForLoad(page, () => page.locator('#enroll-form button[type="submit"]').click());
    if ((await page.locator("a[href='/officer/login']").count()) === 0) {
      fail(`enrollment refused: ${await pageError(page)}`);
    }
    checkProblems(problems, "the enrollment page reported problems");
    return {
      phase: "enroll",
      email,
      password,
      totp_secret: secret,
      totp_step: step,
      key_file: keyFile,
      recipient,
      passphrase,
      wrapped: passphrase !== "",
      screenshots: shots,
    };
  } finally {
    await browser.close();
  }
}

/* ---------- phase 2: the case work ---------- */

async function work(opts) {
  const base = need(opts, "base").replace(/\/$/, "");
  const email = need(opts, "email");
  const password = need(opts, "password");
  const secret = need(opts, "totp-secret");
  const reportText = need(opts, "report-text");
  const marker = need(opts, "marker");
  const reply = need(opts, "reply");
  const note = need(opts, "note");
  const reason = need(opts, "reason");
  const attName = need(opts, "report-attachment-name");
  const attText = need(opts, "report-attachment-text");
  const unlock = opts.unlock || "file";
  check(unlock === "file" || unlock === "passphrase", `--unlock must be file or passphrase, not ${unlock}`);
  const keyFile = unlock === "file" ? need(opts, "key-file") : opts["key-file"];
  const passphrase = unlock === "passphrase" ? need(opts, "passphrase") : "";
  const reporterName = opts["reporter-name"] || "";
  const replyFile = { name: "officer-reply.txt", mimeType: "text/plain", text: `reply file ${marker}\n` };

  const started = Date.now();
  const timings = {};
  const lap = (name) => {
    timings[name] = Date.now() - started;
  };
  const shots = [];
  const problems = [];
  const { browser, context } = await openBrowser();
  try {
    const page = await watchedPage(context, problems);

    // Sign in.
    let res = await page.goto(`${base}/officer/login`);
    check(res?.ok(), `login page answered HTTP ${res?.status()}`);
    check((await page.getAttribute("body", "data-page")) === "login", "not the login page");
    await screenshots(page, "login", shots);
    await page.fill("#email", email);
    await page.fill("#password", password);
    // The next step's code: enrollment used up the current one (the server allows one step of
    // drift either way).
    await page.fill("#code", totpAt(secret, currentStep() + 1));
    await waitForLoad(page, () => page.locator('main button[type="submit"]').click());
    if ((await page.locator("form#logout").count()) === 0) {
      fail(`login failed at ${page.url()}: ${await pageError(page)}`);
    }
    lap("signed_in");

    // The case list, then the newest case.
    if (!page.url().endsWith("/officer/cases")) await page.goto(`${base}/officer/cases`);
    check((await page.getAttribute("body", "data-page")) === "cases", `not the case list: ${page.url()}`);
    const caseLink = page.locator('#case-list a[href^="/officer/cases/"]').first();
    check((await caseLink.count()) > 0, "the case list shows no case");
    const reference = await text(caseLink);
    await screenshots(page, "cases", shots);
    await waitForLoad(page, () => caseLink.click());
    check((await page.getAttribute("body", "data-page")) === "case", `not a case page: ${page.url()}`);
    const casePath = new URL(page.url()).pathname;

    // Unlock the key; the report decrypts.
    const unlockSection = page.locator("section#key-unlock");
    await until("#key-unlock to ask for the key", async () =>
      (await unlockSection.isVisible()) && (await text(page.locator("#key-status"))) !== "",
    );
    // The page's own words for failures (`#speakup-text`, localized).
    const strings = JSON.parse((await page.locator("#speakup-text").textContent()) ?? "{}");
    if (unlock === "file") {
      await page.setInputFiles("#identity-file", keyFile);
    } else {
      check((await page.locator("form#unlock-passphrase").count()) === 1, "no passphrase form: no wrapped key stored");
      const button = page.locator('form#unlock-passphrase button[type="submit"]');
      await until("the passphrase button to be enabled", () => button.isEnabled());
      await page.fill("#key-passphrase", passphrase);
      await button.click();
    }
    const what = page.locator('[data-format="report"] dd[data-field="what"]');
    await until("the report to decrypt", async () => {
      if ((await page.locator('[data-decrypted="failed"]').count()) > 0) fail(`decryption failed: ${await pageError(page)}`);
      const status = await text(page.locator("#key-status"));
      if ([strings.unlock_failed, strings.decrypt_failed].some((s) => s && status.startsWith(s))) {
        fail(`unlock failed: ${status}`);
      }
      return (await text(what)) === reportText;
    });
    check(await unlockSection.isHidden(), "#key-unlock still shown after unlocking");
    const decryptedOnCase = await decryptedMarkers(page);
    const persisted = (await databases(page)).includes(DB_NAME);
    check(persisted, `the unlocked key was not stored in IndexedDB ${DB_NAME}`);
    lap("unlocked");

    // The report's attachment: its name decrypts; the download decrypts in the browser.
    const reportFiles = page.locator('[data-format="report"] ~ ul.files li');
    const reportName = await text(reportFiles.first().locator('[data-format="text"]'));
    check(reportName === attName, `report attachment name shows ${JSON.stringify(reportName)}`);
    const reportDownload = await download(page, reportFiles.first().locator("button.decrypt-download"));
    check(reportDownload.name === attName, `report attachment saved as ${reportDownload.name}`);
    check(reportDownload.text === attText, `report attachment decrypted to ${JSON.stringify(reportDownload.text)}`);
    lap("report_attachment");

    // Reveal the reporter's identity (a plain form; the key comes back from IndexedDB).
    let revealed = null;
    if (reporterName) {
      await page.fill("#reveal-reason", "browser test: contact the reporter");
      await waitForLoad(page, () => page.locator('#reveal-form button[type="submit"]').click());
      const name = page.locator('[data-format="identity"] dd[data-field="name"]');
      await until("the reporter's name to decrypt", async () => (await text(name)) === reporterName);
      check(await unlockSection.isHidden(), "the stored key was not reused after the reveal");
      revealed = await text(name);
    }
    await screenshots(page, "case", shots);

    // Acknowledge, with the marker in the text.
    const ackText = page.locator("#ack-text");
    check((await ackText.count()) === 1, "no acknowledgement form on a new case");
    const template = await ackText.inputValue();
    await ackText.fill(`${template.trim()}\n\n${marker}`);
    await waitForLoad(page, () => page.locator('#ack-form button[type="submit"]').click());
    check(new URL(page.url()).pathname === casePath, `after the acknowledgement the browser is at ${page.url()}`);
    const status = await text(page.locator("#case-status"));
    check(status === "Acknowledged", `status after acknowledging: ${JSON.stringify(status)}`);
    check((await page.locator("#ack-form").count()) === 0, "the acknowledgement form is still offered");
    // The thread decrypts with the stored key: no new unlock.
    await until("the acknowledgement to decrypt in the thread", async () =>
      (await page.locator("article.item .text[data-decrypted=ok]", { hasText: marker }).count()) === 1,
    );
    check(await unlockSection.isHidden(), "the key was not reused after the acknowledgement");
    lap("acknowledged");

    // A message with a file.
    await page.fill("#message-text", reply);
    await page.setInputFiles("#message-files", {
      name: replyFile.name,
      mimeType: replyFile.mimeType,
      buffer: Buffer.from(replyFile.text),
    });
    await waitForLoad(page, () => page.locator('#message-form button[type="submit"]').click());
    check(new URL(page.url()).pathname === casePath, `after the message the browser is at ${page.url()}`);
    const replyItem = page.locator("article.item", { hasText: reply });
    await until("the reply to decrypt in the thread", async () => (await replyItem.count()) === 1);
    await until("the reply's file name to decrypt", async () =>
      (await text(replyItem.locator('ul.files [data-format="text"]').first())) === replyFile.name,
    );
    const replyDownload = await download(page, replyItem.locator("button.decrypt-download").first());
    check(replyDownload.name === replyFile.name, `reply attachment saved as ${replyDownload.name}`);
    check(replyDownload.text === replyFile.text, `reply attachment decrypted to ${JSON.stringify(replyDownload.text)}`);
    const decryptedAfter = await decryptedMarkers(page);
    lap("replied");

    // An internal note and a status reason: encrypted to the officer key only.
    check(
      ((await page.getAttribute("#officer-key", "data-age")) ?? "") !== "",
      "the case page carries no sealed officer key: the page did not make one",
    );
    await page.fill("#note-text", note);
    await waitForLoad(page, () => page.locator('#note-form button[type="submit"]').click());
    check(new URL(page.url()).pathname === casePath, `after the note the browser is at ${page.url()}`);
    await until("the note to decrypt in the history", async () =>
      (await page.locator('li[data-kind="note"] .text[data-decrypted=ok]', { hasText: note }).count()) === 1,
    );
    await page.selectOption("#status-next", "investigating");
    await page.fill("#status-reason", reason);
    await waitForLoad(page, () => page.locator('#status-form button[type="submit"]').click());
    await until("the status reason to decrypt in the history", async () =>
      (await page.locator(".reason[data-decrypted=ok]", { hasText: reason }).count()) === 1,
    );
    const statusAfterReason = await text(page.locator("#case-status"));
    check(statusAfterReason === "Being investigated", `status after the change: ${statusAfterReason}`);
    await decryptedMarkers(page);
    lap("officer_only");

    // Log out: the script deletes the key database before the form posts. Checked from a
    // second tab of the same origin while the logout request is held, because the response's
    // Clear-Site-Data and the login page would delete it too.
    const probe = await context.newPage();
    await probe.goto(`${base}/static/style.css`);
    check((await databases(probe)).includes(DB_NAME), "no key database before logout");
    let atLogout = null;
    await page.route("**/officer/logout", async (route) => {
      atLogout = await databases(probe);
      await route.continue();
    });
    await waitForLoad(page, () => page.locator('form#logout button[type="submit"]').click());
    check(atLogout !== null, "the logout form was not posted");
    check(!atLogout.includes(DB_NAME), `IndexedDB ${DB_NAME} still there when the logout was posted`);
    check(new URL(page.url()).pathname === "/officer/login", `after logout the browser is at ${page.url()}`);
    check(!(await databases(page)).includes(DB_NAME), `IndexedDB ${DB_NAME} still there after logout`);
    res = await page.goto(`${base}${casePath}`);
    check(new URL(page.url()).pathname === "/officer/login", "the case page is still open after logout");
    lap("logged_out");

    checkProblems(problems, "the officer pages reported problems");
    return {
      phase: "work",
      reference,
      unlock,
      key_in_indexeddb: persisted,
      decrypted: { case_page: decryptedOnCase, after_reply: decryptedAfter },
      identity_revealed: revealed,
      status,
      status_after_reason: statusAfterReason,
      downloads: [reportDownload, replyDownload].map(({ name, bytes }) => ({ name, bytes })),
      logout_deleted_key_database: true,
      screenshots: shots,
      timings_ms: timings,
      artifacts: ARTIFACTS,
    };
  } finally {
    await browser.close();
  }
}

/** Counts `[data-decrypted]` markers; fails on any "failed" or any still undecrypted item. */
async function decryptedMarkers(page) {
  await until("every [data-age] and [data-age-src] item to be handled", async () =>
    (await page.locator('[data-format]:is([data-age], [data-age-src]:not([data-age-src=""])):not([data-decrypted])').count()) === 0,
  );
  const failed = await page.locator('[data-decrypted="failed"]').count();
  check(failed === 0, `${failed} item(s) failed to decrypt: ${await pageError(page)}`);
  return page.locator('[data-decrypted="ok"]').count();
}

/** Clicks a `.decrypt-download` button; returns the saved file's name and content. */
async function download(page, button) {
  check((await button.count()) === 1, "no download button");
  await until("the download button to be enabled", () => button.isEnabled());
  const [dl] = await Promise.all([page.waitForEvent("download"), button.click()]);
  const failure = await dl.failure();
  check(failure === null, `download failed: ${failure}`);
  const path = await dl.path();
  const bytes = readFileSync(path);
  return { name: dl.suggestedFilename(), bytes: bytes.length, text: bytes.toString("utf8") };
}

/* ---------- main ---------- */

run("officer.mjs", OPTIONS, { enroll, work });
