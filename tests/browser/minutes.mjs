// Meetings and minutes in Debian's Chromium, the reporter with JavaScript on (the sealed
// intake and mailbox) or off (plain forms, the server encrypts and decrypts), against a
// running Speak Up server. Run by tests/tests/browser_meetings.rs:
//
//   node minutes.mjs file --js on|off --base URL --lang LANG --what TEXT --availability TEXT
//     fills the report form, asks for a meeting by phone with the availability TEXT, sends it
//     (with JavaScript the script encrypts it all) and prints the receipt.
//
//   node minutes.mjs answer --js on|off --base URL --lang LANG --receipt R --confirm TEXT1
//       --correct TEXT2 --correction CORR
//     opens the mailbox with the receipt through the follow-up form (with JavaScript the
//     script derives the lookup value and the sealed page decrypts in place; without it the
//     server decrypts), finds the team's minutes containing TEXT1 and confirms them (a plain
//     form), then opens the correction of the minutes containing TEXT2, writes CORR (with
//     JavaScript encrypted by the script like any reply; without it the plain reply form with
//     its `corrects` field) and sends it. Prints a JSON summary with the answers the page
//     shows afterwards.

import {
  check,
  checkProblems,
  fail,
  followUp,
  jsFlag,
  launch,
  need,
  newContext,
  pageError,
  run,
  text,
  until,
  waitForLoad,
  watchedPage,
} from "./common.mjs";

const OPTIONS = {
  base: { type: "string" },
  lang: { type: "string" },
  receipt: { type: "string" },
  confirm: { type: "string" },
  correct: { type: "string" },
  correction: { type: "string" },
  what: { type: "string" },
  availability: { type: "string" },
  js: { type: "string" },
};

/** The team's message containing `needle`, once shown (with JavaScript: decrypted by the browser). */
async function minutesEntry(page, needle) {
  const entry = page.locator("ol.thread > li.team", { hasText: needle });
  await until(`the minutes containing ${JSON.stringify(needle)} to decrypt`, async () => {
    if ((await page.locator('[data-decrypted="failed"]').count()) > 0) fail("an item failed to decrypt");
    return (await entry.count()) === 1;
  });
  check((await entry.locator(".minutes").count()) === 1, "the message is not shown as minutes");
  return entry;
}

async function answer(opts) {
  const base = need(opts, "base").replace(/\/$/, "");
  const lang = need(opts, "lang");
  const js = jsFlag(opts);
  const problems = [];
  const browser = await launch();
  try {
    const context = await newContext(browser, { javaScriptEnabled: js });
    const page = await watchedPage(context, problems);
    await followUp(page, base, lang, need(opts, "receipt"), js);

    const first = await minutesEntry(page, need(opts, "confirm"));
    await waitForLoad(page, () => first.locator('form.minutes-confirm button[type="submit"]').click());
    const out = { phase: "answer", js, notice: await text(page.locator('.box.ok[role="status"]').first()) };
    out.confirmed = await text((await minutesEntry(page, opts.confirm)).locator(".minutes-answer"));

    const second = await minutesEntry(page, need(opts, "correct"));
    await waitForLoad(page, () => second.locator("form.minutes-confirm a").click());
    check((await page.locator('#reply-form input[name="corrects"]').count()) === 1, "the reply form names no minutes");
    const plain = (await page.getAttribute("#reply-form", "action")).startsWith("/mailbox/reply?");
    check(plain !== js, `the reply form posts to ${await page.getAttribute("#reply-form", "action")} with JavaScript ${js ? "on" : "off"}`);
    await until("the send button to be enabled", async () => page.locator('#reply-form button[type="submit"]').isEnabled());
    await page.fill("#message", need(opts, "correction"));
    await Promise.all([
      page.waitForURL((u) => u.searchParams.get("sent") === "1", { waitUntil: "load" }),
      page.locator('#reply-form button[type="submit"]').click(),
    ]);
    out.corrected = await text((await minutesEntry(page, opts.correct)).locator(".minutes-answer"));
    const mine = page.locator("ol.thread > li.me", { hasText: opts.correction });
    await until("the correction to show, decrypted, in the thread", async () => (await mine.count()) === 1);
    checkProblems(problems, "the mailbox reported problems");
    return out;
  } finally {
    await browser.close();
  }
}

async function file(opts) {
  const base = need(opts, "base").replace(/\/$/, "");
  const js = jsFlag(opts);
  const problems = [];
  const browser = await launch();
  try {
    const context = await newContext(browser, { javaScriptEnabled: js });
    const page = await watchedPage(context, problems);
    const res = await page.goto(`${base}/report?lang=${need(opts, "lang")}`);
    check(res?.ok(), `report form answered HTTP ${res?.status()}`);
    if (js) await until("the script to show #browser-protection", () => page.locator("#browser-protection").isVisible());
    const category = await page.locator("#category option:not([value=''])").first().getAttribute("value");
    await page.selectOption("#category", category);
    await page.fill("#what", need(opts, "what"));
    await page.selectOption("#meeting", "phone");
    await page.fill("#availability", need(opts, "availability"));
    let receipt;
    if (js) {
      await page.locator('#report-form button[type="submit"]').click();
      receipt = await until("the receipt to appear in #receipt", async () => {
        const r = await page.evaluate(() => document.getElementById("receipt")?.textContent.trim() ?? "");
        return r !== "" ? r : null;
      });
    } else {
      await waitForLoad(page, () => page.locator('#report-form button[type="submit"]').click());
      if ((await page.locator("#receipt").count()) === 0) fail(`no receipt page after sending: ${await pageError(page)}`);
      receipt = await text(page.locator("#receipt"));
    }
    const sealed = (await page.getAttribute("#receipt", "data-sealed")) !== null;
    checkProblems(problems, "the report form reported problems");
    return { phase: "file", receipt, sealed };
  } finally {
    await browser.close();
  }
}

run("minutes.mjs", OPTIONS, { answer, file });
