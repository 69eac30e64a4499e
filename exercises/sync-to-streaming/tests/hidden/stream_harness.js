// Feeds a streamed fetch Response to the candidate's renderStream(response, target) and
// reports what the target element showed after each network chunk. No npm packages: the
// sandbox has only `node`, so this carries a small DOM (parses and serialises HTML, so
// markup injected through innerHTML shows up as real elements).
//
//   node stream_harness.js path/to/app.js < {"pieces": [base64...], "status": 200, "cut": false}
"use strict";
const fs = require("fs");
const vm = require("vm");
const path = require("path");

const VOID = new Set("area base br col embed hr img input link meta source track wbr".split(" "));
const RAW_TEXT = new Set(["script", "style", "textarea", "title"]);

function escapeText(s) {
  return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
function escapeAttr(s) {
  return String(s).replace(/&/g, "&amp;").replace(/"/g, "&quot;");
}
function decodeEntities(s) {
  return String(s).replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (whole, name) => {
    if (name[0] === "#") {
      const code = name[1] === "x" || name[1] === "X" ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
      return Number.isFinite(code) ? String.fromCodePoint(code) : whole;
    }
    const named = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: "\u00a0" };
    return name.toLowerCase() in named ? named[name.toLowerCase()] : whole;
  });
}

class Node {
  constructor() { this.parentNode = null; this.childNodes = []; }
  get parentElement() { return this.parentNode; }
  get firstChild() { return this.childNodes[0] || null; }
  get lastChild() { return this.childNodes[this.childNodes.length - 1] || null; }
  get nextSibling() {
    if (!this.parentNode) return null;
    const siblings = this.parentNode.childNodes;
    return siblings[siblings.indexOf(this) + 1] || null;
  }
  remove() {
    if (this.parentNode) {
      const siblings = this.parentNode.childNodes;
      siblings.splice(siblings.indexOf(this), 1);
      this.parentNode = null;
    }
  }
  _adopt(node) {
    if (node.nodeType === 11) return node.childNodes.slice().map((n) => (n.remove(), n));
    node.remove();
    return [node];
  }
  appendChild(node) { return this.insertBefore(node, null); }
  insertBefore(node, ref) {
    const nodes = this._adopt(node);
    let at = ref ? this.childNodes.indexOf(ref) : this.childNodes.length;
    if (at < 0) at = this.childNodes.length;
    for (const n of nodes) { n.parentNode = this; this.childNodes.splice(at++, 0, n); }
    return node;
  }
  removeChild(node) { node.remove(); return node; }
  replaceChild(node, old) { this.insertBefore(node, old); old.remove(); return old; }
  _nodes(items) { return items.map((n) => (n instanceof Node ? n : new Text(String(n)))); }
  append(...items) { for (const n of this._nodes(items)) this.appendChild(n); }
  prepend(...items) { const first = this.firstChild; for (const n of this._nodes(items)) this.insertBefore(n, first); }
  replaceChildren(...items) { for (const n of this.childNodes.slice()) n.remove(); this.append(...items); }
  addEventListener() {}
  removeEventListener() {}
  dispatchEvent() { return true; }
  contains(node) { for (let n = node; n; n = n.parentNode) if (n === this) return true; return false; }
}

class Text extends Node {
  constructor(data) { super(); this.nodeType = 3; this.nodeName = "#text"; this.data = String(data); }
  get textContent() { return this.data; }
  set textContent(v) { this.data = v === null || v === undefined ? "" : String(v); }
  get nodeValue() { return this.data; }
  set nodeValue(v) { this.data = String(v); }
  get wholeText() { return this.data; }
  appendData(s) { this.data += String(s); }
  _html() { return escapeText(this.data); }
}

class Fragment extends Node {
  constructor() { super(); this.nodeType = 11; this.nodeName = "#document-fragment"; }
  get textContent() { return this.childNodes.map((n) => n.textContent).join(""); }
  _html() { return this.childNodes.map((n) => n._html()).join(""); }
  querySelector(sel) { return Element.prototype.querySelector.call(this, sel); }
  querySelectorAll(sel) { return Element.prototype.querySelectorAll.call(this, sel); }
}

