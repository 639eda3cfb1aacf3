// The committed bundle and the sources keep the CSP and XSS rules: no eval or Function
// constructor, no HTML sinks, no source map or absolute paths, and the bundle is exactly what
// `npm run build` makes from these sources.

import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { test } from "node:test";

import { build } from "esbuild";

import { options } from "../build.js";

const bundleUrl = new URL("../../static/officer.js", import.meta.url);
const bundle = readFileSync(bundleUrl, "utf8");
const srcDir = new URL("../src/", import.meta.url);
const sources = readdirSync(srcDir)
  .filter((f) => f.endsWith(".js"))
  .map((f) => [f, readFileSync(new URL(f, srcDir), "utf8")]);

const EVAL = /(^|[^\w$.])eval\s*\(/;
const FUNCTION_CTOR = /new\s+Function\s*\(|(^|[^\w$.])Function\s*\(/;
const STRING_TIMER = /set(Timeout|Interval)\s*\(\s*["'`]/;
const HTML_SINKS = /\b(innerHTML|outerHTML|insertAdjacentHTML|document\.write|createContextualFragment|srcdoc)\b/;

test("the bundle exists and keeps the licenses", () => {
  assert.ok(bundle.length > 10_000);
  assert.match(bundle, /age-encryption \(typage\), Copyright 2023 The age Authors, BSD-3-Clause/);
  assert.match(bundle, /noble-curves - MIT License/);
  assert.match(bundle, /scure-base - MIT License/);
});

test("the bundle has no eval, no Function constructor, no string timers", () => {
  assert.doesNotMatch(bundle, EVAL);
  assert.doesNotMatch(bundle, FUNCTION_CTOR);
  assert.doesNotMatch(bundle, STRING_TIMER);
  assert.ok(!bundle.includes("new Function"));
  assert.ok(!bundle.includes("eval("));
});

test("the bundle has no HTML sinks, source map, absolute paths or remote URLs to load", () => {
  assert.doesNotMatch(bundle, HTML_SINKS);
  assert.ok(!bundle.includes("sourceMappingURL"));
  assert.ok(!bundle.includes(new URL("../", import.meta.url).pathname));
  assert.doesNotMatch(bundle, /\bimport\s*\(|importScripts|WebAssembly/);
});

test("the sources never place text as HTML and never evaluate strings", () => {
  for (const [file, code] of sources) {
    assert.doesNotMatch(code, HTML_SINKS, file);
    assert.doesNotMatch(code, EVAL, file);
    assert.doesNotMatch(code, FUNCTION_CTOR, file);
    assert.doesNotMatch(code, STRING_TIMER, file);
  }
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

test("the committed bundle is what npm run build makes (deterministic)", async () => {
  const built = async () => {
    const r = await build({ ...options, write: false, logLevel: "silent" });
    assert.equal(r.outputFiles.length, 1);
    return r.outputFiles[0].text;
  };
  const first = await built();
  assert.equal(await built(), first, "two builds differ");
  assert.ok(first === bundle, "frontend/static/officer.js is stale: run `npm run build` in frontend/js");
});
