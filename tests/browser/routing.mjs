// Routing before sealing in Chromium, with JavaScript (tests/tests/browser_routing.rs). One
// phase, `file`: on /report, choosing a category that routes hides the officers who would not
// read it; ticking three officers is refused in the page (nothing is sent, the form stays
// filled); with one officer left out the browser seals the report and the receipt appears.
// Prints what it saw as JSON.

import { check, checkProblems, fail, launch, newContext, run, text, until, watchedPage } from "./common.mjs";

const OPTIONS = {
  base: { type: "string" },
  category: { type: "string" },
  "leave-out": { type: "string" },
  what: { type: "string" },
};

async function file(opts) {
  const base = opts.base.replace(/\/$/, "");
  const problems = [];
  const browser = await launch();
  try {
    const context = await newContext(browser, { javaScriptEnabled: true });
    const page = await watchedPage(context, problems);
    const res = await page.goto(`${base}/report?lang=en`);
    check(res?.ok(), `report form answered HTTP ${res?.status()}`);
    await until("the script to show #browser-protection", () => page.locator("#browser-protection").isVisible(), 15_000);
    const choices = page.locator("#leave-out [data-officer]");
    const offered = await choices.count();
    check(offered >= 3, `expected the leave-out choices, found ${offered}`);
    await page.fill("#what", opts.what);
    await page.selectOption("#category", "fraud");

    // Ticking three: refused by the script before anything is sent.
    for (let i = 0; i < 3; i++) await choices.nth(i).locator("input").check();
    await page.locator('#report-form button[type="submit"]').click();
    const status = await until("the too-many message", async () => {
      const s = await text(page.locator("#send-status"));
      return s.includes("at most two") ? s : null;
    });
    check((await page.inputValue("#what")) === opts.what, "the form lost the report after a refusal");
    for (let i = 0; i < 3; i++) await choices.nth(i).locator("input").uncheck();

    // A routed category: only its readers stay offered.
    await page.selectOption("#category", opts.category);
    const shown = await page.locator("#leave-out [data-officer]:not([hidden])").count();
    await page.selectOption("#category", "fraud");
    const shownFraud = await page.locator("#leave-out [data-officer]:not([hidden])").count();

    // One left out, then sent: the browser seals and the receipt appears.
    await page.check(`#leave-out-${opts["leave-out"]}`);
    await page.locator('#report-form button[type="submit"]').click();
    // Read in one step: the script replaces the whole body when the answer arrives.
    const receipt = await until("the receipt", async () => {
      const state = await page.evaluate(() => ({
        form: document.getElementById("report-form") !== null,
        status: document.getElementById("send-status")?.textContent ?? "",
        receipt: document.getElementById("receipt")?.textContent.trim() ?? "",
      }));
      if (state.form && state.status.includes("failed")) fail(`the report was not sent: ${state.status}`);
      return !state.form && state.receipt.length > 20 ? state.receipt : null;
    });
    checkProblems(problems, "the report form reported problems");
    return { phase: "file", offered, shown, shown_fraud: shownFraud, status, receipt };
  } finally {
    await browser.close();
  }
}

run("routing.mjs", OPTIONS, { file });