class Element extends Node {
  constructor(tag) {
    super();
    this.nodeType = 1;
    this.tagName = String(tag).toUpperCase();
    this.nodeName = this.tagName;
    this.attrs = {};
    this.style = {};
    this.dataset = {};
    this.hidden = false;
    this.disabled = false;
    this.value = "";
    this.scrollTop = 0;
    this.scrollHeight = 0;
    const el = this;
    this.classList = {
      _get() { return (el.attrs.class || "").split(/\s+/).filter(Boolean); },
      _set(list) { el.attrs.class = list.join(" "); },
      add(...c) { const l = this._get(); for (const x of c) if (!l.includes(x)) l.push(x); this._set(l); },
      remove(...c) { this._set(this._get().filter((x) => !c.includes(x))); },
      toggle(c, force) {
        const has = this._get().includes(c);
        const want = force === undefined ? !has : !!force;
        if (want && !has) this.add(c);
        if (!want && has) this.remove(c);
        return want;
      },
      contains(c) { return this._get().includes(c); },
      replace(a, b) { if (this.contains(a)) { this.remove(a); this.add(b); } },
    };
  }
  get localName() { return this.tagName.toLowerCase(); }
  get children() { return this.childNodes.filter((n) => n.nodeType === 1); }
  get firstElementChild() { return this.children[0] || null; }
  get lastElementChild() { const c = this.children; return c[c.length - 1] || null; }
  get id() { return this.attrs.id || ""; }
  set id(v) { this.attrs.id = String(v); }
  get className() { return this.attrs.class || ""; }
  set className(v) { this.attrs.class = String(v); }
  setAttribute(k, v) { this.attrs[String(k).toLowerCase()] = String(v); }
  getAttribute(k) { k = String(k).toLowerCase(); return k in this.attrs ? this.attrs[k] : null; }
  hasAttribute(k) { return String(k).toLowerCase() in this.attrs; }
  removeAttribute(k) { delete this.attrs[String(k).toLowerCase()]; }
  toggleAttribute(k, force) {
    const want = force === undefined ? !this.hasAttribute(k) : !!force;
    if (want) this.setAttribute(k, ""); else this.removeAttribute(k);
    return want;
  }
  get textContent() { return this.childNodes.map((n) => n.textContent).join(""); }
  set textContent(v) {
    this.replaceChildren();
    const s = v === null || v === undefined ? "" : String(v);
    if (s) this.appendChild(new Text(s));
  }
  get innerText() { return this.textContent; }
  set innerText(v) { this.textContent = v; }
  get innerHTML() { return this.childNodes.map((n) => n._html()).join(""); }
  set innerHTML(v) { this.replaceChildren(); this.appendChild(parseHTML(String(v))); }
  get outerHTML() { return this._html(); }
  _html() {
    const tag = this.tagName.toLowerCase();
    const attrs = Object.entries(this.attrs).map(([k, v]) => ` ${k}="${escapeAttr(v)}"`).join("");
    if (VOID.has(tag)) return `<${tag}${attrs}>`;
    return `<${tag}${attrs}>${this.innerHTML}</${tag}>`;
  }
  insertAdjacentHTML(where, html) { this._insertAdjacent(where, parseHTML(String(html))); }
  insertAdjacentText(where, text) { this._insertAdjacent(where, new Text(String(text))); }
  insertAdjacentElement(where, el) { this._insertAdjacent(where, el); return el; }
  _insertAdjacent(where, node) {
    where = String(where).toLowerCase();
    if (where === "beforeend") this.appendChild(node);
    else if (where === "afterbegin") this.insertBefore(node, this.firstChild);
    else if (where === "beforebegin" && this.parentNode) this.parentNode.insertBefore(node, this);
    else if (where === "afterend" && this.parentNode) this.parentNode.insertBefore(node, this.nextSibling);
  }
  _descendants(out = []) {
    for (const n of this.childNodes) if (n.nodeType === 1) { out.push(n); n._descendants(out); }
    return out;
  }
  querySelectorAll(selector) {
    const all = Element.prototype._descendants.call(this);
    const groups = String(selector).split(",").map((s) => s.trim().split(/\s+/).filter(Boolean));
    return all.filter((el) => groups.some((parts) => matchesChain(el, parts, this)));
  }
  querySelector(selector) { return this.querySelectorAll(selector)[0] || null; }
  getElementsByClassName(c) { return this.querySelectorAll("." + c); }
  getElementsByTagName(t) { return this.querySelectorAll(t); }
  matches(selector) { return String(selector).split(",").some((s) => matchesCompound(this, s.trim())); }
  closest(selector) { for (let n = this; n && n.nodeType === 1; n = n.parentNode) if (n.matches(selector)) return n; return null; }
  scrollIntoView() {}
  scrollTo() {}
  focus() {}
  blur() {}
  getBoundingClientRect() { return { top: 0, left: 0, bottom: 0, right: 0, width: 0, height: 0 }; }
}

