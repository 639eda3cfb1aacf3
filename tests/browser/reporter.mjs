// Drives the reporter pages in Debian's Chromium, against a running Speak Up server, the way a
// reporter does: nothing here talks to the server except through the browser. Run by
// tests/tests/browser_reporter.rs. Two phases:
//
//   node reporter.mjs journey --base URL --js on|off --plan JSON [--shots NAME]
//     For each report of the plan (a JSON array of {lang, mode, category, what, when_where,
//     involved, name, contact, attachment_name, attachment_text}), in a fresh browser context
//     (JavaScript on or off): opens /?lang=LANG, follows the link to the report form, fills
//     it, attaches the file and sends it; reads the receipt from #receipt and the protection
//     notice from #protection; follows the link to the follow-up page, enters the receipt and
//     checks the mailbox shows the report (with JavaScript: sealed, decrypted in place into
//     dd[data-field=what]), the status, the identity (confidential) and the attachment, which
//     it downloads. With --shots, the first report's pages are photographed (1280 and 360 px
//     wide) as NAME-landing, NAME-report, NAME-receipt, NAME-follow-up and NAME-mailbox; the
//     other reports' pages are measured at 360 px (sideways overflow) without photographs.
//     Prints {js, reports: [{lang, receipt, protection, status, sealed, ...}], ...}.
//
//   node reporter.mjs read --base URL --js on|off --lang LANG --receipt R --expect TEXT
//       [--expect-file NAME --expect-file-text CONTENT] [--shots NAME]
//     opens the mailbox with the receipt and waits for a message from the team containing
//     TEXT (with JavaScript it must decrypt in the browser), downloads the message's file when
//     asked, then closes the mailbox (with JavaScript, checking the reporter key kept in
//     sessionStorage is gone). Prints a JSON summary.
//
// Flags can also be environment variables (--receipt is SPEAKUP_RECEIPT, ...). Screenshots go
// to SPEAKUP_ARTIFACTS (default target/browser-artifacts). Any failure exits 1 with a message.

import { readFileSync } from "node:fs";

import {
  ARTIFACTS,
  Failure,
  VIEWPORTS,
  check,
  checkProblems,
  fail,
  followUp,
  jsFlag,
  need,
  newContext,
  launch,
  openMailbox,
  overflowPx,
  pageError,
  run,
  screenshots,
  settle,
  text,
  until,
  waitForLoad,
  watchedPage,
} from "./common.mjs";

const OPTIONS = {
  base: { type: "string" },
  js: { type: "string" },
  plan: { type: "string" },
  shots: { type: "string" },
  lang: { type: "string" },
  receipt: { type: "string" },
  expect: { type: "string" },
  "expect-file": { type: "string" },
  "expect-file-text": { type: "string" },
};

const SYMBOLS = "23456789ABCDEFGHJKMNPQRSTVWXYZ";
const RECEIPT = new RegExp(`^[${SYMBOLS}]{4}(-[${SYMBOLS}]{4}){5}$`);
/** sessionStorage key holding the reporter's identity in the sealed mailbox. */
const SESSION_KEY = "speakup-reporter";

async function bodyPage(page) {
  return page.getAttribute("body", "data-page");
}

/**
 * Records what a page looks like: with `shots` (a list), screenshots at 1280 and 360 px, each
 * with its sideways overflow; otherwise only the overflow at 360 px, in `widths`.
 */
async function look(page, name, shots, widths) {
  if (shots) {
    await screenshots(page, name, shots);
    return;
  }
  const before = page.viewportSize();
  await page.setViewportSize(VIEWPORTS.phone);
  await settle(page);
  widths.push({ page: name, overflow_px: await overflowPx(page) });
  if (before) await page.setViewportSize(before);
}

/** A failure, with what the page reported before it (script errors say why a step hung). */
function withProblems(err, problems) {
  if (problems.length === 0) return err;
  const msg = err instanceof Failure ? err.message : (err?.stack ?? String(err));
  return new Failure(`${msg}\n  the page reported:\n  ${problems.join("\n  ")}`);
}

