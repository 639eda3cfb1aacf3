// A report entered by an officer and the case file, in Debian's Chromium against a running
// Speak Up server. Run by tests/tests/browser_casefile.rs:
//
//   node casefile.mjs run --base URL --email E --password P --totp-secret S --key-file F
//       --case REF --what TEXT --file-text TEXT --out DIR
//     The officer signs in, enters a report on a reporter's behalf (/officer/report: what
//     TEXT, a file holding --file-text), and reads the receipt shown once (#receipt). Every
//     request the browser sends is recorded: none may carry TEXT or the file's content (the
//     canary: the browser encrypts before anything is sent). A reporter with JavaScript then
//     opens the mailbox with that receipt in a fresh context and must see TEXT decrypted there;
//     a reporter without JavaScript opens it through the plain follow-up form in another and
//     must see TEXT, the when-and-where, and the file, whose link downloads --file-text.
//     The officer unlocks the key on case REF and downloads the case file, saved as
//     DIR/case-file.zip (the Rust test unzips and checks it).
//     Prints {receipt, reference, zip, requests, mailbox_what, plain_what, plain_when_where,
//     plain_file, plain_file_text}.

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import {
  check,
  checkProblems,
  fail,
  launch,
  need,
  newContext,
  pageError,
  run,
  signIn,
  text,
  until,
  waitForLoad,
  watchedPage,
} from "./common.mjs";

const OPTIONS = {
  base: { type: "string" },
  email: { type: "string" },
  password: { type: "string" },
  "totp-secret": { type: "string" },
  "key-file": { type: "string" },
  case: { type: "string" },
  what: { type: "string" },
  "file-text": { type: "string" },
  out: { type: "string" },
};

/** Enters the report; returns the receipt and the reference the page shows. */
async function enterReport(page, base, opts, out) {
  const what = need(opts, "what");
  const file = join(out, "phone-notes.txt");
  writeFileSync(file, need(opts, "file-text"));
  await waitForLoad(page, () => page.locator("#nav-enter-report").click());
  check(new URL(page.url()).pathname === "/officer/report", `the menu link led to ${page.url()}`);
  await page.selectOption("#er-category", { index: 1 });
  await page.fill("#er-what", what);
  await page.fill("#er-when-where", "On the phone, this morning");
  await page.check("#er-mode-anonymous");
  await page.setInputFiles("#er-attachments", file);
  const submit = page.locator("#enter-report-submit");
  await until("the submit button to be enabled", () => submit.isEnabled());
  await submit.click();
  const receipt = await until("the receipt to be shown", async () => {
    // One look at the page: the script swaps the receipt page in for the form at once, and a
    // status line found by one look may be gone by the next (which would then wait for it).
    const { shown, status } = await page.evaluate(() => ({
      shown: document.getElementById("receipt")?.textContent.trim() ?? "",
      status: document.getElementById("enter-status")?.textContent.trim() ?? "",
    }));
    if (!shown && /could not/.test(status)) fail(`entering failed: ${status}`);
    return shown;
  });
  const reference = await text(page.locator("#entered-reference"));
  return { receipt, reference };
}

/** A reporter with JavaScript opens the mailbox with the receipt; returns the decrypted report. */
async function reporterReads(browser, base, receipt, problems) {
  const context = await newContext(browser, { javaScriptEnabled: true });
  const page = await watchedPage(context, problems);
  await page.goto(`${base}/follow-up?lang=en`);
  await page.fill("#receipt", receipt);
  await Promise.all([
    page.waitForURL((u) => u.pathname === "/mailbox" || u.pathname === "/follow-up", { waitUntil: "load" }),
    page.locator('#follow-up-form button[type="submit"]').click(),
  ]);
  check(new URL(page.url()).pathname === "/mailbox", `the receipt did not open the mailbox: ${await pageError(page)}`);
  check((await page.getAttribute("body", "data-sealed")) !== null, "the mailbox opened with JavaScript is not sealed");
  const what = page.locator('[data-format="report"] dd[data-field="what"]');
  // Until the script has decrypted it, the item shows a placeholder ("Encrypted: …"): wait
  // for the script's mark, not for any text.
  const report = page.locator('[data-format="report"]').first();
  await until("the report to decrypt in the mailbox", async () => {
    if ((await page.locator('[data-decrypted="failed"]').count()) > 0) fail(`an item failed to decrypt: ${await pageError(page)}`);
    return (await report.getAttribute("data-decrypted")) === "ok";
  });
  const shown = await text(what);
  await context.close();
  return shown;
}

