// The officer workspace at a desktop's and a phone's width, in Debian's Chromium against a
// running Speak Up server. Run by tests/tests/browser_workspace.rs:
//
//   node workspace.mjs check --base URL --email E --password P --totp-secret S --key-file F
//       --case REF --expect JSON
//     JSON: {counters: {id: n}, filters: {id: [references]}, kinds: [data-kind…], reason}.
//     Case list at 1440 px: each counter shows its number and its link lists exactly its
//     cases; the filters share one row; the deadline columns are inside the window and the
//     table does not scroll sideways. At 360 px: the page does not scroll sideways and the
//     deadline cells are inside the window. Case page (key unlocked, decrypted in the browser):
//     the timeline lists the expected kinds in order, days never going back, the status
//     change shows its decrypted reason; at 1440 px the panel stands beside the timeline, at
//     360 px below it, without sideways scrolling. axe-core (exact-pinned, injected through
//     the DevTools protocol as in a11y.mjs) runs on each page at both widths in the light and
//     the dark colour scheme.
//     Prints {pages: [{name, width, scheme, violations}], checks: {...}}; axe violations are
//     reported, the Rust test judges them. Layout and content failures fail here.

import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";

import {
  ARTIFACTS,
  check,
  checkProblems,
  fail,
  launch,
  need,
  newContext,
  pageError,
  run,
  settle,
  signIn,
  until,
  waitForLoad,
  watchedPage,
} from "./common.mjs";

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const DESKTOP = { width: 1440, height: 900 };
const PHONE = { width: 360, height: 740 };

const OPTIONS = {
  base: { type: "string" },
  email: { type: "string" },
  password: { type: "string" },
  "totp-secret": { type: "string" },
  "key-file": { type: "string" },
  case: { type: "string" },
  expect: { type: "string" },
};

const pages = [];

/** axe on the page as it is now, in the light and the dark scheme. */
async function axe(page, name) {
  if (!(await page.evaluate(() => typeof window.axe === "object"))) await page.evaluate(AXE_SOURCE);
  const width = page.viewportSize().width;
  for (const scheme of ["light", "dark"]) {
    await page.emulateMedia({ colorScheme: scheme });
    await settle(page);
    const violations = await page.evaluate(async () => {
      const r = await window.axe.run(document, {
        resultTypes: ["violations"],
        rules: { "target-size": { enabled: true } },
      });
      return r.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        nodes: v.nodes.slice(0, 6).map((n) => ({ target: n.target.join(" "), summary: (n.failureSummary ?? "").slice(0, 300) })),
      }));
    });
    pages.push({ name, width, scheme, violations });
  }
  await page.emulateMedia({ colorScheme: "light" });
  await page.screenshot({ path: `${ARTIFACTS}/workspace-${name.replaceAll(" ", "-")}-${width}.png`, fullPage: true });
}

async function at(page, size) {
  await page.setViewportSize(size);
  await settle(page);
}

/** The innermost elements that reach past the window's right edge (for a failure message). */
async function widest(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll("body *")]
      .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 0.5)
      .filter((el) => ![...el.children].some((c) => c.getBoundingClientRect().right > window.innerWidth + 0.5))
      .slice(0, 8)
      .map((el) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ""}.${el.className} right=${Math.round(el.getBoundingClientRect().right)}`),
  );
}

/** The references the case list shows, sorted. */
async function listed(page) {
  const refs = await page.locator('#case-list a[href^="/officer/cases/"]').allTextContents();
  return refs.map((s) => s.trim()).sort();
}

/** The case list: counters, their links, the filter row and the deadline columns. */
async function caseList(page, base, expect, checks) {
  await at(page, DESKTOP);
  await page.goto(`${base}/officer/cases?lang=en`);
  for (const [id, n] of Object.entries(expect.counters)) {
    const shown = Number((await page.locator(`#${id} .count`).textContent()).trim());
    check(shown === n, `counter ${id} shows ${shown}, expected ${n}`);
  }
  const layout = await page.evaluate(() => {
    const rect = (el) => el.getBoundingClientRect();
    const row = [...document.querySelectorAll("#case-filters > *")].map(rect);
    const cells = [...document.querySelectorAll("#case-list .ack-col, #case-list .feedback-col")].map(rect);
    const region = document.querySelector("#case-list").closest(".scroll");
    return {
      one_row: Math.max(...row.map((r) => r.top)) < Math.min(...row.map((r) => r.bottom)),
      deadline_cells: cells.length,
      deadlines_inside: cells.every((r) => r.width > 0 && r.left >= 0 && r.right <= window.innerWidth),
      table_scrolls: region.scrollWidth - region.clientWidth,
      page_scrolls: document.documentElement.scrollWidth - window.innerWidth,
    };
  });
  checks.list_desktop = layout;
  check(layout.one_row, "the filters do not share one row at 1440 px");
  check(layout.deadline_cells > 0 && layout.deadlines_inside, `deadline columns cut off at 1440 px: ${JSON.stringify(layout)}`);
  check(layout.table_scrolls <= 0 && layout.page_scrolls <= 0, `the list scrolls sideways at 1440 px: ${JSON.stringify(layout)}`);
  await axe(page, "case list");

  // Each counter's link lists exactly its cases, and is marked as the current one.
  for (const [id, refs] of Object.entries(expect.filters)) {
    await waitForLoad(page, () => page.locator(`#${id}`).click());
    const shown = await listed(page);
    check(JSON.stringify(shown) === JSON.stringify(refs), `${id} lists ${shown}, expected ${refs}`);
    check((await page.getAttribute(`#${id}`, "aria-current")) === "page", `${id} is not marked current`);
  }

  await page.goto(`${base}/officer/cases?lang=en`);
  await at(page, PHONE);
  const phone = await page.evaluate(() => {
    const cells = [...document.querySelectorAll("#case-list td.ack-col, #case-list td.feedback-col")];
    return {
      page_scrolls: document.documentElement.scrollWidth - window.innerWidth,
      deadlines_inside: cells.every((c) => {
        const r = c.getBoundingClientRect();
        return r.width > 0 && r.left >= 0 && r.right <= window.innerWidth;
      }),
    };
  });
  checks.list_phone = phone;
  check(phone.page_scrolls <= 0, `the case list scrolls sideways at 360 px (${phone.page_scrolls} px): ${await widest(page)}`);
  check(phone.deadlines_inside, "deadline cells outside the window at 360 px");
  await axe(page, "case list");
}

