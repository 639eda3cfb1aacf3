// The committed bundles and the sources keep the CSP and XSS rules: no eval or Function
// constructor, no HTML sinks, no source map or absolute paths, and each bundle is exactly what
// `npm run build` makes from these sources.

import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { test } from "node:test";

import { build } from "esbuild";

import { bundles, options, reporterOptions } from "../build.js";

const read = (outfile) => readFileSync(new URL(outfile, new URL("../", import.meta.url)), "utf8");
const committed = [
  ["officer.js", options, read(options.outfile)],
  ["reporter.js", reporterOptions, read(reporterOptions.outfile)],
];
const srcDir = new URL("../src/", import.meta.url);
const sources = readdirSync(srcDir)
  .filter((f) => f.endsWith(".js"))
  .map((f) => [f, readFileSync(new URL(f, srcDir), "utf8")]);

const EVAL = /(^|[^\w$.])eval\s*\(/;
const FUNCTION_CTOR = /new\s+Function\s*\(|(^|[^\w$.])Function\s*\(/;
const STRING_TIMER = /set(Timeout|Interval)\s*\(\s*["'`]/;
const HTML_SINKS = /\b(innerHTML|outerHTML|insertAdjacentHTML|document\.write|createContextualFragment|srcdoc)\b/;

test("build.js builds both bundles from their entries", () => {
  assert.deepEqual(
    bundles.map((o) => [o.entryPoints, o.outfile]),
    [
      [["src/officer.js"], "../static/officer.js"],
      [["src/reporter.js"], "../static/reporter.js"],
    ],
  );
  const { entryPoints: _a, outfile: _b, ...officerRest } = options;
  const { entryPoints: _c, outfile: _d, ...reporterRest } = reporterOptions;
  assert.deepEqual(reporterRest, officerRest, "both bundles use the same deterministic options");
  assert.equal(options.sourcemap, false);
  assert.equal(options.minify, true);
});

for (const [name, , code] of committed) {
  test(`${name}: exists and keeps the licenses`, () => {
    assert.ok(code.length > 10_000);
    assert.match(code, /age-encryption \(typage\), Copyright 2023 The age Authors, BSD-3-Clause/);
    assert.match(code, /noble-curves - MIT License/);
    assert.match(code, /scure-base - MIT License/);
  });

  test(`${name}: no eval, no Function constructor, no string timers`, () => {
    assert.doesNotMatch(code, EVAL);
    assert.doesNotMatch(code, FUNCTION_CTOR);
    assert.doesNotMatch(code, STRING_TIMER);
    assert.ok(!code.includes("new Function"));
    assert.ok(!code.includes("eval("));
  });

  test(`${name}: no HTML sinks, source map, absolute paths or remote URLs to load`, () => {
    assert.doesNotMatch(code, HTML_SINKS);
    assert.ok(!code.includes("sourceMappingURL"));
    assert.ok(!code.includes(new URL("../", import.meta.url).pathname));
    assert.doesNotMatch(code, /\bimport\s*\(|importScripts|WebAssembly/);
  });
}

test("reporter.js: its own code only, of a reasonable size", () => {
  const code = committed[1][2];
  // The officer's key store (IndexedDB) is not part of the reporter pages.
  assert.ok(!code.includes("speakup-officer"));
  assert.ok(!code.includes("indexedDB"));
  assert.ok(code.includes("speakup-reporter"));
  assert.ok(code.includes("speakup/receipt/v1/age-identity"));
  assert.ok(code.length < 200_000, `reporter.js is ${code.length} bytes`);
});

test("the sources never place text as HTML and never evaluate strings", () => {
  const names = sources.map(([f]) => f);
  for (const f of ["officer.js", "reporter.js", "dom.js", "receipt.js", "intake.js", "metadata.js", "session.js", "cipher.js", "forms.js", "keys.js", "casefile.js"]) {
    assert.ok(names.includes(f), `${f} is checked`);
  }
  for (const [file, code] of sources) {
    assert.doesNotMatch(code, HTML_SINKS, file);
    assert.doesNotMatch(code, EVAL, file);
    assert.doesNotMatch(code, FUNCTION_CTOR, file);
    assert.doesNotMatch(code, STRING_TIMER, file);
  }
});

test("HTML is parsed in two places only: the server's answers to the sealed report and to the officer-entered one", () => {
  const parsers = sources.flatMap(([file, code]) =>
    [...code.matchAll(/parseFromString|DOMParser\b|createHTMLDocument|\.srcdoc|document\.open\(/g)].map((m) => `${file}:${m[0]}`),
  );
  assert.deepEqual(parsers, [
    "officer.js:DOMParser",
    "officer.js:parseFromString",
    "reporter.js:DOMParser",
    "reporter.js:DOMParser",
    "reporter.js:parseFromString",
  ]);
});

test("the hygiene patterns do catch offenders", () => {
  assert.match('el.innerHTML = x', HTML_SINKS);
  assert.match('el.insertAdjacentHTML("beforeend", x)', HTML_SINKS);
  assert.match("x.outerHTML", HTML_SINKS);
  assert.match(";eval(code)", EVAL);
  assert.match("new Function('return 1')", FUNCTION_CTOR);
  assert.match('setTimeout("go()", 1)', STRING_TIMER);
  assert.doesNotMatch("poly.eval(a, x)", EVAL);
});

for (const [name, opts, code] of committed) {
  test(`${name}: the committed bundle is what npm run build makes (deterministic)`, async () => {
    const built = async () => {
      const r = await build({ ...opts, write: false, logLevel: "silent" });
      assert.equal(r.outputFiles.length, 1);
      return r.outputFiles[0].text;
    };
    const first = await built();
    assert.equal(await built(), first, "two builds differ");
    assert.ok(first === code, `frontend/static/${name} is stale: run \`npm run build\` in frontend/js`);
  });
}
