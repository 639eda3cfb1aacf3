// The DOM plumbing both entry points share (src/dom.js), on a small stand-in for the DOM: each
// stand-in element answers only the selectors it was given, so these tests also pin the
// selectors of docs/browser-contract.md. The pages themselves run in Chromium (tests/browser/).

import assert from "node:assert/strict";
import { test } from "node:test";

import { encrypt, toBase64 } from "../src/cipher.js";
import {
  $,
  $$,
  busy,
  decryptAll,
  decryptElement,
  FETCH_TRIES,
  fetchAge,
  fillFields,
  formReporter,
  loadText,
  plaintextLeaks,
  postParts,
  saveBlob,
  sealedElements,
  setSleep,
  setupDownloads,
  statusLine,
  t,
  text,
  whenParsed,
} from "../src/dom.js";
import { generateOfficerKey } from "../src/keys.js";

const me = await generateOfficerKey();
const other = await generateOfficerKey();

/** An element stand-in: `queries` maps a selector to the elements it finds. */
class El {
  constructor(tag = "div", { id, dataset = {}, attrs = {}, queries = {}, ...props } = {}) {
    this.tagName = tag.toUpperCase();
    this.id = id;
    this.dataset = { ...dataset };
    this.attrs = new Map(Object.entries(attrs));
    this.queries = queries;
    this.children = [];
    this.parent = null;
    this.listeners = {};
    this.textContent = "";
    Object.assign(this, props);
  }
  querySelector(sel) {
    return this.querySelectorAll(sel)[0] ?? null;
  }
  querySelectorAll(sel) {
    return this.queries[sel] ?? [];
  }
  setAttribute(name, value) {
    this.attrs.set(name, String(value));
  }
  getAttribute(name) {
    return this.attrs.has(name) ? this.attrs.get(name) : null;
  }
  hasAttribute(name) {
    return this.attrs.has(name);
  }
  removeAttribute(name) {
    this.attrs.delete(name);
  }
  append(child) {
    this.children.push(child);
    child.parent = this;
  }
  remove() {
    if (this.parent) this.parent.children = this.parent.children.filter((c) => c !== this);
    this.parent = null;
  }
  addEventListener(type, fn) {
    this.listeners[type] = fn;
  }
  click() {
    this.clicked = true;
  }
}

/** A document stand-in holding `elements` (by id) and answering `queries`. */
function fakeDocument({ elements = [], queries = {}, readyState = "complete" } = {}) {
  const doc = new El("#document", { queries, readyState });
  doc.body = new El("body");
  doc.getElementById = (id) => elements.find((e) => e.id === id) ?? null;
  doc.createElement = (tag) => new El(tag);
  return doc;
}

/** Runs `fn` with globals replaced (and put back afterwards, also on failure). */
async function withGlobals(values, fn) {
  const saved = Object.keys(values).map((k) => [k, Object.getOwnPropertyDescriptor(globalThis, k)]);
  for (const [k, v] of Object.entries(values)) {
    Object.defineProperty(globalThis, k, { value: v, configurable: true, writable: true });
  }
  try {
    return await fn();
  } finally {
    for (const [k, d] of saved) {
      if (d) Object.defineProperty(globalThis, k, d);
      else delete globalThis[k];
    }
  }
}

const textScript = (json) => new El("script", { id: "speakup-text", textContent: json });

const STRINGS = {
  decrypt_failed: "Could not decrypt",
  downloading: "Downloading…",
  send_failed: "Sending failed",
  sending: "Sending…",
  count: 5,
};

/** Loads STRINGS as the page's `speakup-text`. */
const useStrings = () => loadText(fakeDocument({ elements: [textScript(JSON.stringify(STRINGS))] }));

const b64To = async (recipients, plaintext) => toBase64(await encrypt(recipients, plaintext));

/* ---------- lookup ---------- */