/** The case page: the timeline in order, decrypted in the browser, beside or below the panel. */
async function casePage(page, base, reference, keyFile, expect, checks) {
  await at(page, DESKTOP);
  await page.goto(`${base}/officer/cases/${reference}?lang=en`);
  await until("#key-unlock", () => page.locator("section#key-unlock").isVisible());
  await page.setInputFiles("#identity-file", keyFile);
  await until("the page to decrypt", async () => {
    if ((await page.locator('[data-decrypted="failed"]').count()) > 0) fail(`decryption failed: ${await pageError(page)}`);
    return (await page.locator('[data-format]:is([data-age], [data-age-src]:not([data-age-src=""])):not([data-decrypted])').count()) === 0;
  });
  const entries = await page.evaluate(() =>
    [...document.querySelectorAll("#timeline > li")].map((li) => ({
      kind: li.dataset.kind,
      day: li.dataset.day,
      reason: li.querySelector(".reason")?.textContent ?? null,
    })),
  );
  checks.timeline = entries;
  const kinds = entries.map((e) => e.kind);
  check(JSON.stringify(kinds) === JSON.stringify(expect.kinds), `timeline order ${kinds}, expected ${expect.kinds}`);
  const days = entries.map((e) => e.day);
  check(days.every((d, i) => i === 0 || days[i - 1] <= d), `timeline days go back: ${days}`);
  check(entries.some((e) => e.kind === "status" && e.reason === expect.reason), "no status change with its decrypted reason");

  const desk = () =>
    page.evaluate(() => {
      const rect = (sel) => document.querySelector(sel).getBoundingClientRect();
      const main = rect(".case-main");
      const facts = rect(".case-facts");
      const actions = rect(".case-actions");
      return {
        beside: facts.left >= main.right && actions.left >= main.right,
        below: facts.bottom <= main.top && actions.top >= main.bottom,
        page_scrolls: document.documentElement.scrollWidth - window.innerWidth,
      };
    });
  checks.case_desktop = await desk();
  check(checks.case_desktop.beside, `the panel is not beside the timeline at 1440 px: ${JSON.stringify(checks.case_desktop)}`);
  check(checks.case_desktop.page_scrolls <= 0, "the case page scrolls sideways at 1440 px");
  await axe(page, "case page");

  await at(page, PHONE);
  checks.case_phone = await desk();
  check(checks.case_phone.below, `the case page is not one column at 360 px: ${JSON.stringify(checks.case_phone)}`);
  check(checks.case_phone.page_scrolls <= 0, `the case page scrolls sideways at 360 px (${checks.case_phone.page_scrolls} px): ${await widest(page)}`);
  await axe(page, "case page");
}

async function checkAll(opts) {
  const base = need(opts, "base").replace(/\/$/, "");
  const expect = JSON.parse(need(opts, "expect"));
  const started = Date.now();
  const browser = await launch();
  const problems = [];
  const checks = {};
  mkdirSync(ARTIFACTS, { recursive: true });
  try {
    const context = await newContext(browser, { viewport: DESKTOP });
    const page = await watchedPage(context, problems);
    await signIn(page, base, opts);
    await caseList(page, base, expect, checks);
    await casePage(page, base, need(opts, "case"), need(opts, "key-file"), expect, checks);
    checkProblems(problems, "the workspace pages reported problems");
    await context.close();
  } finally {
    await browser.close();
  }
  return { phase: "check", pages, checks, ms: Date.now() - started };
}

run("workspace.mjs", OPTIONS, { check: checkAll });
