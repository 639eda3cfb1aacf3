// Printing the posters in Debian's Chromium, as an admin would: each poster page is opened
// with the admin's session, checked for a clipped poster (content taller or wider than the
// page, which the poster's box would cut off) and for CSP violations or failed requests,
// then printed to PDF with the page size its CSS asks for. Run by
// tests/tests/browser_posters.rs:
//
//   node posters.mjs print --base URL --cookie "name=value; …" --paths P1,P2,… --out DIR
//     Prints {posters: [{path, pdf, screenshot, clipped_px, images}]} (screenshots and each page's
//     HTML go to SPEAKUP_ARTIFACTS; `images` are the poster's <img>: src, alt, whether it loaded
//     and its printed height in CSS px); the Rust test then counts the pages of each PDF and
//     decodes its QR codes.

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { ARTIFACTS, check, checkProblems, launch, need, newContext, run, watchedPage } from "./common.mjs";

const OPTIONS = {
  base: { type: "string" },
  cookie: { type: "string" },
  paths: { type: "string" },
  out: { type: "string" },
};

/** How far the poster's content reaches past its box (CSS px), in print layout. */
async function clipped(page) {
  return page.evaluate(() => {
    const poster = document.getElementById("poster");
    if (!poster) return -1;
    const box = poster.getBoundingClientRect();
    let over = Math.max(0, poster.scrollHeight - poster.clientHeight, poster.scrollWidth - poster.clientWidth);
    for (const el of poster.querySelectorAll("*")) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue;
      over = Math.max(over, r.bottom - box.bottom, r.right - box.right);
    }
    return Math.ceil(over);
  });
}

/** The poster's images (an entity's logo), as printed: address, text, loaded, height. */
async function images(page) {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll("#poster img"), (img) => ({
      src: img.getAttribute("src"),
      alt: img.getAttribute("alt"),
      loaded: img.complete && img.naturalWidth > 0,
      height: Math.round(img.getBoundingClientRect().height),
    })),
  );
}

async function print(opts) {
  const base = need(opts, "base");
  const out = need(opts, "out");
  const paths = need(opts, "paths").split(",");
  mkdirSync(out, { recursive: true });
  mkdirSync(ARTIFACTS, { recursive: true });
  const browser = await launch();
  try {
    const context = await newContext(browser);
    // The session cookie goes as a header: with an https public URL it is a `__Host-`
    // cookie, which Chromium's cookie store refuses for this plain-HTTP test origin.
    await context.setExtraHTTPHeaders({ cookie: need(opts, "cookie") });
    const problems = [];
    const page = await watchedPage(context, problems);
    page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()}`));
    const posters = [];
    for (const path of paths) {
      const res = await page.goto(base + path, { waitUntil: "load" });
      check(res && res.status() === 200, `${path}: status ${res && res.status()}`);
      check(await page.locator("#poster").count() === 1, `${path}: no #poster (signed out?)`);
      const name = path.replace(/^\/officer\/admin\/posters\//, "").replace(/[^a-z0-9-]+/g, "-");
      const screenshot = join(ARTIFACTS, `poster-${name}.png`);
      await page.screenshot({ path: screenshot, fullPage: true });
      writeFileSync(join(ARTIFACTS, `poster-${name}.html`), await page.content());
      await page.emulateMedia({ media: "print" });
      const clippedPx = await clipped(page);
      const imgs = await images(page);
      const pdf = join(out, `${name}.pdf`);
      await page.pdf({ path: pdf, preferCSSPageSize: true, printBackground: true });
      await page.emulateMedia({ media: "screen" });
      posters.push({ path, pdf, screenshot, clipped_px: clippedPx, images: imgs });
    }
    checkProblems(problems, "poster pages");
    return { posters };
  } finally {
    await browser.close();
  }
}

run("posters.mjs", OPTIONS, { print });