test("$ and $$ ask the root, else the document", async () => {
  const a = new El("a");
  const b = new El("b");
  const root = new El("div", { queries: { p: [a, b] } });
  assert.equal($("p", root), a);
  assert.equal($("q", root), null);
  assert.deepEqual($$("p", root), [a, b]);
  assert.ok(Array.isArray($$("q", root)));
  await withGlobals({ document: fakeDocument({ queries: { "[data-age]": [b] } }) }, () => {
    assert.equal($("[data-age]"), b);
    assert.deepEqual($$("[data-age]"), [b]);
  });
});

/* ---------- the page's strings ---------- */

test("loadText reads speakup-text; t looks a key up, else shows it as is", () => {
  assert.deepEqual(useStrings(), STRINGS);
  assert.deepEqual(text, STRINGS, "text is the loaded object");
  assert.equal(t("sending"), "Sending…");
  assert.equal(t("send_failed", 413), "Sending failed (413)");
  assert.equal(t("send_failed", "2/3"), "Sending failed (2/3)");
  assert.equal(t("no_such_key"), "no_such_key");
  assert.equal(t("no_such_key", 500), "no_such_key (500)");
  // Only strings count: a number in speakup-text is not shown.
  assert.equal(t("count"), "count");
});

test("t with a list takes the first key the page has, else the last key as is", () => {
  useStrings();
  assert.equal(t(["missing", "sending", "send_failed"]), "Sending…");
  assert.equal(t(["sending", "send_failed"]), "Sending…");
  assert.equal(t(["count", "send_failed"]), "Sending failed");
  assert.equal(t(["missing", "also_missing"]), "also_missing");
  assert.equal(t(["missing", "send_failed"], 409), "Sending failed (409)");
  assert.equal(t(["sending"]), t("sending"));
});

test("loadText gives {} for a missing, broken or non-object speakup-text", () => {
  for (const doc of [
    fakeDocument(),
    fakeDocument({ elements: [textScript("{not json")] }),
    fakeDocument({ elements: [textScript("null")] }),
    fakeDocument({ elements: [textScript('"a string"')] }),
    fakeDocument({ elements: [textScript("42")] }),
  ]) {
    useStrings();
    assert.deepEqual(loadText(doc), {});
    assert.deepEqual(text, {}, "an earlier page's strings do not stay");
    assert.equal(t("sending"), "sending");
  }
});

test("loadText reads the document by default", async () => {
  const doc = fakeDocument({ elements: [textScript('{"sending":"Envoi…"}')] });
  await withGlobals({ document: doc }, () => {
    assert.deepEqual(loadText(), { sending: "Envoi…" });
    assert.equal(t("sending"), "Envoi…");
  });
});

/* ---------- status lines ---------- */

test("statusLine writes into its element, and does nothing on a page without it", async () => {
  const status = new El("p", { id: "key-status" });
  await withGlobals({ document: fakeDocument({ elements: [status] }) }, () => {
    statusLine("key-status")("Unlocking…");
    assert.equal(status.textContent, "Unlocking…");
    statusLine("key-status")("");
    assert.equal(status.textContent, "");
    statusLine("send-status")("nowhere");
  });
});

