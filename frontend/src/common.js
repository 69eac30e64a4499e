// Shared pieces of the candidate's room and the interviewer's console.
// Everything that shows user- or code-controlled text uses textContent; the only
// innerHTML is exerciseText(), for the exercise's own text, rendered and sanitised
// by the server.

import { EditorView, basicSetup } from "codemirror";
import { EditorState, Compartment, Transaction } from "@codemirror/state";
import { keymap } from "@codemirror/view";
import { indentWithTab } from "@codemirror/commands";
import { python } from "@codemirror/lang-python";
import { javascript } from "@codemirror/lang-javascript";
import { html } from "@codemirror/lang-html";
import { json } from "@codemirror/lang-json";

export { EditorView, EditorState, Compartment, Transaction };

/** Create an element: el("div", {class: "x", onclick: f}, child, "text", ...). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

export function $(selector, root = document) {
  return root.querySelector(selector);
}

export function config() {
  return JSON.parse(document.getElementById("room-config").textContent);
}

// ------------------------------------------------------------------ tab labels

/**
 * For each path, the folder to show beside its file name so that tabs with the same
 * name can be told apart: the fewest trailing folders that differ ("app", "tests",
 * "./" for the top level); "" when the name is unique among `paths`.
 */
export function tabFolders(paths) {
  const byName = new Map();
  for (const path of paths) {
    const name = path.split("/").pop();
    byName.set(name, [...(byName.get(name) || []), path]);
  }
  const folders = new Map();
  for (const group of byName.values()) {
    if (group.length === 1) {
      folders.set(group[0], "");
      continue;
    }
    const parents = group.map((p) => p.split("/").slice(0, -1));
    const deepest = Math.max(...parents.map((p) => p.length));
    for (let depth = 1; depth <= deepest; depth += 1) {
      const shown = parents.map((p) => (p.length ? p.slice(-depth).join("/") : "./"));
      if (new Set(shown).size === shown.length || depth === deepest) {
        group.forEach((path, i) => folders.set(path, shown[i]));
        break;
      }
    }
  }
  return folders;
}

// ------------------------------------------------------------------ exercise text

/**
 * Exercise text (a task body, the PM script) as the server rendered it: Markdown
 * turned into HTML by markdown-it and sanitised by nh3 (interviews/exercise_markdown.py).
 * This is the one place HTML from the server enters a page; candidate code, chat and
 * names never come through here.
 */
export function exerciseText(html) {
  const node = el("div", { class: "md" });
  node.innerHTML = String(html || "");
  return node;
}

// ------------------------------------------------------------------ socket

// A link can die without a close frame (Wi-Fi drops, a laptop sleeps, a proxy
// forgets the connection): the browser then keeps saying "open" for minutes. A
// ping every HEARTBEAT_MS whose pong does not come back within PONG_TIMEOUT_MS
// declares the link dead, so "Reconnecting…" shows within about 7 s.
const HEARTBEAT_MS = 2000;
const PONG_TIMEOUT_MS = 4000;
const CONNECT_TIMEOUT_MS = 5000;
const BACKOFF_MIN_MS = 300;
const BACKOFF_MAX_MS = 5000;

/**
 * A websocket that notices a dead link, reconnects with backoff and matches
 * replies to requests by `seq`. onStatus("online") runs on every (re)connect;
 * the server then sends the current state.
 */
