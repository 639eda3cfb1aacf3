// Shared by the browser journeys (officer.mjs, reporter.mjs, a11y.mjs, ...): Debian's Chromium
// via playwright-core, flags, TOTP codes, waiting, screenshots, the phone-width checks, the
// officer's sign-in and the reporter's way into the mailbox.
//
// Environment: SPEAKUP_CHROMIUM (default /usr/bin/chromium; never a downloaded browser),
// SPEAKUP_ARTIFACTS (screenshots; default target/browser-artifacts in the repository),
// SPEAKUP_CLOCK_OFFSET (seconds added to this machine's clock for TOTP codes).

import { createHmac } from "node:crypto";
import { mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";

export const CHROMIUM = process.env.SPEAKUP_CHROMIUM || "/usr/bin/chromium";
export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const ARTIFACTS = resolve(process.env.SPEAKUP_ARTIFACTS || join(REPO, "target/browser-artifacts"));
export const TIMEOUT_MS = 60_000;
export const VIEWPORTS = {
  desktop: { width: 1280, height: 800 },
  phone: { width: 360, height: 740 },
};

export class Failure extends Error {}

export function fail(message) {
  throw new Failure(message);
}

export function check(condition, message) {
  if (!condition) fail(message);
}

/* ---------- arguments ---------- */

/**
 * Parses `argv` with `spec` (node:util parseArgs options); each flag can also be given as an
 * environment variable: --totp-secret is SPEAKUP_TOTP_SECRET, and so on.
 */
export function options(argv, spec) {
  const { values, positionals } = parseArgs({ args: argv, options: spec, allowPositionals: true });
  for (const name of Object.keys(spec)) {
    const env = `SPEAKUP_${name.toUpperCase().replaceAll("-", "_")}`;
    if (values[name] === undefined && process.env[env] !== undefined) values[name] = process.env[env];
  }
  return { phase: positionals[0] ?? process.env.SPEAKUP_PHASE, opts: values };
}

export function need(opts, name) {
  const v = opts[name];
  if (v === undefined || v === "") fail(`missing --${name} (or SPEAKUP_${name.toUpperCase().replaceAll("-", "_")})`);
  return v;
}

/* ---------- TOTP (RFC 6238: HMAC-SHA-1, 30 s steps, 6 digits) ---------- */

function base32Decode(text) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  const clean = text.toUpperCase().replace(/[\s=]/g, "");
  let bits = 0;
  let value = 0;
  const out = [];
  for (const c of clean) {
    const i = alphabet.indexOf(c);
    check(i >= 0, `TOTP secret is not base32: ${JSON.stringify(c)}`);
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

export function totpAt(secret, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac("sha1", base32Decode(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const n = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(n).padStart(6, "0");
}

/** The server's time step: this machine's clock plus SPEAKUP_CLOCK_OFFSET. */
export function currentStep() {
  const offset = Number(process.env.SPEAKUP_CLOCK_OFFSET || "0");
  check(Number.isFinite(offset), "SPEAKUP_CLOCK_OFFSET is not a number");
  return Math.floor((Date.now() / 1000 + offset) / 30);
}

/* ---------- browser ---------- */

export async function launch() {
  return chromium.launch({ executablePath: CHROMIUM, headless: true });
}

/** A fresh context (no cookies, no storage); `extra` goes to `browser.newContext`. */
export async function newContext(browser, extra = {}) {
  const context = await browser.newContext({
    acceptDownloads: true,
    viewport: VIEWPORTS.desktop,
    locale: "en-US",
    timezoneId: "UTC",
    ...extra,
  });
  context.setDefaultTimeout(TIMEOUT_MS);
  context.setDefaultNavigationTimeout(TIMEOUT_MS);
  return context;
}

export async function openBrowser(extra = {}) {
  const browser = await launch();
  const context = await newContext(browser, extra);
  return { browser, context };
}

/** A page whose script errors, CSP violations and failed requests fail the run. */
export async function watchedPage(context, problems, { ignore = [] } = {}) {
  const page = await context.newPage();
  page.on("pageerror", (err) => problems.push(`page error on ${page.url()}: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() !== "error") return;
    const text = msg.text();
    // Chromium asks for /favicon.ico on its own; the server has none.
    if (/favicon\.ico/.test(msg.location()?.url ?? "")) return;
    if (ignore.some((re) => re.test(text))) return;
    problems.push(`console error on ${page.url()}: ${text}`);
  });
  return page;
}

export function checkProblems(problems, where) {
  if (problems.length > 0) fail(`${where}:\n  ${problems.join("\n  ")}`);
}

/** How far the page is wider than the window (CSS px; 0 when it does not scroll sideways). */
export async function overflowPx(page) {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  return Math.max(0, overflow);
}

/**
 * Lets a new viewport or colour scheme take effect: forces a layout (a synchronous evaluation
 * works where the page's own scripts are off, where requestAnimationFrame would never fire),
 * then gives the compositor a moment.
 */
export async function settle(page) {
  await page.evaluate(() => document.documentElement.getBoundingClientRect().width);
  await page.waitForTimeout(50);
}

/** Full-page screenshots at each width of VIEWPORTS, each with its sideways overflow. */
export async function screenshots(page, name, shots) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const before = page.viewportSize();
  for (const [label, size] of Object.entries(VIEWPORTS)) {
    await page.setViewportSize(size);
    await settle(page);
    // The page at this width: no sideways scrolling on a phone.
    const overflow = await overflowPx(page);
    const path = join(ARTIFACTS, `${name}-${label}.png`);
    await page.screenshot({ path, fullPage: true });
    shots.push({ path, overflow_px: overflow });
  }
  if (before) await page.setViewportSize(before);
}

export async function databases(page) {
  return page.evaluate(async () => (await indexedDB.databases()).map((d) => d.name));
}

export async function text(locator) {
  return ((await locator.textContent()) ?? "").trim();
}

/** Waits until `fn()` (async) returns a truthy value, or fails with `what`. */
export async function until(what, fn, timeoutMs = TIMEOUT_MS) {
  const end = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > end) fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The page's error box (or status line), when it shows one. */
export async function pageError(page) {
  const alerts = await page.locator(".box.alert, [role=alert], #key-status, #send-status").allTextContents();
  return alerts.map((s) => s.trim()).filter(Boolean).join(" | ");
}

export async function waitForLoad(page, action) {
  await Promise.all([page.waitForEvent("load"), action()]);
}

/* ---------- the officer ---------- */

/** Signs in with --email, --password and --totp-secret; fails unless the workspace opens. */
export async function signIn(page, base, opts) {
  await page.goto(`${base}/officer/login?lang=en`);
  await page.fill("#email", need(opts, "email"));
  await page.fill("#password", need(opts, "password"));
  await page.fill("#code", totpAt(need(opts, "totp-secret"), currentStep() + 1));
  await waitForLoad(page, () => page.locator('main button[type="submit"]').click());
  if ((await page.locator("form#logout").count()) === 0) fail(`login failed: ${await pageError(page)}`);
}

/* ---------- the reporter's mailbox ---------- */

/** `--js on|off`: whether the reporter's browser runs JavaScript. */
export function jsFlag(opts) {
  const js = need(opts, "js");
  check(js === "on" || js === "off", `--js must be on or off, not ${js}`);
  return js === "on";
}

/**
 * Opens the mailbox from the follow-up page the browser is on (`seen("follow-up")` first, when
 * given); returns once the mailbox has loaded.
 */
export async function openMailbox(page, receipt, seen) {
  check((await page.getAttribute("body", "data-page")) === "follow-up", `not the follow-up page: ${page.url()}`);
  if (seen) await seen("follow-up");
  await page.fill("#receipt", receipt);
  // With JavaScript the script derives the lookup value first, then submits.
  await Promise.all([
    page.waitForURL((u) => u.pathname === "/mailbox" || u.pathname === "/follow-up", { waitUntil: "load" }),
    page.locator('#follow-up-form button[type="submit"]').click(),
  ]);
  if ((await page.getAttribute("body", "data-page")) !== "mailbox") {
    fail(`the receipt did not open the mailbox (at ${page.url()}): ${await pageError(page)}`);
  }
}

/**
 * Goes to the follow-up page and opens the mailbox with the receipt; it must be the sealed one
 * exactly when JavaScript is on. Returns whether it is sealed.
 */
export async function followUp(page, base, lang, receipt, js) {
  const res = await page.goto(`${base}/follow-up?lang=${lang}`);
  check(res?.ok(), `follow-up page answered HTTP ${res?.status()}`);
  await openMailbox(page, receipt, null);
  const sealed = (await page.getAttribute("body", "data-sealed")) !== null;
  check(sealed === js, `mailbox sealed=${sealed} with JavaScript ${js ? "on" : "off"}`);
  return sealed;
}

/** Runs `phases[phase](opts)` and prints its JSON summary; any failure exits 1. */
export function run(script, spec, phases) {
  const go = async () => {
    const { phase, opts } = options(process.argv.slice(2), spec);
    const fn = Object.hasOwn(phases, phase) ? phases[phase] : null;
    if (!fn) fail(`usage: node ${script} ${Object.keys(phases).join("|")} [--flags] (got ${JSON.stringify(phase)})`);
    const summary = await fn(opts);
    process.stdout.write(`${JSON.stringify(summary)}\n`);
  };
  go().then(
    () => process.exit(0),
    (err) => {
      const msg = err instanceof Failure ? err.message : (err?.stack ?? String(err));
      process.stderr.write(`${script}: FAILED: ${msg}\n`);
      process.exit(1);
    },
  );
}
