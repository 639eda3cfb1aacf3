// Builds ../static/officer.js from src/officer.js. Deterministic: the same lockfile gives the
// same bytes (no sourcemap, no timestamps, no absolute paths); licenses are kept at the end.
// `npm run build` runs this; test/bundle.test.js rebuilds in memory and compares.

import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = fileURLToPath(new URL(".", import.meta.url));

export const options = {
  absWorkingDir: here,
  entryPoints: ["src/officer.js"],
  outfile: "../static/officer.js",
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

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await build(options);
}