test("formReporter: the form's own region, else the page's status, else a new alert", async () => {
  const report = formReporter("[role=alert], [role=status]", "send-status");
  const own = new El("p");
  const pageStatus = new El("p", { id: "send-status" });

  const withRegion = new El("form", { queries: { "[role=alert], [role=status]": [own] } });
  await withGlobals({ document: fakeDocument({ elements: [pageStatus] }) }, () => {
    report(withRegion, "one");
    assert.equal(own.textContent, "one");
    assert.equal(pageStatus.textContent, "");

    const plain = new El("form");
    report(plain, "two");
    assert.equal(pageStatus.textContent, "two");
    assert.equal(plain.children.length, 0);
  });

  await withGlobals({ document: fakeDocument() }, () => {
    const bare = new El("form");
    report(bare, "three");
    assert.equal(bare.children.length, 1);
    const [alert] = bare.children;
    assert.equal(alert.tagName, "P");
    assert.equal(alert.getAttribute("role"), "alert");
    assert.equal(alert.textContent, "three");
  });

  // The officer pages look for their own alert only.
  const officer = formReporter("[role=alert]", "key-status");
  const keyStatus = new El("p", { id: "key-status" });
  const statusOnly = new El("form", { queries: { "[role=alert], [role=status]": [own] } });
  await withGlobals({ document: fakeDocument({ elements: [keyStatus] }) }, () => {
    officer(statusOnly, "four");
    assert.equal(keyStatus.textContent, "four");
    assert.equal(own.textContent, "one");
  });
});

test("busy disables the enabled buttons and marks the form; its undo restores exactly that", () => {
  const send = new El("button", { disabled: false });
  const off = new El("button", { disabled: true });
  const submit = new El("input", { disabled: false });
  const form = new El("form", { queries: { "button, input[type=submit]": [send, off, submit] } });

  const done = busy(form);
  assert.equal(form.dataset.busy, "1");
  assert.ok(!form.hasAttribute("aria-busy"), "no aria-busy unless asked");
  assert.deepEqual([send.disabled, off.disabled, submit.disabled], [true, true, true]);
  done();
  assert.ok(!("busy" in form.dataset));
  assert.deepEqual([send.disabled, off.disabled, submit.disabled], [false, true, false]);

  const undo = busy(form, { aria: true });
  assert.equal(form.getAttribute("aria-busy"), "true");
  undo();
  assert.ok(!form.hasAttribute("aria-busy"));
  assert.ok(!("busy" in form.dataset));
});

/* ---------- decrypting the page ---------- */

function reportElement() {
  const fields = ["category", "what", "when_where", "involved", "__proto__", "toString"].map(
    (name) => new El("dd", { dataset: { field: name }, textContent: "unchanged" }),
  );
  const el = new El("dl", { queries: { "[data-field]": fields } });
  const field = (name) => fields.find((f) => f.dataset.field === name).textContent;
  return { el, field };
}

test("fillFields fills the [data-field] children with textContent", () => {
  const { el, field } = reportElement();
  const json = '{"type":"report","category":"fraud","what":"<b>x</b>","when_where":null,"involved":["A","B"]}';
  fillFields(el, "report", json);
  assert.equal(field("category"), "fraud");
  assert.equal(field("what"), "<b>x</b>", "placed as text, never parsed");
  assert.equal(field("when_where"), "");
  assert.equal(field("involved"), "A, B");
  assert.equal(field("__proto__"), "unchanged", "only the object's own fields");
  assert.equal(field("toString"), "unchanged");

  fillFields(el, "report", '{"type":"report","what":7}');
  assert.equal(field("what"), "7");
  assert.equal(field("category"), "fraud", "a missing field is left as it is");
});

test("fillFields refuses another type and what is not a JSON object", () => {
  const { el, field } = reportElement();
  assert.throws(() => fillFields(el, "report", '{"type":"identity","name":"n"}'), /expected a report object/);
  assert.throws(() => fillFields(el, "identity", "null"), /expected a identity object/);
  assert.throws(() => fillFields(el, "report", '"report"'), /expected a report object/);
  assert.throws(() => fillFields(el, "report", "not json"), SyntaxError);
  assert.equal(field("what"), "unchanged");
});

test("decryptElement opens text with one identity or several", async (tc) => {
  tc.mock.method(console, "error", () => {});
  const one = new El("p", { dataset: { age: await b64To(me.recipient, "Hello <i>world</i>"), format: "text" } });
  assert.equal(await decryptElement(one, me.identity), true);
  assert.equal(one.textContent, "Hello <i>world</i>");
  assert.equal(one.dataset.decrypted, "ok");

  const several = new El("p", { dataset: { age: await b64To(me.recipient, "second"), format: "text" } });
  assert.equal(await decryptElement(several, [other.identity, me.identity]), true);
  assert.equal(several.textContent, "second");
});

