// Accessibility of every page, in Debian's Chromium against a running Speak Up server: axe-core
// (exact-pinned in package-lock.json, read from node_modules) runs on each page as a person
// reaches it, and on the reporter pages the phone-width checks run too. Run by
// tests/tests/browser_a11y.rs:
//
//   node a11y.mjs audit --base URL --email E --password P --totp-secret S --key-file F
//       --enroll-link URL --receipt R --case REF
//     R opens a case with a thread (REF, which the officer E can read). Reporter pages with
//     JavaScript: landing, report form (also with a photo chosen), receipt
//     (browser-encrypted), follow-up, follow-up with a wrong receipt, sealed mailbox
//     (decrypted; locked in a new tab; after sending a message), 404, closed mailbox. Without the page script (withheld: answered with an empty one, because axe
//     itself needs JavaScript): report form with validation errors, receipt
//     (server-encrypted), mailbox (server mode; with an error shown). Officer pages: login, failed login,
//     enrollment, case list, case page (key unlocked, report decrypted), admin accounts,
//     settings, entities and an entity (with its landing page and an unknown entity's 404),
//     audit log, statistics, account, an officer 404.
//     Prints {axe_version, axe_injection, pages: [{name, url, violations, dark_violations,
//     phone: {scroll_width, small_targets}}]}. Violations are reported, not judged: the Rust
//     test fails on any with impact "serious" or "critical".
//
// axe is injected with page.evaluate(source of axe.min.js): page.addScriptTag inserts an
// inline <script>, which the pages' CSP (script-src 'self', no inline) refuses; evaluation
// through the DevTools protocol is not subject to the page's CSP, so the pages are checked with
// their real CSP and headers. It is evaluated in the page's main world.
//
// Phone width (reporter pages): at 360 CSS px the page must not scroll sideways
// (document.documentElement.scrollWidth <= 360) and every visible interactive control must
// be at least 44x44 CSS px (WCAG 2.5.5, the stricter target size), where a radio button or
// checkbox is measured together with its <label> (which activates it too) and a link inside
// a sentence is exempt (the criterion's inline exception).

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

import {
  VIEWPORTS,
  check,
  checkProblems,
  currentStep,
  fail,
  launch,
  need,
  newContext,
  pageError,
  run,
  settle,
  text,
  totpAt,
  until,
  waitForLoad,
  watchedPage,
} from "./common.mjs";

const require = createRequire(import.meta.url);
const AXE_PATH = require.resolve("axe-core/axe.min.js");
const AXE_SOURCE = readFileSync(AXE_PATH, "utf8");
const MIN_TARGET = 44;
const PHONE = VIEWPORTS.phone;

const OPTIONS = {
  base: { type: "string" },
  email: { type: "string" },
  password: { type: "string" },
  "totp-secret": { type: "string" },
  "key-file": { type: "string" },
  "enroll-link": { type: "string" },
  receipt: { type: "string" },
  case: { type: "string" },
};

/* ---------- axe ---------- */

let injection = null;

/**
 * Whether page.addScriptTag can load axe under the pages' CSP: tried once, on a throwaway
 * page (the refusal is a console error there, not on the pages under test).
 */
async function probeInjection(browser, base) {
  const context = await newContext(browser);
  try {
    const page = await context.newPage();
    await page.goto(`${base}/?lang=en`);
    try {
      await page.addScriptTag({ path: AXE_PATH });
    } catch {
      // Refused: the promise rejects when the inline script is blocked.
    }
    injection = (await page.evaluate(() => typeof window.axe === "object")) ? "addScriptTag" : "evaluate";
  } finally {
    await context.close();
  }
}

/** Puts axe into the page: addScriptTag where the CSP allows it, else evaluation. */
async function injectAxe(page) {
  if (await page.evaluate(() => typeof window.axe === "object")) return;
  if (injection === "addScriptTag") await page.addScriptTag({ path: AXE_PATH });
  else await page.evaluate(AXE_SOURCE);
  check(await page.evaluate(() => typeof window.axe === "object"), `axe-core could not be loaded (${injection})`);
}