/** A fresh context: no cookies, no sessionStorage, scripts on or off. */
async function reporterContext(browser, js) {
  return newContext(browser, { javaScriptEnabled: js });
}

/** Clicks a `.decrypt-download` button or a plain link; returns the saved file. */
async function download(page, target) {
  check((await target.count()) === 1, "no download control");
  await until("the download control to be enabled", async () => (await target.getAttribute("disabled")) === null);
  const [dl] = await Promise.all([page.waitForEvent("download"), target.click()]);
  const failure = await dl.failure();
  check(failure === null, `download failed: ${failure}`);
  const bytes = readFileSync(await dl.path());
  return { name: dl.suggestedFilename(), bytes: bytes.length, text: bytes.toString("utf8") };
}

/** Waits until every `[data-age]` or `[data-age-src]` item is handled; fails on a failed one or a locked mailbox. */
async function allDecrypted(page) {
  await until("every [data-age] and [data-age-src] item to decrypt", async () => {
    const failed = await page.locator('[data-decrypted="failed"]').count();
    if (failed > 0) fail(`${failed} item(s) failed to decrypt in the mailbox: ${await pageError(page)}`);
    if (await page.locator("#mailbox-locked").isVisible()) fail("the mailbox says it is locked in this tab");
    return (await page.locator('[data-format]:is([data-age], [data-age-src]:not([data-age-src=""])):not([data-decrypted])').count()) === 0;
  });
  return page.locator('[data-decrypted="ok"]').count();
}

/** What the reporter's page shows about the report in the mailbox. */
async function readMailbox(page, js, r) {
  const sealed = (await page.getAttribute("body", "data-sealed")) !== null;
  check(sealed === js, js ? "the mailbox opened with JavaScript is not sealed (the receipt was sent?)" : "the mailbox without JavaScript is sealed");
  const status = await text(page.locator('section[aria-labelledby="case"] dl.facts strong'));
  const out = { sealed, status };
  if (js) {
    out.decrypted_items = await allDecrypted(page);
    out.what = await text(page.locator('[data-format="report"] dd[data-field="what"]'));
    if (r.mode === "confidential") {
      out.name = await text(page.locator('[data-format="identity"] dd[data-field="name"]'));
    }
    check(
      await page.locator("#browser-protection").isVisible(),
      "the sealed mailbox does not show #browser-protection",
    );
    const fileName = page.locator('section[aria-labelledby="filed"] ul.files [data-format="text"]').first();
    out.attachment_name = await text(fileName);
    out.attachment = await download(page, page.locator('section[aria-labelledby="filed"] button.decrypt-download').first());
  } else {
    const what = page.locator("dl.report dd.text", { hasText: r.what });
    out.what = (await what.count()) === 1 ? await text(what) : "";
    if (r.mode === "confidential") {
      const name = page.locator("dl.report dd.text", { hasText: r.name });
      out.name = (await name.count()) >= 1 ? await text(name.first()) : "";
    }
    const link = page.locator('section[aria-labelledby="filed"] ul.files a').first();
    out.attachment_name = await text(link);
    out.attachment = await download(page, link);
  }
  return out;
}