export class Socket {
  constructor(path, { onMessage, onStatus }) {
    this.url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${path}`;
    this.onMessage = onMessage;
    this.onStatus = onStatus;
    this.seq = 0;
    this.waiting = new Map();
    this.backoff = BACKOFF_MIN_MS;
    this.stopped = false;
    this.ping = null; // {seq, at} of the ping waiting for its pong
    setInterval(() => this.heartbeat(), 500);
    this.connect();
  }

  connect() {
    // After a loss every attempt is a reconnection: the page keeps saying so.
    this.onStatus(this.everOnline ? "offline" : "connecting");
    const ws = new WebSocket(this.url);
    this.ws = ws;
    this.ping = null;
    this.openedAt = null;
    this.connectingSince = Date.now();
    ws.onopen = () => {
      this.backoff = BACKOFF_MIN_MS;
      this.openedAt = this.lastPingAt = Date.now();
      this.everOnline = true;
      this.onStatus("online");
    };
    ws.onmessage = (e) => {
      let msg;
      try {
        msg = JSON.parse(e.data);
      } catch {
        return;
      }
      if (msg.type === "pong" && this.ping && msg.seq === this.ping.seq) {
        this.ping = null;
        return;
      }
      if (typeof msg.seq === "number" && this.waiting.has(msg.seq)) {
        const { resolve, timer } = this.waiting.get(msg.seq);
        clearTimeout(timer);
        this.waiting.delete(msg.seq);
        resolve(msg);
      }
      this.onMessage(msg);
    };
    ws.onclose = (e) => this.closed(ws, e.code);
  }

  /** The socket is gone (closed, or declared dead): tell everyone and try again. */
  closed(ws, code) {
    if (ws !== this.ws) return; // an older socket we already gave up on
    ws.onopen = ws.onmessage = ws.onclose = null;
    this.ws = null;
    this.ping = null;
    for (const { resolve, timer } of this.waiting.values()) {
      clearTimeout(timer);
      resolve({ type: "error", code: "offline", message: "Connection lost; retrying." });
    }
    this.waiting.clear();
    if (code === 4403) {
      this.stopped = true;
      this.onStatus("forbidden");
      return;
    }
    if (code === 4409) {
      // The interview was opened in another browser: reconnecting would only
      // be refused again until this browser takes it back (a page reload).
      this.stopped = true;
      this.onStatus("displaced");
      return;
    }
    this.onStatus("offline");
    if (!this.stopped) {
      // Jitter, so a restarted server is not hit by every browser at the same instant.
      setTimeout(() => this.connect(), this.backoff * (0.75 + Math.random() / 2));
      this.backoff = Math.min(this.backoff * 2, BACKOFF_MAX_MS);
    }
  }

  heartbeat() {
    const ws = this.ws;
    if (!ws) return;
    const now = Date.now();
    if (ws.readyState === WebSocket.CONNECTING && now - this.connectingSince > CONNECT_TIMEOUT_MS) {
      this.giveUp(ws);
      return;
    }
    if (ws.readyState !== WebSocket.OPEN) return;
    if (this.ping) {
      if (now - this.ping.at > PONG_TIMEOUT_MS) this.giveUp(ws);
      return;
    }
    if (now - this.lastPingAt >= HEARTBEAT_MS) {
      this.lastPingAt = now;
      this.ping = { seq: ++this.seq, at: now };
      ws.send(JSON.stringify({ type: "ping", seq: this.ping.seq }));
    }
  }

  giveUp(ws) {
    try {
      ws.close(4000, "no answer");
    } catch {
      // already closing
    }
    this.closed(ws, 4000);
  }

  get open() {
    return Boolean(this.ws && this.ws.readyState === WebSocket.OPEN);
  }

  /** Send and forget; returns the seq, or null when offline. */
  send(message) {
    if (!this.open) return null;
    const seq = ++this.seq;
    this.ws.send(JSON.stringify({ ...message, seq }));
    return seq;
  }

  /** Send and wait for the reply with the same seq. */
  request(message, timeoutMs = 15000) {
    return new Promise((resolve) => {
      if (!this.open) {
        resolve({ type: "error", code: "offline", message: "Not connected; retrying." });
        return;
      }
      const seq = ++this.seq;
      const timer = setTimeout(() => {
        this.waiting.delete(seq);
        resolve({ type: "error", code: "timeout", message: "The server did not answer in time." });
      }, timeoutMs);
      this.waiting.set(seq, { resolve, timer });
      this.ws.send(JSON.stringify({ ...message, seq }));
    });
  }
}

// ------------------------------------------------------------------ editor

export function languageFor(path) {
  if (/\.py$/.test(path)) return python();
  if (/\.(js|mjs|cjs)$/.test(path)) return javascript();
  if (/\.(ts)$/.test(path)) return javascript({ typescript: true });
  if (/\.(html?|jinja2?)$/.test(path)) return html();
  if (/\.json$/.test(path)) return json();
  return [];
}

export const editorTheme = EditorView.theme({
  "&": { height: "100%", fontSize: "13.5px" },
  ".cm-scroller": { fontFamily: "var(--mono)", lineHeight: "1.55" },
  ".cm-gutters": { background: "var(--panel-2)", borderRight: "1px solid var(--line)" },
});

export function editorExtensions({ path, readOnly = false, onUpdate = null, extra = [] }) {
  const exts = [
    basicSetup,
    keymap.of([indentWithTab]),
    editorTheme,
    languageFor(path),
    EditorState.readOnly.of(readOnly),
    EditorView.editable.of(!readOnly),
    ...extra,
  ];
  if (onUpdate) exts.push(EditorView.updateListener.of(onUpdate));
  return exts;
}

// ------------------------------------------------------------------ time

/** A countdown to `deadline` (ISO), corrected by the server's clock. */
export class Countdown {
  constructor(node) {
    this.node = node;
    this.deadline = null;
    this.skew = 0;
    this.ended = false;
    setInterval(() => this.render(), 1000);
  }

  set(interview) {
    this.deadline = interview.deadline ? Date.parse(interview.deadline) : null;
    this.skew = Date.parse(interview.now) - Date.now();
    this.ended = interview.state !== "live" && interview.state !== "scheduled";
    this.duration = interview.duration_minutes;
    this.render();
  }

  render() {
    if (this.ended) {
      this.node.textContent = "Ended";
      this.node.className = "countdown ended";
      return;
    }
    if (this.deadline === null) {
      this.node.textContent = `${this.duration || ""} min`;
      this.node.className = "countdown idle";
      return;
    }
    const left = Math.round((this.deadline - (Date.now() + this.skew)) / 1000);
    if (left <= 0) {
      this.node.textContent = "Time is up";
      this.node.className = "countdown over";
      return;
    }
    const m = Math.floor(left / 60);
    const s = String(left % 60).padStart(2, "0");
    this.node.textContent = `${m}:${s} left`;
    this.node.className = `countdown${left < 300 ? " warn" : ""}`;
  }
}

export function clock(iso) {
  const d = new Date(iso);
  return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

export function toast(text, kind = "info") {
  let box = document.getElementById("toasts");
  if (!box) {
    box = el("div", { id: "toasts", "aria-live": "polite" });
    document.body.append(box);
  }
  const node = el("div", { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status", text });
  box.append(node);
  setTimeout(() => node.remove(), kind === "error" ? 8000 : 4000);
}

// ------------------------------------------------------------------ runs

const OUTCOME_LABEL = { passed: "passed", failed: "failed", error: "error", skipped: "skipped" };

/** One test run, as a card with its tests; hidden-suite detail only when the data has it. */
export function runCard(run) {
  const state = run.state || "queued";
  const header = el(
    "div",
    { class: "run-head" },
    el("span", { class: `badge ${state}`, text: state }),
    el("strong", { text: run.kind === "hidden" ? "Hidden suite" : "Visible tests" }),
    run.queue_position ? el("span", { class: "muted", text: `#${run.queue_position} in queue` }) : null,
    run.created_at ? el("span", { class: "muted", text: clock(run.created_at) }) : null,
  );
  const card = el("div", { class: `run run-${state}`, dataset: { run: String(run.id) } }, header);
  if (run.infra_error) card.append(el("p", { class: "infra", text: run.infra_error }));
  const tests = run.tests || [];
  if (tests.length) {
    const passed = tests.filter((t) => t.outcome === "passed").length;
    card.append(el("div", { class: "muted small", text: `${passed} of ${tests.length} tests passed` }));
    const list = el("ul", { class: "tests" });
    for (const t of tests) {
      const outcome = OUTCOME_LABEL[t.outcome] || String(t.outcome || "");
      const item = el(
        "li",
        { class: `test ${outcome}` },
        el("span", { class: "outcome", text: outcome === "passed" ? "✓" : outcome === "skipped" ? "–" : "✗" }),
        el("span", { class: "title", text: t.title || t.id || "test" }),
        t.criterion ? el("span", { class: "criterion", text: t.criterion }) : null,
        typeof t.duration === "number" ? el("span", { class: "muted", text: `${t.duration.toFixed(2)} s` }) : null,
      );
      if (t.output && outcome !== "passed") {
        item.append(el("details", {}, el("summary", { text: "output" }), el("pre", { text: String(t.output) })));
      }
      list.append(item);
    }
    card.append(list);
  }
  if (run.output && (state === "failed" || state === "error")) {
    card.append(el("details", {}, el("summary", { text: "full output" }), el("pre", { text: String(run.output) })));
  }
  return card;
}

/** Merge a run update into a map of runs by id; tests are merged by id. */
export function mergeRun(runs, update) {
  const old = runs.get(update.id) || {};
  const merged = { ...old, ...update };
  if (!update.tests && old.tests) merged.tests = old.tests;
  runs.set(update.id, merged);
  return merged;
}

export function addTest(runs, runId, test) {
  const run = runs.get(runId) || { id: runId, state: "running", tests: [] };
  const tests = (run.tests || []).filter((t) => t.id !== test.id);
  tests.push(test);
  runs.set(runId, { ...run, tests });
}

export function chatLine(event, selfRole) {
  const data = event.data || {};
  const mine = data.role === selfRole;
  const who = data.role === "candidate" ? (selfRole === "candidate" ? "You" : "Candidate") : mine ? "You" : `PM (${event.actor})`;
  return el(
    "li",
    { class: `chat-line ${mine ? "mine" : "theirs"}`, dataset: { id: String(event.id) } },
    el("div", { class: "meta" }, el("span", { class: "who", text: who }), el("span", { class: "muted", text: clock(event.at) })),
    el("div", { class: "text", text: data.text || "" }),
  );
}