function matchesCompound(el, compound) {
  const m = compound.match(/^([a-zA-Z][\w-]*|\*)?((?:[#.][\w-]+|\[[^\]]+\])*)$/);
  if (!m) return false;
  if (m[1] && m[1] !== "*" && el.tagName !== m[1].toUpperCase()) return false;
  for (const part of m[2].match(/[#.][\w-]+|\[[^\]]+\]/g) || []) {
    if (part[0] === "#" && el.id !== part.slice(1)) return false;
    if (part[0] === "." && !el.classList.contains(part.slice(1))) return false;
    if (part[0] === "[") {
      const [k, v] = part.slice(1, -1).split("=");
      if (!el.hasAttribute(k)) return false;
      if (v !== undefined && el.getAttribute(k) !== v.replace(/^["']|["']$/g, "")) return false;
    }
  }
  return true;
}

function matchesChain(el, parts, root) {
  if (!matchesCompound(el, parts[parts.length - 1])) return false;
  let i = parts.length - 2;
  for (let n = el.parentNode; i >= 0 && n && n !== root; n = n.parentNode) {
    if (n.nodeType === 1 && matchesCompound(n, parts[i])) i--;
  }
  return i < 0;
}

const TOKEN = /<!--[\s\S]*?-->|<![^>]*>|<\/([a-zA-Z][\w-]*)\s*>|<([a-zA-Z][\w-]*)((?:\s+[^\s=>\/]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+))?)*)\s*\/?>|[^<]+|</g;
const ATTR = /([^\s=>\/]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g;

// Parses markup the way a browser would for the purposes of these checks: tags become
// elements (an injected <img onerror> is an IMG element), text is entity-decoded.
function parseHTML(html) {
  const root = new Fragment();
  let current = root;
  let m;
  TOKEN.lastIndex = 0;
  while ((m = TOKEN.exec(html)) !== null) {
    const [whole, closing, opening, attrText] = m;
    if (whole.startsWith("<!")) continue;
    if (closing) {
      const tag = closing.toUpperCase();
      for (let n = current; n && n !== root; n = n.parentNode) {
        if (n.tagName === tag) { current = n.parentNode; break; }
      }
    } else if (opening) {
      const el = new Element(opening);
      let a;
      ATTR.lastIndex = 0;
      while ((a = ATTR.exec(attrText || "")) !== null) {
        el.attrs[a[1].toLowerCase()] = decodeEntities(a[2] ?? a[3] ?? a[4] ?? "");
      }
      current.appendChild(el);
      const tag = opening.toLowerCase();
      if (RAW_TEXT.has(tag)) {
        const end = html.toLowerCase().indexOf(`</${tag}`, TOKEN.lastIndex);
        const stop = end === -1 ? html.length : end;
        const text = html.slice(TOKEN.lastIndex, stop);
        if (text) el.appendChild(new Text(tag === "textarea" || tag === "title" ? decodeEntities(text) : text));
        TOKEN.lastIndex = end === -1 ? html.length : html.indexOf(">", end) + 1 || html.length;
      } else if (!VOID.has(tag) && !whole.endsWith("/>")) {
        current = el;
      }
    } else {
      current.appendChild(new Text(decodeEntities(whole)));
    }
  }
  return root;
}

function buildDocument(indexHtml) {
  const html = new Element("html");
  const body = new Element("body");
  html.appendChild(body);
  const match = /<body[^>]*>([\s\S]*)<\/body>/i.exec(indexHtml || "");
  try {
    if (match) body.appendChild(parseHTML(match[1]));
  } catch (err) {
    // A page the small parser cannot read still gets the ids the starter uses.
  }
  for (const id of ["ask-form", "question", "ask-button", "status", "answer"]) {
    if (!body.querySelector("#" + id)) {
      const el = new Element(id === "ask-form" ? "form" : "div");
      el.id = id;
      body.appendChild(el);
    }
  }
  return {
    nodeType: 9,
    readyState: "complete",
    documentElement: html,
    body,
    head: new Element("head"),
    createElement: (tag) => new Element(tag),
    createTextNode: (text) => new Text(text),
    createDocumentFragment: () => new Fragment(),
    getElementById: (id) => body.querySelector("#" + id),
    querySelector: (sel) => body.querySelector(sel),
    querySelectorAll: (sel) => body.querySelectorAll(sel),
    getElementsByClassName: (c) => body.getElementsByClassName(c),
    addEventListener() {},
    removeEventListener() {},
  };
}

function snapshot(target) {
  const elements = target._descendants();
  return {
    text: target.textContent,
    html: target.innerHTML,
    tags: elements.map((e) => e.tagName.toLowerCase()),
    errorShown: elements.some((e) => e.classList.contains("error")) || target.classList.contains("error"),
  };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 15));

async function main() {
  const input = JSON.parse(fs.readFileSync(0, "utf8"));
  const scriptPath = process.argv[2];
  let indexHtml = "";
  try {
    indexHtml = fs.readFileSync(path.join(path.dirname(scriptPath), "index.html"), "utf8");
  } catch (err) {
    // no page: buildDocument supplies the ids
  }
  const document = buildDocument(indexHtml);
  const silent = { log() {}, warn() {}, error() {}, info() {}, debug() {} };
  const module_ = { exports: {} };
  Object.assign(globalThis, {
    document,
    window: globalThis,
    self: globalThis,
    module: module_,
    exports: module_.exports,
    Node,
    Element,
    HTMLElement: Element,
    Text,
    DocumentFragment: Fragment,
    requestAnimationFrame: (fn) => setTimeout(() => fn(Date.now()), 0),
    cancelAnimationFrame: (id) => clearTimeout(id),
    fetch: () => Promise.reject(new TypeError("no network in frontend checks")),
  });
  const realConsole = globalThis.console;
  globalThis.console = silent;
  const out = { load_error: null, missing: null, snapshots: [], final: null, outcome: "pending", value: null };
  const finish = () => {
    globalThis.console = realConsole;
    process.stdout.write(JSON.stringify(out));
    process.exit(0);
  };
  try {
    vm.runInThisContext(fs.readFileSync(scriptPath, "utf8"), { filename: "app.js", timeout: 2000 });
  } catch (err) {
    out.load_error = String(err && err.stack ? err.stack : err);
    return finish();
  }
  const renderStream = (module_.exports && module_.exports.renderStream) || globalThis.renderStream;
  if (typeof renderStream !== "function") {
    out.missing = "static/app.js does not define renderStream(response, target)";
    return finish();
  }
  const target = document.getElementById("answer");
  const pieces = input.pieces.map((p) => new Uint8Array(Buffer.from(p, "base64")));
  let next = 0;
  const body = new ReadableStream(
    {
      async pull(controller) {
        // Called only when the reader asks for more: everything sent so far has been read.
        if (next > 0) {
          await settle();
          out.snapshots.push(snapshot(target));
        }
        if (next < pieces.length) controller.enqueue(pieces[next++]);
        else if (input.cut) controller.error(new TypeError("network error: connection reset"));
        else controller.close();
      },
    },
    { highWaterMark: 0 },
  );
  const response = new Response(input.status === 204 ? null : body, {
    status: input.status,
    headers: { "content-type": input.status === 200 ? "text/event-stream" : "application/json" },
  });
  let settled = false;
  const limit = setTimeout(() => {
    if (!settled) { out.final = snapshot(target); finish(); }
  }, 3000);
  try {
    const value = await renderStream(response, target);
    out.outcome = "fulfilled";
    out.value = value === undefined ? null : typeof value === "object" ? null : value;
  } catch (err) {
    out.outcome = "rejected: " + String(err && err.message ? err.message : err).slice(0, 300);
  }
  settled = true;
  clearTimeout(limit);
  await settle();
  out.final = snapshot(target);
  finish();
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err));
  process.exit(1);
});