/** `promise`, or a failure naming `what` after `ms`. */
function within(ms, what, promise) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function runAxe(page, options) {
  await injectAxe(page);
  return within(60_000, `axe on ${page.url()}`, page.evaluate(async (opts) => {
    const result = await window.axe.run(document, opts);
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 8).map((n) => ({
        target: n.target.join(" "),
        html: n.html.slice(0, 200),
        summary: (n.failureSummary ?? "").slice(0, 400),
      })),
      count: v.nodes.length,
    }));
  }, options));
}

/* ---------- phone width ---------- */

/** Sideways scrolling and small targets at 360 px; restores the desktop viewport. */
async function phoneChecks(page) {
  await page.setViewportSize(PHONE);
  await settle(page);
  const result = await page.evaluate((min) => {
    const shown = (el) => {
      const s = getComputedStyle(el);
      if (s.display === "none" || s.visibility === "hidden") return false;
      const r = el.getBoundingClientRect();
      // Off-screen until focused (the skip link) does not count.
      return r.width > 0 && r.height > 0 && r.bottom + window.scrollY > 0;
    };
    const union = (rects) => {
      const left = Math.min(...rects.map((r) => r.left));
      const top = Math.min(...rects.map((r) => r.top));
      const right = Math.max(...rects.map((r) => r.right));
      const bottom = Math.max(...rects.map((r) => r.bottom));
      return { width: right - left, height: bottom - top };
    };
    /** A link inside running text: inline, with other text in the same block. */
    const inSentence = (a) => {
      if (getComputedStyle(a).display !== "inline") return false;
      let block = a.parentElement;
      while (block && getComputedStyle(block).display === "inline") block = block.parentElement;
      if (!block) return false;
      const all = block.textContent.replace(/\s+/g, " ").trim();
      const own = a.textContent.replace(/\s+/g, " ").trim();
      return all.length > own.length;
    };
    const selector =
      'a[href], button, input:not([type="hidden"]), select, textarea, summary, [tabindex]:not([tabindex="-1"])';
    const small = [];
    for (const el of document.querySelectorAll(selector)) {
      if (!shown(el)) continue;
      if (el.tagName === "A" && inSentence(el)) continue;
      const rects = [el.getBoundingClientRect()];
      if (el.type === "radio" || el.type === "checkbox") {
        for (const l of el.labels ?? []) if (shown(l)) rects.push(l.getBoundingClientRect());
      }
      const box = union(rects);
      if (box.width + 0.01 < min || box.height + 0.01 < min) {
        small.push({
          element: `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ""}${el.type ? `[type=${el.type}]` : ""}`,
          text: (el.textContent || el.value || el.getAttribute("aria-label") || "").trim().slice(0, 40),
          width: Math.round(box.width * 10) / 10,
          height: Math.round(box.height * 10) / 10,
        });
      }
    }
    return { scroll_width: document.documentElement.scrollWidth, small_targets: small };
  }, MIN_TARGET);
  await page.setViewportSize(VIEWPORTS.desktop);
  await settle(page);
  return result;
}

/* ---------- one page ---------- */

const pages = [];

/** axe on the page as it is now (light and dark), and the phone checks on reporter pages. */
async function audit(page, name, { reporter }) {
  process.stderr.write(`a11y: ${name} (${page.url()})\n`);
  await settle(page);
  // Every rule axe runs by default, and WCAG 2.2's target size (24x24 with spacing), which
  // axe leaves off by default.
  const violations = await runAxe(page, { resultTypes: ["violations"], rules: { "target-size": { enabled: true } } });
  // axe no longer checks for duplicate ids (only those ARIA refers to); a second element with
  // an id breaks labels, skip links and error links all the same.
  const duplicates = await page.evaluate(() => {
    const seen = new Map();
    for (const el of document.querySelectorAll("[id]")) seen.set(el.id, (seen.get(el.id) ?? 0) + 1);
    return [...seen].filter(([, n]) => n > 1).map(([id, n]) => ({ id, n }));
  });
  if (duplicates.length > 0) {
    violations.push({
      id: "duplicate-id (a11y.mjs)",
      impact: "serious",
      help: "Every id must be unique on the page",
      nodes: duplicates.map(({ id, n }) => ({ target: `#${id}`, html: `${n} elements`, summary: "" })),
      count: duplicates.length,
    });
  }
  // The stylesheet has a dark scheme: its contrast is checked as well.
  await page.emulateMedia({ colorScheme: "dark" });
  await settle(page);
  const dark = await runAxe(page, { runOnly: { type: "rule", values: ["color-contrast"] }, resultTypes: ["violations"] });
  await page.emulateMedia({ colorScheme: "light" });
  const entry = {
    name,
    url: new URL(page.url()).pathname,
    lang: await page.getAttribute("html", "lang"),
    violations,
    dark_violations: dark,
  };
  if (reporter) entry.phone = await phoneChecks(page);
  pages.push(entry);
  return entry;
}