/** A reporter without JavaScript opens the mailbox with the receipt (the server decrypts). */
async function reporterReadsPlain(browser, base, receipt, problems) {
  const context = await newContext(browser, { javaScriptEnabled: false });
  const page = await watchedPage(context, problems);
  await page.goto(`${base}/follow-up?lang=en`);
  await page.fill("#receipt", receipt);
  await waitForLoad(page, () => page.locator('#follow-up-form button[type="submit"]').click());
  check(new URL(page.url()).pathname === "/mailbox", `the receipt did not open the mailbox: ${await pageError(page)}`);
  check((await page.getAttribute("body", "data-sealed")) === null, "the mailbox without JavaScript is sealed");
  const fields = page.locator("dl.report > dd.text");
  const link = page.locator('dl.report ul.files a[href^="/mailbox/attachments/"]');
  check((await link.count()) === 1, `the mailbox lists ${await link.count()} report file(s), not 1`);
  const res = await context.request.get(`${base}${await link.getAttribute("href")}`);
  check(res.ok(), `the file link answered HTTP ${res.status()}`);
  const shown = {
    plain_what: await text(fields.nth(0)),
    plain_when_where: await text(fields.nth(1)),
    plain_file: await text(link),
    plain_file_text: (await res.body()).toString("utf-8"),
  };
  await context.close();
  return shown;
}

/** Unlocks the key on the case page and saves the case file. */
async function caseFile(page, base, opts, out) {
  await page.goto(`${base}/officer/cases/${need(opts, "case")}?lang=en`);
  await until("#key-unlock", () => page.locator("section#key-unlock").isVisible());
  await page.setInputFiles("#identity-file", need(opts, "key-file"));
  await until("the page to decrypt", async () => {
    if ((await page.locator('[data-decrypted="failed"]').count()) > 0) fail(`decryption failed: ${await pageError(page)}`);
    return (await page.locator('[data-format]:is([data-age], [data-age-src]:not([data-age-src=""])):not([data-decrypted])').count()) === 0;
  });
  const button = page.locator("#case-file-download");
  await until("the case-file button to be enabled", () => button.isEnabled());
  const [dl] = await Promise.all([page.waitForEvent("download"), button.click()]);
  const failure = await dl.failure();
  check(failure === null, `case file download failed: ${failure} ${await text(page.locator("#case-file-status"))}`);
  const zip = join(out, "case-file.zip");
  await dl.saveAs(zip);
  check(dl.suggestedFilename() === `case-file-${need(opts, "case")}.zip`, `saved as ${dl.suggestedFilename()}`);
  return zip;
}

async function runAll(opts) {
  const base = need(opts, "base").replace(/\/$/, "");
  const out = need(opts, "out");
  mkdirSync(out, { recursive: true });
  const browser = await launch();
  const problems = [];
  const sent = [];
  try {
    const context = await newContext(browser);
    const page = await watchedPage(context, problems);
    // The canary: every request body the officer's browser sends.
    page.on("request", (req) => {
      const body = req.postDataBuffer();
      sent.push({ url: req.url(), body: body ? body.toString("latin1") : "" });
    });
    await signIn(page, base, opts);
    const entered = await enterReport(page, base, opts, out);
    for (const canary of [need(opts, "what"), need(opts, "file-text"), "phone-notes.txt", entered.receipt]) {
      const leak = sent.find((r) => r.body.includes(canary));
      check(!leak, `plaintext ${JSON.stringify(canary)} was sent to ${leak?.url}`);
    }
    const mailboxWhat = await reporterReads(browser, base, entered.receipt, problems);
    const plain = await reporterReadsPlain(browser, base, entered.receipt, problems);
    const zip = await caseFile(page, base, opts, out);
    checkProblems(problems, "the pages reported problems");
    await context.close();
    return { ...entered, zip, requests: sent.length, mailbox_what: mailboxWhat, ...plain };
  } finally {
    await browser.close();
  }
}

run("casefile.mjs", OPTIONS, { run: runAll });
