// Loads a browser script (the candidate's static/app.js) into a tiny DOM stub and calls
// named functions with JSON arguments. No npm packages: the sandbox has only `node`.
//
//   node harness.js path/to/app.js < {"calls": [{"fn": "renderAnswer", "args": [...]}]}
// prints {"load_error": null | "...", "results": [{"ok": true, "value": ...} | {"ok": false, "error": "..."}]}
"use strict";
const fs = require("fs");
const vm = require("vm");

function escapeText(s) {
  return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
// The inverse of what a browser's serializer escapes, so textContent reads back
// exactly what was written: `el.textContent += more` must not double-escape.
function unescapeText(s) {
  return s
    .replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'").replace(/&nbsp;/g, "\u00a0").replace(/&amp;/g, "&");
}
function escapeAttr(s) {
  return escapeText(s).replace(/"/g, "&quot;");
}

class Element {
  constructor(tag) {
    this.tagName = String(tag).toUpperCase();
    this.attributes = {};
    this._html = "";
    this.children = [];
    this.style = {};
    this.dataset = {};
    this.hidden = false;
    this.value = "";
    this.classList = { add() {}, remove() {}, toggle() {}, contains() { return false; } };
  }
  get innerHTML() { return this._html; }
  set innerHTML(v) { this._html = String(v); this.children = []; }
  get textContent() { return unescapeText(this._html.replace(/<[^>]*>/g, "")); }
  set textContent(v) { this._html = escapeText(v === null || v === undefined ? "" : v); this.children = []; }
  get innerText() { return this.textContent; }
  set innerText(v) { this.textContent = v; }
  get className() { return this.attributes["class"] || ""; }
  set className(v) { this.attributes["class"] = String(v); }
  setAttribute(k, v) { this.attributes[k] = String(v); }
  getAttribute(k) { return k in this.attributes ? this.attributes[k] : null; }
  appendChild(child) {
    this.children.push(child);
    this._html += typeof child === "string" ? escapeText(child) : child.outerHTML;
    return child;
  }
  append(...nodes) { for (const n of nodes) this.appendChild(n); }
  replaceChildren(...nodes) { this._html = ""; this.children = []; this.append(...nodes); }
  addEventListener() {}
  removeEventListener() {}
  querySelector() { return new Element("div"); }
  querySelectorAll() { return []; }
  get outerHTML() {
    const tag = this.tagName.toLowerCase();
    const attrs = Object.entries(this.attributes).map(([k, v]) => ` ${k}="${escapeAttr(v)}"`).join("");
    return `<${tag}${attrs}>${this._html}</${tag}>`;
  }
}

const elements = {};
const document = {
  readyState: "loading",
  body: new Element("body"),
  createElement: (tag) => new Element(tag),
  createTextNode: (text) => escapeText(text),
  getElementById: (id) => (elements[id] = elements[id] || new Element("div")),
  querySelector: () => new Element("div"),
  querySelectorAll: () => [],
  addEventListener() {},
  removeEventListener() {},
};

function serialise(value) {
  if (value instanceof Element) return value.outerHTML;
  if (value === undefined) return null;
  return value;
}

const input = JSON.parse(fs.readFileSync(0, "utf8") || "{}");
const source = fs.readFileSync(process.argv[2], "utf8");
const module_ = { exports: {} };
const context = {
  document,
  window: {},
  module: module_,
  exports: module_.exports,
  console: { log() {}, warn() {}, error() {}, info() {} },
  setTimeout, clearTimeout, URLSearchParams, JSON, Date, Math, Intl,
  fetch: () => Promise.reject(new Error("no network in frontend checks")),
};
context.window = context;
const out = { load_error: null, results: [] };
try {
  vm.runInNewContext(source, context, { filename: "app.js", timeout: 2000 });
} catch (err) {
  out.load_error = String(err && err.stack ? err.stack : err);
}
for (const call of input.calls || []) {
  const fn = (module_.exports && module_.exports[call.fn]) || context[call.fn];
  if (typeof fn !== "function") {
    out.results.push({ ok: false, error: `app.js does not define ${call.fn}()` });
    continue;
  }
  try {
    out.results.push({ ok: true, value: serialise(fn(...(call.args || []))) });
  } catch (err) {
    out.results.push({ ok: false, error: String(err && err.stack ? err.stack : err).slice(0, 1000) });
  }
}
process.stdout.write(JSON.stringify(out));