/* ---------- the reporter pages ---------- */

const SYMBOLS = "23456789ABCDEFGHJKMNPQRSTVWXYZ";

async function fillReport(page, { what, mode, name, emptyFile = false }) {
  const category = await page.locator("#category option:not([value=''])").first().getAttribute("value");
  await page.selectOption("#category", category);
  await page.fill("#what", what);
  await page.check(mode === "confidential" ? "#mode-confidential" : "#mode-anonymous");
  if (name !== undefined) await page.fill("#name", name);
  const files = [{ name: "note.txt", mimeType: "text/plain", buffer: Buffer.from("a file for the accessibility run\n") }];
  if (emptyFile) files.push({ name: "empty.txt", mimeType: "text/plain", buffer: Buffer.alloc(0) });
  await page.setInputFiles("#attachments", files);
}

async function openMailbox(page, receipt) {
  await page.fill("#receipt", receipt);
  await Promise.all([
    page.waitForURL((u) => u.pathname === "/mailbox" || u.pathname === "/follow-up", { waitUntil: "load" }),
    page.locator('#follow-up-form button[type="submit"]').click(),
  ]);
}

/** Waits until every `[data-age]` or `[data-age-src]` item of the page is handled; fails on a failed one. */
async function decrypted(page) {
  await until("the page to decrypt", async () => {
    if ((await page.locator('[data-decrypted="failed"]').count()) > 0) fail(`decryption failed: ${await pageError(page)}`);
    return (await page.locator('[data-format]:is([data-age], [data-age-src]:not([data-age-src=""])):not([data-decrypted])').count()) === 0;
  });
}