test("decryptElement fills report and identity elements", async () => {
  const { el, field } = reportElement();
  el.dataset.format = "report";
  el.dataset.age = await b64To([me.recipient], JSON.stringify({ type: "report", category: "c", what: "w" }));
  assert.equal(await decryptElement(el, [me.identity]), true);
  assert.equal(el.dataset.decrypted, "ok");
  assert.equal(field("category"), "c");
  assert.equal(field("what"), "w");

  const name = new El("dd", { dataset: { field: "name" } });
  const identity = new El("dl", {
    dataset: { format: "identity", age: await b64To(me.recipient, '{"type":"identity","name":"Jo","contact":""}') },
    queries: { "[data-field]": [name] },
  });
  assert.equal(await decryptElement(identity, me.identity), true);
  assert.equal(name.textContent, "Jo");
});

test("decryptElement marks what does not open as failed", async (tc) => {
  const errors = tc.mock.method(console, "error", () => {});
  useStrings();
  const age = await b64To(me.recipient, "secret");

  const wrongKey = new El("p", { dataset: { age, format: "text" } });
  assert.equal(await decryptElement(wrongKey, other.identity), false);
  assert.equal(wrongKey.dataset.decrypted, "failed");
  assert.equal(wrongKey.textContent, "Could not decrypt");

  const noKey = new El("p", { dataset: { age, format: "text" } });
  assert.equal(await decryptElement(noKey, []), false);
  assert.equal(noKey.textContent, "Could not decrypt");

  const broken = new El("p", { dataset: { age: "!!not base64", format: "text" } });
  assert.equal(await decryptElement(broken, me.identity), false);

  const unknown = new El("p", { dataset: { age, format: "html" }, textContent: "kept" });
  assert.equal(await decryptElement(unknown, me.identity), false);
  assert.equal(unknown.dataset.decrypted, "failed");
  assert.equal(unknown.textContent, "kept", "only text elements say decrypt_failed");

  const { el, field } = reportElement();
  Object.assign(el.dataset, { format: "report", age: await b64To(me.recipient, '{"type":"identity"}') });
  assert.equal(await decryptElement(el, me.identity), false);
  assert.equal(el.dataset.decrypted, "failed");
  assert.equal(field("what"), "unchanged");
  assert.equal(errors.mock.callCount(), 5);
  assert.equal(errors.mock.calls[0].arguments[0], "speakup: decrypt failed");
});

/* ---------- downloads ---------- */

/** URL.createObjectURL / revokeObjectURL stand-ins that keep the Blobs they were given. */
function objectUrls(tc) {
  const blobs = new Map();
  const revoked = [];
  tc.mock.method(URL, "createObjectURL", (blob) => {
    const url = `blob:test/${blobs.size}`;
    blobs.set(url, blob);
    return url;
  });
  tc.mock.method(URL, "revokeObjectURL", (url) => revoked.push(url));
  return { blobs, revoked };
}

/** A setTimeout that keeps the saved links' one-minute timers instead of running them. */
function laterTimers() {
  const realSetTimeout = globalThis.setTimeout;
  const later = [];
  const setTimeout = (fn, ms, ...args) => {
    if (ms === 60_000) return later.push(fn);
    return realSetTimeout(fn, ms, ...args);
  };
  return { later, setTimeout };
}

