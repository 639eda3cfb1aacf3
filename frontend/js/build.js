// Builds ../static/officer.js from src/officer.js and ../static/reporter.js from
// src/reporter.js. Deterministic: the same lockfile gives the same bytes (no sourcemap, no
// timestamps, no absolute paths); licenses are kept at the end. `npm run build` runs this;
// test/bundle.test.js rebuilds both in memory and compares.

import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = fileURLToPath(new URL(".", import.meta.url));

const common = {
  absWorkingDir: here,
  bundle: true,
  format: "iife",
  platform: "browser",
  target: "es2022",
  minify: true,
  legalComments: "eof",
  charset: "utf8",
  sourcemap: false,
  logLevel: "info",
};

/** The officer workspace bundle. */
export const options = {
  ...common,
  entryPoints: ["src/officer.js"],
  outfile: "../static/officer.js",
};

/** The reporter pages' bundle (/report, /follow-up, /mailbox). */
export const reporterOptions = {
  ...common,
  entryPoints: ["src/reporter.js"],
  outfile: "../static/reporter.js",
};

export const bundles = [options, reporterOptions];

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const o of bundles) await build(o);
}