async function reporterWithScript(browser, base, richReceipt) {
  const problems = [];
  const context = await newContext(browser);
  try {
    // The failed follow-up answers 401, the closed mailbox too: the console notes them.
    const page = await watchedPage(context, problems, { ignore: [/status of 40[14]/] });
    await page.goto(`${base}/?lang=en`);
    await audit(page, "landing", { reporter: true });

    await waitForLoad(page, () => page.locator('main a.btn[href^="/report"]').click());
    check((await page.getAttribute("body", "data-page")) === "report", "no report form");
    await until("the script to show #browser-protection", () => page.locator("#browser-protection").isVisible());
    await audit(page, "report form", { reporter: true });

    // A photo: the metadata warning and the choice to remove it appear.
    await page.setInputFiles("#attachments", {
      name: "photo.jpg",
      mimeType: "image/jpeg",
      buffer: Buffer.from([0xff, 0xd8, 0xff, 0xd9]),
    });
    await until("the metadata warning", () => page.locator("#metadata-warning").isVisible());
    await audit(page, "report form (photo chosen)", { reporter: true });

    await fillReport(page, { what: "Accessibility run: a report sealed in the browser.", mode: "anonymous" });
    await page.locator('#report-form button[type="submit"]').click();
    await until("the receipt", async () => {
      const el = page.locator("#receipt[data-sealed]");
      if ((await el.count()) === 0) return null;
      const v = await text(el);
      return v === "" ? null : v;
    });
    await audit(page, "receipt (browser encryption)", { reporter: true });

    await waitForLoad(page, () => page.locator('main a[href^="/follow-up"]').click());
    await audit(page, "follow-up", { reporter: true });

    // A receipt that opens nothing: the script sends its lookup value, the server says no.
    await openMailbox(page, Array.from({ length: 6 }, () => SYMBOLS.slice(0, 4)).join("-"));
    check((await page.getAttribute("body", "data-page")) === "follow-up", "a wrong receipt opened a mailbox");
    check((await page.locator('[role="alert"]').count()) > 0, "no error shown for a wrong receipt");
    await audit(page, "follow-up (failed)", { reporter: true });

    // The case with a thread: report, identity, files, messages from the team.
    await openMailbox(page, richReceipt);
    check((await page.getAttribute("body", "data-sealed")) !== null, "the mailbox opened by the script is not sealed");
    await decrypted(page);
    await audit(page, "mailbox (sealed, decrypted in the browser)", { reporter: true });

    // Another tab has no reporter key: the mailbox says it is locked.
    const other = await watchedPage(context, problems);
    await other.goto(`${base}/mailbox?lang=en`);
    await until("#mailbox-locked", () => other.locator("#mailbox-locked").isVisible());
    await audit(other, "mailbox (sealed, locked in a new tab)", { reporter: true });
    await other.close();

    // A reply, encrypted by the script; the page comes back with a notice.
    await page.fill("#message", "Accessibility run: the invoices follow.");
    await Promise.all([
      page.waitForURL((u) => u.pathname === "/mailbox" && u.searchParams.has("sent"), { waitUntil: "load" }),
      page.locator('#reply-form button[type="submit"]').click(),
    ]);
    await decrypted(page);
    check((await page.locator("ol.thread > li.me").count()) > 0, "the reply is not in the thread");
    await audit(page, "mailbox (sealed, message sent)", { reporter: true });

    const res = await page.goto(`${base}/no-such-page?lang=en`);
    check(res?.status() === 404, `a missing page answered ${res?.status()}`);
    await audit(page, "error 404", { reporter: true });

    // The mailbox without an open session: the "mailbox closed" page.
    const fresh = await newContext(browser);
    try {
      const closed = await watchedPage(fresh, problems, { ignore: [/status of 40[13]/] });
      await closed.goto(`${base}/mailbox?lang=en`);
      await audit(closed, "mailbox closed (error page)", { reporter: true });
    } finally {
      await fresh.close();
    }
    checkProblems(problems, "the reporter pages (JavaScript on) reported problems");
  } finally {
    await context.close();
  }
}

async function reporterWithoutScript(browser, base, richReceipt) {
  const problems = [];
  // axe needs timers, which a context without JavaScript does not run: the pages are shown as
  // without JavaScript by withholding the page script (answered with an empty one).
  const context = await newContext(browser);
  await context.route("**/static/reporter.js", (route) =>
    route.fulfill({ status: 200, contentType: "text/javascript", body: "// withheld by a11y.mjs\n" }),
  );
  try {
    // A form sent back with its errors answers 422.
    const page = await watchedPage(context, problems, { ignore: [/status of 422/] });
    await page.goto(`${base}/report?lang=en`);
    // Confidential without a name, and an empty file: the server sends the form back with
    // its errors.
    await fillReport(page, { what: "Accessibility run: a report the server encrypts.", mode: "confidential", emptyFile: true });
    await waitForLoad(page, () => page.locator('#report-form button[type="submit"]').click());
    check((await page.locator("#errors").count()) === 1, `no error summary: ${page.url()}`);
    await audit(page, "report form (validation errors)", { reporter: true });

    await fillReport(page, { what: "Accessibility run: a report the server encrypts.", mode: "confidential", name: "A. Person" });
    await waitForLoad(page, () => page.locator('#report-form button[type="submit"]').click());
    const receipt = await text(page.locator("#receipt"));
    check(receipt !== "", `no receipt: ${await pageError(page)}`);
    await audit(page, "receipt (server encryption)", { reporter: true });

    await page.goto(`${base}/follow-up?lang=en`);
    await openMailbox(page, richReceipt);
    check((await page.getAttribute("body", "data-page")) === "mailbox", `no mailbox: ${await pageError(page)}`);
    check((await page.getAttribute("body", "data-sealed")) === null, "a sealed mailbox without the script");
    await audit(page, "mailbox (server)", { reporter: true });

    // A message longer than the server takes: the page comes back with an error.
    await page.fill("#message", "x".repeat(20_001));
    await waitForLoad(page, () => page.locator('#reply-form button[type="submit"]').click());
    check((await page.locator('[role="alert"]').count()) > 0, `no error for a message too long: ${page.url()}`);
    await audit(page, "mailbox (server, error shown)", { reporter: true });
    checkProblems(problems, "the reporter pages (JavaScript off) reported problems");
  } finally {
    await context.close();
  }
}

