// Meetings and minutes in Debian's Chromium with JavaScript on (the sealed intake and
// mailbox), against a running Speak Up server. Run by tests/tests/browser_meetings.rs:
//
//   node minutes.mjs file --base URL --lang LANG --what TEXT --availability TEXT
//     fills the report form, asks for a meeting by phone with the availability TEXT, sends it
//     (the script encrypts it all) and prints the receipt.
//
//   node minutes.mjs answer --base URL --lang LANG --receipt R --confirm TEXT1 --correct TEXT2
//       --correction CORR
//     opens the mailbox with the receipt (the script derives the lookup value; the page is
//     sealed and decrypts in place), waits for the team's minutes containing TEXT1 and
//     confirms them (a plain form), then opens the correction of the minutes containing TEXT2,
//     writes CORR (encrypted by the script like any reply) and sends it. Prints a JSON summary
//     with the answers the page shows afterwards.

import {
  check,
  checkProblems,
  fail,
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
};

async function openSealedMailbox(page, base, lang, receipt) {
  const res = await page.goto(`${base}/follow-up?lang=${lang}`);
  check(res?.ok(), `follow-up page answered HTTP ${res?.status()}`);
  await page.fill("#receipt", receipt);
  await Promise.all([
    page.waitForURL((u) => u.pathname === "/mailbox" || u.pathname === "/follow-up", { waitUntil: "load" }),
    page.locator('#follow-up-form button[type="submit"]').click(),
  ]);
  if ((await page.getAttribute("body", "data-page")) !== "mailbox") {
    fail(`the receipt did not open the mailbox: ${await pageError(page)}`);
  }
  check((await page.getAttribute("body", "data-sealed")) !== null, "the mailbox is not sealed with JavaScript on");
}

/** The team's message containing `needle`, once the browser decrypted it. */
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
  const problems = [];
  const browser = await launch();
  try {
    const context = await newContext(browser, { javaScriptEnabled: true });
    const page = await watchedPage(context, problems);
    await openSealedMailbox(page, base, lang, need(opts, "receipt"));

    const first = await minutesEntry(page, need(opts, "confirm"));
    await waitForLoad(page, () => first.locator('form.minutes-confirm button[type="submit"]').click());
    const out = { phase: "answer", notice: await text(page.locator('.box.ok[role="status"]').first()) };
    out.confirmed = await text((await minutesEntry(page, opts.confirm)).locator(".minutes-answer"));

    const second = await minutesEntry(page, need(opts, "correct"));
    await waitForLoad(page, () => second.locator("form.minutes-confirm a").click());
    check((await page.locator('#reply-form input[name="corrects"]').count()) === 1, "the reply form names no minutes");
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
  const problems = [];
  const browser = await launch();
  try {
    const context = await newContext(browser, { javaScriptEnabled: true });
    const page = await watchedPage(context, problems);
    const res = await page.goto(`${base}/report?lang=${need(opts, "lang")}`);
    check(res?.ok(), `report form answered HTTP ${res?.status()}`);
    await until("the script to show #browser-protection", () => page.locator("#browser-protection").isVisible());
    const category = await page.locator("#category option:not([value=''])").first().getAttribute("value");
    await page.selectOption("#category", category);
    await page.fill("#what", need(opts, "what"));
    await page.selectOption("#meeting", "phone");
    await page.fill("#availability", need(opts, "availability"));
    await page.locator('#report-form button[type="submit"]').click();
    const receipt = await until("the receipt to appear in #receipt", async () => {
      const r = await page.evaluate(() => document.getElementById("receipt")?.textContent.trim() ?? "");
      return r !== "" ? r : null;
    });
    const sealed = (await page.getAttribute("#receipt", "data-sealed")) !== null;
    checkProblems(problems, "the report form reported problems");
    return { phase: "file", receipt, sealed };
  } finally {
    await browser.close();
  }
}

run("minutes.mjs", OPTIONS, { answer, file });