/** One report, from the landing page to the mailbox, in its own context. */
async function fileOne(browser, base, js, r, shotName) {
  const problems = [];
  const shots = shotName ? [] : null;
  const widths = [];
  const seen = (name) => look(page, shotName ? `${shotName}-${name}` : `${r.lang}-${name}`, shots, widths);
  const context = await reporterContext(browser, js);
  const started = Date.now();
  let page;
  try {
    page = await watchedPage(context, problems);
    const res = await page.goto(`${base}/?lang=${r.lang}`);
    check(res?.ok(), `landing page answered HTTP ${res?.status()}`);
    check((await page.getAttribute("html", "lang")) === r.lang, `landing page not in ${r.lang}`);
    await seen("landing");
    await waitForLoad(page, () => page.locator('main a.btn[href*="/report"]').click());
    check(
      (await bodyPage(page)) === "report",
      `the landing page's first button did not open the form: ${page.url()}: ${(await page.content()).slice(0, 1500)}`,
    );
    check((await page.getAttribute("html", "lang")) === r.lang, `report form not in ${r.lang}`);

    // The script shows #browser-protection when it will encrypt; without it, it stays hidden.
    const protection = page.locator("#browser-protection");
    if (js) await until("the script to show #browser-protection", () => protection.isVisible(), 15_000);
    else check(await protection.isHidden(), "#browser-protection shown without JavaScript");

    const category = r.category
      ? r.category
      : await page.locator("#category option:not([value=''])").first().getAttribute("value");
    await page.selectOption("#category", category);
    await page.fill("#what", r.what);
    await page.fill("#when_where", r.when_where ?? "");
    await page.fill("#involved", r.involved ?? "");
    await page.check(r.mode === "confidential" ? "#mode-confidential" : "#mode-anonymous");
    if (r.mode === "confidential") {
      await page.fill("#name", r.name);
      await page.fill("#contact", r.contact ?? "");
    }
    await page.setInputFiles("#attachments", {
      name: r.attachment_name,
      mimeType: "text/plain",
      buffer: Buffer.from(r.attachment_text),
    });
    await seen("report");

    const submit = page.locator('#report-form button[type="submit"]');
    let receipt;
    if (js) {
      // The script posts the sealed report itself and replaces the page with the answer.
      await submit.click();
      // Read in one step: the script replaces the whole body when the answer arrives.
      receipt = await until("the receipt to appear in #receipt", async () => {
        const state = await page.evaluate(() => ({
          form: document.getElementById("report-form") !== null,
          invalid: document.querySelectorAll("#report-form [aria-invalid=true]").length,
          status: document.getElementById("send-status")?.textContent ?? "",
          receipt: document.getElementById("receipt")?.textContent.trim() ?? null,
          main: document.querySelector("main")?.textContent.replace(/\s+/g, " ").trim().slice(0, 500) ?? "",
          failed: (() => {
            try {
              return JSON.parse(document.getElementById("speakup-text")?.textContent ?? "{}").send_failed ?? null;
            } catch {
              return null;
            }
          })(),
        }));
        if (state.form) {
          if (state.invalid > 0) fail(`the script refused the report: ${state.status}`);
          if (state.failed && state.status.startsWith(state.failed)) fail(`the script could not send the report: ${state.status}`);
          return null;
        }
        if (state.receipt === null) fail(`no receipt page after sending: ${state.main}`);
        return state.receipt === "" ? null : state.receipt;
      });
      check(
        (await page.locator("#receipt[data-sealed]").count()) === 1,
        "the receipt page is not the sealed one (#receipt has no data-sealed)",
      );
      check(new URL(page.url()).pathname.endsWith("/report"), `the script navigated away: ${page.url()}`);
    } else {
      await waitForLoad(page, () => submit.click());
      const el = page.locator("#receipt");
      if ((await el.count()) === 0) fail(`no receipt page after sending (${page.url()}): ${await pageError(page)}`);
      receipt = await text(el);
      check((await page.locator("#receipt[data-sealed]").count()) === 0, "a sealed receipt page without JavaScript");
    }
    check(RECEIPT.test(receipt), `#receipt shows ${JSON.stringify(receipt)}, not a grouped receipt`);
    const protectionText = await text(page.locator("#protection"));
    const title = await page.title();
    const lang = await page.getAttribute("html", "lang");
    const reference = await text(page.locator("dl.facts dd").first());
    await seen("receipt");

    await waitForLoad(page, () => page.locator('main a[href^="/follow-up"]').click());
    check((await page.getAttribute("html", "lang")) === r.lang, `follow-up page not in ${r.lang}`);
    await openMailbox(page, receipt, seen);
    const mailbox = await readMailbox(page, js, r);
    await seen("mailbox");
    checkProblems(problems, `the reporter pages (${r.lang}, JavaScript ${js ? "on" : "off"}) reported problems`);
    return {
      lang: r.lang,
      mode: r.mode,
      receipt,
      reference,
      protection: protectionText,
      receipt_title: title,
      receipt_lang: lang,
      ...mailbox,
      screenshots: shots ?? [],
      phone_widths: widths,
      ms: Date.now() - started,
    };
  } catch (err) {
    throw withProblems(err, problems);
  } finally {
    await context.close();
  }
}