test("saveBlob clicks a hidden download link and revokes its URL after a minute", async (tc) => {
  const urls = objectUrls(tc);
  const timers = laterTimers();
  const doc = fakeDocument();
  const created = [];
  const createElement = doc.createElement;
  doc.createElement = (tag) => {
    const el = createElement(tag);
    created.push(el);
    return el;
  };
  const blob = new Blob(["plain"]);
  await withGlobals({ document: doc, setTimeout: timers.setTimeout }, () => saveBlob(blob, "report.pdf"));
  const [a] = created;
  assert.equal(a.tagName, "A");
  assert.equal(a.href, "blob:test/0");
  assert.equal(a.download, "report.pdf");
  assert.equal(a.hidden, true);
  assert.equal(a.clicked, true);
  assert.equal(doc.body.children.length, 0, "the link is gone again");
  assert.equal(urls.blobs.get("blob:test/0"), blob);
  assert.equal(timers.later.length, 1);
  assert.deepEqual(urls.revoked, []);
  timers.later[0]();
  assert.deepEqual(urls.revoked, ["blob:test/0"]);
});

/** A download page: one button, its click handler, and what it showed and saved. */
async function downloadPage(tc, { nameAge, fetchResult, identities }) {
  tc.mock.method(console, "error", () => {});
  const urls = objectUrls(tc);
  const timers = laterTimers();
  const button = new El("button", { dataset: { src: "/case/1/attachment/2", ...(nameAge ? { nameAge } : {}) } });
  const doc = fakeDocument({ queries: { "button.decrypt-download[data-src]": [button] } });
  const saved = [];
  const createElement = doc.createElement;
  doc.createElement = (tag) => {
    const el = createElement(tag);
    if (tag === "a") saved.push(el);
    return el;
  };
  const fetched = [];
  const fetch = async (...args) => {
    fetched.push(args);
    return fetchResult();
  };
  const shown = [];
  const states = [];
  await withGlobals({ document: doc }, () =>
    setupDownloads(identities, (b, message) => {
      assert.equal(b, button);
      shown.push(message);
      states.push(button.disabled);
    }),
  );
  let prevented = false;
  const click = () =>
    withGlobals({ document: doc, fetch, setTimeout: timers.setTimeout }, () => button.listeners.click({ preventDefault: () => (prevented = true) }));
  return { button, click, fetched, shown, states, saved, urls, prevented: () => prevented };
}

test("setupDownloads fetches, decrypts and saves under the decrypted, cleaned name", async (tc) => {
  useStrings();
  const body = new Uint8Array(100_000).map((_, i) => i % 251);
  const page = await downloadPage(tc, {
    nameAge: await b64To(me.recipient, "../../Minutes (secret).pdf"),
    fetchResult: async () => new Response(await encrypt(me.recipient, body)),
    identities: () => [other.identity, me.identity],
  });
  await page.click();
  assert.ok(page.prevented());
  assert.deepEqual(page.fetched, [["/case/1/attachment/2", { credentials: "same-origin" }]]);
  assert.deepEqual(page.shown, ["Downloading…", ""]);
  assert.deepEqual(page.states, [true, true], "disabled while it works");
  assert.equal(page.button.disabled, false);
  const [a] = page.saved;
  assert.equal(a.download, "Minutes (secret).pdf");
  assert.deepEqual(new Uint8Array(await page.urls.blobs.get(a.href).arrayBuffer()), body);
});

test("setupDownloads: without a name the file is `attachment`; one identity will do", async (tc) => {
  const page = await downloadPage(tc, {
    fetchResult: async () => new Response(await encrypt(me.recipient, "x")),
    identities: () => me.identity,
  });
  await page.click();
  assert.equal(page.saved[0].download, "attachment");
});

test("setupDownloads shows an HTTP error and enables the button again", async (tc) => {
  useStrings();
  const notFound = await downloadPage(tc, {
    fetchResult: () => new Response("gone", { status: 404 }),
    identities: () => [me.identity],
  });
  await notFound.click();
  assert.deepEqual(notFound.shown, ["Downloading…", "Could not decrypt (404)"]);
  assert.equal(notFound.button.disabled, false);
  assert.equal(notFound.saved.length, 0);
});