/* ---------- the officer pages ---------- */

async function officer(browser, base, opts) {
  const email = need(opts, "email");
  const password = need(opts, "password");
  const secret = need(opts, "totp-secret");
  const keyFile = need(opts, "key-file");
  const enrollLink = need(opts, "enroll-link");
  const reference = need(opts, "case");
  const problems = [];
  const context = await newContext(browser);
  try {
    const page = await watchedPage(context, problems, { ignore: [/status of 40[134]/] });

    await page.goto(enrollLink);
    check((await page.getAttribute("body", "data-page")) === "enroll", "the link did not open the enrollment page");
    await until("the script to enable #generate-key", () => page.locator("#generate-key").isEnabled());
    await audit(page, "officer enrollment", { reporter: false });

    await page.goto(`${base}/officer/login`);
    await audit(page, "officer login", { reporter: false });
    await page.fill("#email", email);
    await page.fill("#password", "not the password at all");
    await page.fill("#code", "000000");
    await waitForLoad(page, () => page.locator('main button[type="submit"]').click());
    check((await page.locator('[role="alert"]').count()) > 0, "no message for a failed login");
    await audit(page, "officer login (failed)", { reporter: false });

    await page.fill("#email", email);
    await page.fill("#password", password);
    await page.fill("#code", totpAt(secret, currentStep() + 1));
    await waitForLoad(page, () => page.locator('main button[type="submit"]').click());
    if ((await page.locator("form#logout").count()) === 0) fail(`login failed: ${await pageError(page)}`);

    await page.goto(`${base}/officer/cases`);
    const caseLink = page.locator(`#case-list a[href="/officer/cases/${reference}"]`);
    check((await caseLink.count()) === 1, `the case list does not show ${reference}`);
    await audit(page, "officer case list", { reporter: false });

    await waitForLoad(page, () => caseLink.click());
    await until("#key-unlock to ask for the key", () => page.locator("section#key-unlock").isVisible());
    await audit(page, "officer case (locked)", { reporter: false });
    await page.setInputFiles("#identity-file", keyFile);
    await decrypted(page);
    await audit(page, "officer case (decrypted)", { reporter: false });

    for (const [path, name, reporter] of [
      ["/officer/admin/accounts", "admin accounts"],
      ["/officer/admin/settings", "admin settings"],
      ["/officer/admin/groups", "admin triage groups"],
      ["/officer/audit/leave-outs", "auditor leave-outs"],
      ["/officer/admin/entities", "admin entities"],
      ["/officer/admin/entities/alpha", "admin entity"],
      ["/officer/audit", "audit log"],
      ["/officer/stats", "statistics"],
      ["/officer/report", "enter a report"],
      ["/officer/account", "officer account"],
      ["/officer/no-such-page", "officer 404"],
      ["/e/alpha/?lang=en", "entity landing", true],
      ["/e/nope/?lang=en", "entity 404", true],
    ]) {
      await page.goto(`${base}${path}`);
      await audit(page, name, { reporter: Boolean(reporter) });
    }
    checkProblems(problems, "the officer pages reported problems");
  } finally {
    await context.close();
  }
}

/* ---------- main ---------- */

async function auditAll(opts) {
  const base = need(opts, "base").replace(/\/$/, "");
  const started = Date.now();
  const browser = await launch();
  try {
    const receipt = need(opts, "receipt");
    await probeInjection(browser, base);
    await reporterWithScript(browser, base, receipt);
    await reporterWithoutScript(browser, base, receipt);
    await officer(browser, base, opts);
  } finally {
    await browser.close();
  }
  const version = JSON.parse(readFileSync(require.resolve("axe-core/package.json"), "utf8")).version;
  return { phase: "audit", axe_version: version, axe_injection: injection, pages, ms: Date.now() - started };
}

run("a11y.mjs", OPTIONS, { audit: auditAll });