async function journey(opts) {
  const base = need(opts, "base").replace(/\/$/, "");
  const js = jsFlag(opts);
  const plan = JSON.parse(need(opts, "plan"));
  check(Array.isArray(plan) && plan.length > 0, "--plan must be a non-empty JSON array");
  const browser = await launch();
  try {
    const reports = [];
    for (const [i, r] of plan.entries()) {
      reports.push(await fileOne(browser, base, js, r, i === 0 ? opts.shots : undefined));
    }
    return { phase: "journey", js, reports, artifacts: ARTIFACTS };
  } finally {
    await browser.close();
  }
}

async function read(opts) {
  const base = need(opts, "base").replace(/\/$/, "");
  const js = jsFlag(opts);
  const lang = need(opts, "lang");
  const receipt = need(opts, "receipt");
  const expect = need(opts, "expect");
  const fileName = opts["expect-file"] || "";
  const shotName = opts.shots;
  const shots = shotName ? [] : null;
  const problems = [];
  const browser = await launch();
  try {
    const context = await reporterContext(browser, js);
    const page = await watchedPage(context, problems);
    const sealed = await followUp(page, base, lang, receipt, js);
    const out = { phase: "read", js, sealed };
    if (js) {
      out.decrypted_items = await allDecrypted(page);
      out.key_in_session = await page.evaluate((k) => sessionStorage.getItem(k) !== null, SESSION_KEY);
    }
    const message = page.locator("ol.thread > li.team", { hasText: expect });
    await until(`a message from the team containing ${JSON.stringify(expect)}`, async () => (await message.count()) >= 1);
    out.message = await text(message.first().locator(".text").first());
    out.status = await text(page.locator('section[aria-labelledby="case"] dl.facts strong'));
    if (fileName) {
      const item = message.first();
      if (js) {
        out.file_name = await text(item.locator('ul.files [data-format="text"]').first());
        out.file = await download(page, item.locator("button.decrypt-download").first());
      } else {
        out.file_name = await text(item.locator("ul.files a").first());
        out.file = await download(page, item.locator("ul.files a").first());
      }
      check(out.file.name === fileName, `the team's file was saved as ${out.file.name}, not ${fileName}`);
      check(
        out.file.text === opts["expect-file-text"],
        `the team's file holds ${JSON.stringify(out.file.text)}`,
      );
    }
    if (shots) await screenshots(page, `${shotName}-mailbox-reply`, shots);

    // Close the mailbox: the script forgets the reporter key before the form posts.
    await waitForLoad(page, () => page.locator('#mailbox-logout button[type="submit"]').click());
    if (js) {
      out.key_after_logout = await page.evaluate((k) => sessionStorage.getItem(k) !== null, SESSION_KEY);
      check(!out.key_after_logout, `sessionStorage ${SESSION_KEY} still set after closing the mailbox`);
    }
    const again = await page.goto(`${base}/mailbox?lang=${lang}`);
    out.after_logout_status = again?.status();
    check((await page.locator("dl.report").count()) === 0, "the mailbox still opens after closing it");
    checkProblems(
      problems.filter((p) => !/status of 40[13]/.test(p)),
      `the mailbox (JavaScript ${js ? "on" : "off"}) reported problems`,
    );
    out.screenshots = shots ?? [];
    return out;
  } catch (err) {
    throw withProblems(err, problems);
  } finally {
    await browser.close();
  }
}

run("reporter.mjs", OPTIONS, { journey, read });