test("setupDownloads shows a failed decryption", async (tc) => {
  useStrings();
  const wrongKey = await downloadPage(tc, {
    fetchResult: async () => new Response(await encrypt(me.recipient, "x")),
    identities: () => [other.identity],
  });
  await wrongKey.click();
  assert.deepEqual(wrongKey.shown, ["Downloading…", "Could not decrypt"]);
  assert.equal(wrongKey.saved.length, 0);
});

test("setupDownloads does nothing when there is nothing to decrypt with", async (tc) => {
  const page = await downloadPage(tc, {
    fetchResult: () => assert.fail("no fetch without an identity"),
    identities: () => null,
  });
  await page.click();
  assert.ok(page.prevented());
  assert.deepEqual(page.fetched, []);
  assert.deepEqual(page.shown, []);
  assert.equal(page.button.disabled, undefined, "never touched");
});

/* ---------- forms carrying ciphertext ---------- */

test("plaintextLeaks: a named plaintext control is a leak", () => {
  const sel = "[data-plaintext], [data-plaintext-files]";
  const unnamed = new El("textarea");
  const named = new El("textarea", { attrs: { name: "message" } });
  assert.equal(plaintextLeaks(new El("form", { queries: { [sel]: [unnamed] } })), false);
  assert.equal(plaintextLeaks(new El("form", { queries: { [sel]: [unnamed, named] } })), true);
  assert.equal(plaintextLeaks(new El("form")), false);
});

/** FormData from a form stand-in's `fields` (Node's FormData takes no form). */
class FormFormData extends FormData {
  static seen = [];
  constructor(form, submitter) {
    super();
    FormFormData.seen.push(submitter);
    if (submitter && form.refuseSubmitter) throw new TypeError("not a submit button");
    for (const [k, v] of form.fields) this.append(k, v);
    if (submitter?.name) this.append(submitter.name, submitter.value);
  }
}

async function post(form, submitter, parts, response) {
  const fetched = [];
  const assigned = [];
  const reports = [];
  FormFormData.seen = [];
  await withGlobals(
    {
      FormData: FormFormData,
      fetch: async (...args) => {
        fetched.push(args);
        return response;
      },
      location: { assign: (url) => assigned.push(url) },
    },
    () => postParts(form, submitter, parts, (f, message) => reports.push([f, message])),
  );
  return { fetched, assigned, reports, seen: FormFormData.seen };
}

const part = (name, body) => ({ name, blob: new Blob([body]), filename: `${name}.age` });

test("postParts sends the named controls with the parts in place, then follows the answer", async () => {
  const form = { action: "/case/7/message", fields: [["csrf", "tok"], ["message", "stale"], ["kind", "x"]] };
  const submitter = { name: "action", value: "send" };
  const parts = [part("message", "m"), part("attachment", "a"), part("attachment_name", "n")];
  const r = await post(form, submitter, parts, { ok: true, status: 200, url: "https://h/case/7" });
  assert.deepEqual(r.seen, [submitter]);
  assert.equal(r.fetched.length, 1);
  const [[url, init]] = r.fetched;
  assert.equal(url, "/case/7/message");
  assert.deepEqual(
    { ...init, body: undefined },
    { method: "POST", body: undefined, redirect: "follow", credentials: "same-origin" },
  );
  assert.deepEqual(
    [...init.body.entries()].map(([k, v]) => [k, typeof v === "string" ? v : v.name]),
    [
      ["csrf", "tok"],
      ["kind", "x"],
      ["action", "send"],
      ["message", "message.age"],
      ["attachment", "attachment.age"],
      ["attachment_name", "attachment_name.age"],
    ],
  );
  assert.deepEqual(r.assigned, ["https://h/case/7"]);
  assert.deepEqual(r.reports, []);
});

test("postParts: a refused submitter falls back to the form alone; no submitter is undefined", async () => {
  const form = { action: "/a", fields: [["csrf", "t"]], refuseSubmitter: true };
  const r = await post(form, { name: "x", value: "y" }, [], { ok: true, url: "/b" });
  assert.equal(r.seen.length, 2);
  assert.deepEqual([...r.fetched[0][1].body.keys()], ["csrf"]);

  const none = await post({ action: "/a", fields: [] }, null, [], { ok: true, url: "/b" });
  assert.deepEqual(none.seen, [undefined]);
});

test("postParts: an error status is reported on the form and the page stays", async () => {
  useStrings();
  const form = { action: "/mailbox/reply/sealed", fields: [] };
  const r = await post(form, undefined, [part("message", "m")], { ok: false, status: 413, url: "/x" });
  assert.deepEqual(r.reports, [[form, "Sending failed (413)"]]);
  assert.deepEqual(r.assigned, []);
});

/* ---------- start ---------- */

test("whenParsed runs main now, or once the document is parsed", async () => {
  let runs = 0;
  const main = async () => {
    runs += 1;
  };
  await withGlobals({ document: fakeDocument({ readyState: "interactive" }) }, () =>
    whenParsed(main, () => assert.fail("no failure")),
  );
  assert.equal(runs, 1);

  const loading = fakeDocument({ readyState: "loading" });
  await withGlobals({ document: loading }, () => whenParsed(main, () => assert.fail("no failure")));
  assert.equal(runs, 1, "not before DOMContentLoaded");
  loading.listeners.DOMContentLoaded();
  assert.equal(runs, 2);
});

test("whenParsed logs a failed start and lets the page say so", async (tc) => {
  const errors = tc.mock.method(console, "error", () => {});
  const boom = new Error("boom");
  let failed = 0;
  await withGlobals({ document: fakeDocument() }, () =>
    whenParsed(
      () => Promise.reject(boom),
      () => (failed += 1),
    ),
  );
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(failed, 1);
  assert.deepEqual(errors.mock.calls[0].arguments, ["speakup: start failed", boom]);
});

/* ---------- items fetched from their own route ---------- */

/** A `fetch` stand-in serving `routes` (path → list of Responses makers, one per call). */
function routeFetch(routes) {
  const calls = [];
  const fetch = async (src, init) => {
    calls.push([src, init]);
    const queue = routes[src];
    if (!queue || queue.length === 0) return new Response("not here", { status: 404 });
    return queue.length > 1 ? queue.shift()() : queue[0]();
  };
  return { fetch, calls };
}

test("decryptElement fetches an item's age file from data-age-src", async () => {
  const ct = await encrypt(me.recipient, "Fetched on its own");
  const { fetch, calls } = routeFetch({ "/mailbox/items/a1": [() => new Response(ct)] });
  const el = new El("p", { dataset: { ageSrc: "/mailbox/items/a1", format: "text" } });
  assert.equal(await withGlobals({ fetch }, () => decryptElement(el, me.identity)), true);
  assert.equal(el.textContent, "Fetched on its own");
  assert.deepEqual(calls, [["/mailbox/items/a1", { credentials: "same-origin", cache: "no-store" }]]);
});

test("fetchAge waits out a 429 as Retry-After says, and gives up after a few tries", async () => {
  const waits = [];
  setSleep(async (ms) => waits.push(ms));
  try {
    const ct = await encrypt(me.recipient, "x");
    const limited = () => new Response("slow down", { status: 429, headers: { "retry-after": "2" } });
    const { fetch } = routeFetch({ "/a": [limited, limited, () => new Response(ct)] });
    const bytes = await withGlobals({ fetch }, () => fetchAge("/a"));
    assert.deepEqual(bytes, ct);
    assert.deepEqual(waits, [2000, 2000]);

    waits.length = 0;
    const always = routeFetch({ "/b": [() => new Response("", { status: 429 })] });
    await assert.rejects(withGlobals({ fetch: always.fetch }, () => fetchAge("/b")), (e) => e.status === 429);
    assert.equal(always.calls.length, FETCH_TRIES);
    assert.deepEqual(waits, new Array(FETCH_TRIES - 1).fill(1000), "no Retry-After: a second");

    const gone = routeFetch({});
    await assert.rejects(withGlobals({ fetch: gone.fetch }, () => fetchAge("/c")), (e) => e.status === 404);
    assert.equal(gone.calls.length, 1, "only a 429 is tried again");
  } finally {
    setSleep((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }
});

test("decryptElement marks an item whose route fails as failed", async (tc) => {
  tc.mock.method(console, "error", () => {});
  useStrings();
  const { fetch } = routeFetch({});
  const el = new El("p", { dataset: { ageSrc: "/mailbox/items/gone", format: "text" } });
  assert.equal(await withGlobals({ fetch }, () => decryptElement(el, me.identity)), false);
  assert.equal(el.dataset.decrypted, "failed");
  assert.equal(el.textContent, "Could not decrypt");
});

test("sealedElements finds inline and fetched items, not those without either", async () => {
  const inline = new El("p", { dataset: { age: "QUJD", format: "text" } });
  const fetched = new El("p", { dataset: { ageSrc: "/x", format: "text" } });
  const none = new El("span", { dataset: { ageSrc: "", format: "text" } });
  const doc = fakeDocument({ queries: { "[data-format]": [inline, none, fetched] } });
  assert.deepEqual(
    await withGlobals({ document: doc }, () => sealedElements()),
    [inline, fetched],
  );
});

test("decryptAll fetches a few items at a time and keeps the page order", async () => {
  let open = 0;
  let most = 0;
  const routes = {};
  const els = [];
  for (let i = 0; i < 10; i++) {
    const ct = await encrypt(me.recipient, `item ${i}`);
    routes[`/i/${i}`] = [
      async () => {
        open++;
        most = Math.max(most, open);
        await new Promise((r) => setTimeout(r, 5));
        open--;
        return new Response(ct);
      },
    ];
    els.push(new El("p", { dataset: { ageSrc: `/i/${i}`, format: "text" } }));
  }
  const { fetch } = routeFetch(routes);
  const results = await withGlobals({ fetch }, () => decryptAll(els, me.identity));
  assert.deepEqual(results, new Array(10).fill(true));
  assert.deepEqual(
    els.map((e) => e.textContent),
    els.map((_, i) => `item ${i}`),
  );
  assert.ok(most <= 4 && most > 1, `at most four at once (saw ${most})`);
});

test("setupDownloads fetches the encrypted name from data-name-src", async (tc) => {
  useStrings();
  const nameCt = await encrypt(me.recipient, "../Report.pdf");
  const body = await encrypt(me.recipient, "pdf bytes");
  tc.mock.method(console, "error", () => {});
  const urls = objectUrls(tc);
  const timers = laterTimers();
  const button = new El("button", { dataset: { src: "/f/1", nameSrc: "/f/1/text" } });
  const doc = fakeDocument({ queries: { "button.decrypt-download[data-src]": [button] } });
  const saved = [];
  const createElement = doc.createElement;
  doc.createElement = (tag) => {
    const el = createElement(tag);
    if (tag === "a") saved.push(el);
    return el;
  };
  const { fetch, calls } = routeFetch({ "/f/1/text": [() => new Response(nameCt)], "/f/1": [() => new Response(body)] });
  await withGlobals({ document: doc }, () => setupDownloads(() => me.identity, () => {}));
  await withGlobals({ document: doc, fetch, setTimeout: timers.setTimeout }, () =>
    button.listeners.click({ preventDefault: () => {} }),
  );
  assert.deepEqual(
    calls.map((c) => c[0]),
    ["/f/1/text", "/f/1"],
  );
  assert.equal(saved[0].download, "Report.pdf");
  assert.equal(urls.revoked.length, 0);
});
