// The candidate's room: lobby, then an IDE that saves continuously over the websocket.
//
// Saving: each file has the version the server last confirmed. An edit is sent
// as the whole text with that base version; the server refuses it if its copy
// is newer. Unsaved text also goes to localStorage, so a reload, a dropped
// connection or a server restart loses nothing: on every (re)connect the state
// from the server is reconciled with what is pending here.

import { mountTerminal } from "./terminal.js";
import {
  $, Compartment, Countdown, EditorState, EditorView, Socket, Transaction, addTest, chatLine, clear, clock,
  config, editorExtensions, el, exerciseText, mergeRun, runCard, tabFolders, toast,
} from "./common.js";

const cfg = config();
const SEND_DEBOUNCE_MS = 150;
const SEND_MAX_WAIT_MS = 400;
const MAX_EDIT_FRAME_CHARS = 1000 * 1000;
// A connected server that has not confirmed an edit in this long lost it: send it again.
const SAVE_CONFIRM_MS = 15000;
const CHECKPOINT_IDLE_MS = 1500;
const storeKey = (path) => `faultline:pending:${cfg.interview}:${path}`;

const files = new Map(); // path -> {path, version, server, state, dirty, inflight, timer, first}
const runs = new Map();
let active = null;
let interview = null;
let limits = { max_files: 200, max_file_bytes: 262144 };
let readOnly = true;
let displaced = false; // the interview was opened in another browser
let connected = false;
let stateReceived = false;
const editable = new Compartment();

const view = new EditorView({ parent: $("#editor") });
const countdown = new Countdown($("#countdown"));

const socket = new Socket(cfg.socket, {
  onMessage: handle,
  onStatus(status) {
    connected = status === "online";
    const node = $("#connection");
    node.dataset.status = status;
    node.textContent = {
      online: "Connected",
      connecting: "Connecting…",
      offline: "Reconnecting…",
      forbidden: "Your invite link was revoked.",
      displaced: "Opened in another browser — editing here has stopped",
    }[status];
    if (status === "displaced") showDisplaced();
    node.title = status === "offline" ? "The connection is lost. Your changes are kept in this browser and saved when it returns." : "";
    if (status === "forbidden") {
      // The server shuts a candidate out only when their invite was revoked: say so
      // instead of leaving the lobby's "will start shortly" spinner up.
      $("#lobby").hidden = true;
      $("#closed").hidden = false;
    }
    if (status !== "online") {
      stateReceived = false;
      // Their replies went with the connection: resend once the new state is in.
      for (const f of files.values()) if (f.inflight) f.inflight.lost = true;
    }
    renderSaveStatus();
  },
});
mountTerminal(socket, { staff: false });


// ------------------------------------------------------------------ messages

function handle(msg) {
  switch (msg.type) {
    case "state":
      onState(msg);
      break;
    case "saved":
      onSaved(msg);
      // The preview (preview.js) looks sooner for the app restarted with it.
      window.dispatchEvent(new CustomEvent("faultline:saved"));
      break;
    case "conflict":
      onConflict(msg);
      break;
    case "error":
      onError(msg);
      break;
    case "event":
      onEvent(msg.event);
      // The preview (preview.js) refreshes at once on its app's and faults' events.
      window.dispatchEvent(new CustomEvent("faultline:event", { detail: msg.event }));
      break;
    case "displaced":
      showDisplaced();
      break;
    default:
      break;
  }
}

function onState(state) {
  interview = state.interview;
  cfg.interview = interview.id;
  limits = state.limits || limits;
  stateReceived = true;
  setInterview(interview);
  const seen = new Set();
  for (const f of state.files) {
    seen.add(f.path);
    reconcile(f);
  }
  for (const path of [...files.keys()]) if (!seen.has(path)) removeFile(path);
  // An edit sent on a connection that died and not stored (reconcile cleared
  // those that were): send it again, from the text still kept here.
  for (const f of files.values()) if (f.inflight && f.inflight.lost) f.inflight = null;
  renderTree();
  if (!active || !files.has(active)) {
    const first = [...files.keys()].find((p) => /main\.py$/.test(p)) || [...files.keys()][0];
    if (first) openFile(first);
  }
  renderTabs();
  clear($("#tasks-list"));
  for (const t of state.tasks) addTask(t, false);
  clear($("#chat-list"));
  for (const m of state.messages) addChat(m);
  runs.clear();
  for (const r of [...state.runs].reverse()) mergeRun(runs, r);
  renderRuns();
  for (const f of files.values()) if (f.dirty) scheduleSend(f.path, 0);
}

/** Merge the server's copy of a file with anything pending here. Newer server text wins. */
function reconcile(remote) {
  let f = files.get(remote.path);
  const stored = readStored(remote.path);
  if (!f) {
    f = { path: remote.path, version: remote.version, server: remote.content, dirty: false, inflight: null };
    f.state = makeState(remote.path, remote.content);
    files.set(remote.path, f);
    if (stored) restoreStored(f, stored, remote);
    return;
  }
  const local = f.state.doc.toString();
  if (!f.dirty) {
    if (remote.version !== f.version || remote.content !== local) replaceText(f, remote.content);
    f.version = remote.version;
    f.server = remote.content;
    return;
  }
  if (remote.version === f.version) return; // our base is current: the pending send goes through
  if (f.inflight && remote.version === f.version + 1 && remote.content === f.inflight.content) {
    // Our last send was stored but its acknowledgement was lost with the connection.
    f.version = remote.version;
    f.server = remote.content;
    f.inflight = null;
    if (local === remote.content) markClean(f);
    return;
  }
  replaceText(f, remote.content);
  f.version = remote.version;
  f.server = remote.content;
  f.inflight = null;
  markClean(f);
  toast(`${remote.path} was changed elsewhere (another tab?). The newer text is shown.`, "error");
}

function restoreStored(f, stored, remote) {
  if (stored.base === remote.version && stored.content !== remote.content) {
    replaceText(f, stored.content);
    f.dirty = true;
  } else if (
    stored.inflight !== undefined &&
    stored.base + 1 === remote.version &&
    stored.inflight === remote.content &&
    stored.content !== remote.content
  ) {
    replaceText(f, stored.content);
    f.dirty = true;
  } else {
    localStorage.removeItem(storeKey(f.path));
  }
}

function readStored(path) {
  try {
    return JSON.parse(localStorage.getItem(storeKey(path)) || "null");
  } catch {
    return null;
  }
}

function writeStored(f) {
  try {
    localStorage.setItem(
      storeKey(f.path),
      JSON.stringify({ base: f.version, content: f.state.doc.toString(), inflight: f.inflight?.content }),
    );
  } catch {
    // Storage full or disabled: the websocket save still works.
  }
}

function markClean(f) {
  f.dirty = false;
  f.error = null; // the text here is the server's: nothing is refused any more
  clearTimeout(f.retry);
  localStorage.removeItem(storeKey(f.path));
  renderTree();
  renderTabs();
  renderSaveStatus();
}

function onSaved(msg) {
  const f = files.get(msg.path);
  if (!f || !f.inflight || f.inflight.seq !== msg.seq) return;
  f.version = msg.version;
  f.server = f.inflight.content;
  f.inflight = null;
  f.lastRefusal = null;
  if (f.state.doc.toString() === f.server) {
    markClean(f);
    resolveSavedWaiters();
  } else {
    writeStored(f);
    scheduleSend(f.path, 0);
  }
  renderSaveStatus();
}

function onConflict(msg) {
  const f = files.get(msg.path);
  if (!f) return;
  f.inflight = null;
  if (!msg.file) {
    removeFile(msg.path);
    toast(`${msg.path} was deleted elsewhere.`, "error");
    renderTree();
    renderTabs();
    return;
  }
  reconcile(msg.file);
  renderSaveStatus();
}

// Refusals the server lifts by itself after a moment: the edit is sent again.
const TRANSIENT = new Set(["rate_limited", "timeout"]);
const RETRY_REFUSED_MS = 2000;

/**
 * The server refused an edit (NUL, broken Unicode, too large, a limit, a bad
 * path, too fast...). The text stays here, marked unsaved with the server's
 * reason on the file, its tab and the save indicator; the next change to the
 * file is sent again, and a transient refusal is retried by itself.
 */
function onError(msg) {
  const f = [...files.values()].find((x) => x.inflight && x.inflight.seq === msg.seq);
  const repeated = Boolean(f && f.lastRefusal === msg.message); // no toast per keystroke
  if (f) {
    f.inflight = null;
    f.lastRefusal = msg.message;
    setRefused(f, msg.message);
    if (TRANSIENT.has(msg.code)) {
      clearTimeout(f.retry);
      f.retry = setTimeout(() => {
        if (f.error !== msg.message) return;
        f.error = null;
        scheduleSend(f.path, 0);
      }, RETRY_REFUSED_MS);
    }
  }
  if (msg.code !== "offline" && !repeated) toast(msg.message, "error");
}

function setRefused(f, reason) {
  f.error = reason;
  renderTree();
  renderTabs();
  renderSaveStatus();
  settleSavedWaiters();
}

function clearRefused(f) {
  if (!f.error) return;
  f.error = null;
  clearTimeout(f.retry);
  renderTree();
  renderTabs();
}

function onEvent(event) {
  switch (event.kind) {
    case "file":
      if (!event.origin || !files.has(event.path) || files.get(event.path).version < event.version) {
        reconcile({ path: event.path, version: event.version, content: event.content });
        renderTree();
        if (!active) openFile(event.path);
      }
      break;
    case "file_deleted":
      removeFile(event.path);
      renderTree();
      renderTabs();
      break;
    case "task_revealed":
      if (event.task) {
        addTask(event.task, true);
        toast(`New task: ${event.task.title}`);
      }
      break;
    case "message":
      addChat(event);
      if (!$("#panel-chat").classList.contains("active") && event.data.role !== "candidate") {
        $("#tab-chat").classList.add("unread");
      }
      break;
    case "started":
    case "ended":
      if (event.interview) setInterview(event.interview);
      if (event.kind === "started") toast("The interview has started. Good luck!");
      break;
    case "run":
      mergeRun(runs, event.run);
      renderRuns();
      break;
    case "run.test":
      addTest(runs, event.run_id, event.test);
      renderRuns();
      break;
    case "submitted":
      // Another tab (or the end of the interview) handed the code in.
      if (event.data && event.data.run) renderSubmission({ id: event.data.run, received_at: event.at });
      break;
    default:
      break;
  }
}

// ------------------------------------------------------------------ interview state

function setInterview(iv) {
  interview = iv;
  countdown.set(iv);
  $("#lobby").hidden = iv.state !== "scheduled";
  $("#ended").hidden = !["ended", "graded", "reviewed"].includes(iv.state);
  readOnly = iv.state !== "live" || displaced;
  view.dispatch({ effects: editable.reconfigure(readOnlyExt()) });
  for (const b of document.querySelectorAll("[data-live-only]")) b.disabled = readOnly;
}

// Another browser took the interview over: this one stops editing at once (its
// unsaved text stays in localStorage) and offers to take the interview back.
function showDisplaced() {
  displaced = true;
  readOnly = true;
  view.dispatch({ effects: editable.reconfigure(readOnlyExt()) });
  for (const b of document.querySelectorAll("[data-live-only]")) b.disabled = true;
  for (const f of files.values()) if (f.dirty) writeStored(f);
  $("#displaced").hidden = false;
}

function readOnlyExt() {
  return [EditorState.readOnly.of(readOnly), EditorView.editable.of(!readOnly)];
}

// ------------------------------------------------------------------ editor and files

function makeState(path, text) {
  return EditorState.create({
    doc: text,
    // The compartment first: EditorView.editable takes its first value, and the
    // shared extensions' default (editable) would otherwise win over it, leaving
    // the editor typeable after the interview ended or moved to another browser.
    extensions: [
      editable.of(readOnlyExt()),
      editorExtensions({ path, onUpdate: (u) => onEditorUpdate(path, u) }),
    ],
  });
}

let presenceTimer = null;
let lastPresence = "";

function onEditorUpdate(path, update) {
  const f = files.get(path);
  if (!f) return;
  f.state = update.state;
  const remote = update.transactions.some((t) => t.annotation(Transaction.remote));
  if (update.docChanged && !remote) {
    if (!f.dirty) {
      f.dirty = true;
      renderTree();
      renderTabs();
    }
    writeStored(f); // kept here even when it cannot be sent
    const bytes = new TextEncoder().encode(update.state.doc.toString()).length;
    if (bytes > limits.max_file_bytes) {
      setRefused(f, `${path} is ${Math.round(bytes / 1024)} KB; the limit is ${Math.round(limits.max_file_bytes / 1024)} KB per file. Make it smaller to keep saving.`);
      return;
    }
    clearRefused(f);
    scheduleSend(path);
  }
  if (update.selectionSet || update.docChanged || update.focusChanged) sendPresenceSoon();
  if (update.focusChanged && !update.view.hasFocus) checkpoint(path);
}

function sendPresenceSoon() {
  if (presenceTimer) return;
  presenceTimer = setTimeout(() => {
    presenceTimer = null;
    if (!active) return;
    const line = view.state.doc.lineAt(view.state.selection.main.head).number;
    const key = `${active}:${line}`;
    if (key !== lastPresence && stateReceived) {
      lastPresence = key;
      socket.send({ type: "presence", path: active, line });
    }
  }, 300);
}

/** Send a file soon: after a short pause in typing, and at least every SEND_MAX_WAIT_MS. */
function scheduleSend(path, delay = SEND_DEBOUNCE_MS) {
  const f = files.get(path);
  if (!f) return;
  const now = Date.now();
  if (!f.first) f.first = now;
  clearTimeout(f.timer);
  const wait = Math.max(0, Math.min(delay, f.first + SEND_MAX_WAIT_MS - now));
  f.timer = setTimeout(() => sendFile(path, false), wait);
  clearTimeout(f.idle);
  f.idle = setTimeout(() => checkpoint(path), CHECKPOINT_IDLE_MS);
  renderSaveStatus();
}

function sendFile(path, checkpointFlag) {
  const f = files.get(path);
  if (!f) return;
  f.first = null;
  if (f.inflight || !connected || !stateReceived || readOnly || f.error) {
    if (checkpointFlag) f.wantCheckpoint = true;
    return;
  }
  const content = f.state.doc.toString();
  const flag = checkpointFlag || f.wantCheckpoint || false;
  if (!f.dirty && !flag) return;
  // The server refuses frames over 1 MB unread (JSON escaping can grow a 256 KB file past it).
  if (JSON.stringify(content).length > MAX_EDIT_FRAME_CHARS) {
    setRefused(f, "This file holds too many special characters to be sent. Make it smaller to keep saving.");
    return;
  }
  const seq = socket.send({
    type: "edit",
    path,
    base_version: f.version,
    content,
    checkpoint: flag,
    sent_at: Date.now(),
  });
  if (seq === null) return;
  f.wantCheckpoint = false;
  f.inflight = { seq, content, at: Date.now() };
  writeStored(f);
  renderSaveStatus();
}

/** Ask the server to keep this file's full text in the timeline (blur, idle, run). */
function checkpoint(path) {
  const f = files.get(path);
  if (!f || readOnly) return;
  if (f.dirty || f.inflight) sendFile(path, true);
}

const SAVE_WAIT_MS = 10000;
let savedWaiters = [];

/** Where saving stands: {ok: true}, {ok: false, message} when a file is refused, or null while pending. */
function saveOutcome() {
  const list = [...files.values()];
  const refused = list.find((f) => f.error);
  if (refused) {
    return { ok: false, message: `${refused.path} is not saved: ${refused.error} Fix it, then try again.` };
  }
  if (list.some((f) => f.dirty || f.inflight)) return null;
  return { ok: true };
}

function settleSavedWaiters() {
  const outcome = saveOutcome();
  if (!outcome) return;
  for (const w of savedWaiters) w(outcome);
  savedWaiters = [];
}
const resolveSavedWaiters = settleSavedWaiters;

/**
 * Flush every pending edit and wait until the server has confirmed them all.
 * Resolves {ok: false, message} when an edit is refused or not confirmed in
 * time: Submit and Run never go ahead on code the server does not have.
 */
function allSaved() {
  for (const f of files.values()) if (f.dirty && !f.inflight) sendFile(f.path, true);
  const now = saveOutcome();
  if (now) return Promise.resolve(now);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      savedWaiters = savedWaiters.filter((w) => w !== done);
      resolve({
        ok: false,
        message: connected
          ? "Your latest changes are not confirmed by the server yet. Try again in a moment."
          : "You are offline: your latest changes are kept in this browser but not saved yet. Try again once the page says “All changes saved”.",
      });
    }, SAVE_WAIT_MS);
    const done = (outcome) => {
      clearTimeout(timer);
      resolve(outcome);
    };
    savedWaiters.push(done);
  });
}

function replaceText(f, text) {
  if (f.path === active) {
    view.dispatch({
      changes: { from: 0, to: view.state.doc.length, insert: text },
      annotations: Transaction.remote.of(true),
    });
    f.state = view.state;
  } else {
    f.state = f.state.update({
      changes: { from: 0, to: f.state.doc.length, insert: text },
      annotations: Transaction.remote.of(true),
    }).state;
  }
}

function removeFile(path) {
  const f = files.get(path);
  if (f) {
    clearTimeout(f.timer);
    clearTimeout(f.idle);
  }
  files.delete(path);
  localStorage.removeItem(storeKey(path));
  openTabs.delete(path);
  if (active === path) {
    active = null;
    const next = [...openTabs][0] || [...files.keys()][0];
    if (next) openFile(next);
    else view.setState(EditorState.create({ doc: "" }));
  }
}

const openTabs = new Set();

function openFile(path) {
  const f = files.get(path);
  if (!f) return;
  if (active && active !== path) checkpoint(active);
  active = path;
  openTabs.add(path);
  view.setState(f.state);
  view.dispatch({ effects: editable.reconfigure(readOnlyExt()) });
  f.state = view.state;
  renderTabs();
  renderTree();
  sendPresenceSoon();
}

function renderTabs() {
  const bar = clear($("#tabs"));
  const folders = tabFolders([...openTabs].filter((p) => files.has(p)));
  for (const path of openTabs) {
    const f = files.get(path);
    if (!f) continue;
    const name = path.split("/").pop();
    const folder = folders.get(path);
    const tab = el(
      "div",
      { class: `tab${path === active ? " active" : ""}${f.error ? " refused" : ""}`, role: "tab", title: f.error ? `${path}: not saved — ${f.error}` : path, dataset: { path } },
      el(
        "span",
        { class: "tab-label", onclick: () => openFile(path) },
        el("span", { class: "tab-name", text: name }),
        folder ? el("span", { class: "tab-folder", text: folder }) : null,
      ),
      saveMark(f),
      el("button", {
        class: "tab-close",
        "aria-label": `close ${name}`,
        text: "×",
        onclick: (e) => {
          e.stopPropagation();
          openTabs.delete(path);
          if (active === path) {
            const next = [...openTabs].pop();
            if (next) openFile(next);
            else {
              active = null;
              view.setState(EditorState.create({ doc: "", extensions: [EditorView.editable.of(false)] }));
            }
          }
          renderTabs();
        },
      }),
    );
    bar.append(tab);
  }
  // Many tabs scroll inside the bar: keep the open one in sight.
  const current = bar.querySelector(".tab.active");
  if (current) current.scrollIntoView({ block: "nearest", inline: "nearest" });
}

function renderTree() {
  const root = clear($("#tree"));
  const paths = [...files.keys()].sort();
  let lastDirs = [];
  for (const path of paths) {
    const parts = path.split("/");
    const dirs = parts.slice(0, -1);
    dirs.forEach((dir, i) => {
      if (lastDirs[i] !== dir || lastDirs.slice(0, i).join("/") !== dirs.slice(0, i).join("/")) {
        root.append(el("li", { class: "dir", style: `padding-left:${8 + i * 14}px`, text: `${dir}/` }));
        lastDirs = dirs.slice(0, i + 1);
      }
    });
    lastDirs = dirs;
    const f = files.get(path);
    root.append(
      el(
        "li",
        {
          class: `file${path === active ? " active" : ""}${f.error ? " refused" : ""}`,
          style: `padding-left:${8 + dirs.length * 14}px`,
          dataset: { path },
          title: f.error ? `${path}: not saved — ${f.error}` : path,
          onclick: () => openFile(path),
        },
        el("span", { text: parts[parts.length - 1] }),
        saveMark(f),
      ),
    );
  }
  $("#file-count").textContent = `${files.size} / ${limits.max_files}`;
}

/** The file's mark in the tree and its tab: refused (with the reason), or saving. */
function saveMark(f) {
  if (f.error) return el("span", { class: "save-refused", "data-testid": "save-refused", title: `Not saved: ${f.error}`, text: "not saved" });
  return f.dirty ? el("span", { class: "dot", title: "saving" }) : null;
}

function renderSaveStatus() {
  const node = $("#save-status");
  if (!node) return;
  const list = [...files.values()];
  const failing = list.find((f) => f.error);
  node.title = "";
  if (failing) {
    node.textContent = `Not saved — ${failing.path}: ${failing.error}`;
    node.title = node.textContent;
    node.dataset.status = "error";
  } else if (!connected) {
    node.textContent = list.some((f) => f.dirty) ? "Unsaved changes kept in this browser" : "Offline";
    node.dataset.status = "offline";
  } else if (list.some((f) => f.dirty || f.inflight)) {
    node.textContent = "Saving…";
    node.dataset.status = "saving";
  } else {
    node.textContent = "All changes saved";
    node.dataset.status = "saved";
  }
}

// ------------------------------------------------------------------ panels

function addTask(task, fresh) {
  const list = $("#tasks-list");
  if (list.querySelector(`[data-index="${task.index}"]`)) return;
  list.append(
    el(
      "article",
      { class: `task${fresh ? " fresh" : ""}`, dataset: { index: String(task.index) } },
      el("h3", {}, el("span", { class: "task-number", text: `Task ${task.index + 1}` }), " ", task.title),
      exerciseText(task.body_html),
    ),
  );
  $("#tasks-empty").hidden = true;
  if (fresh) {
    setInterval(() => {
  if (!connected) return;
  for (const f of files.values()) {
    if (f.inflight && !f.inflight.lost && Date.now() - f.inflight.at > SAVE_CONFIRM_MS) {
      f.inflight = null;
      scheduleSend(f.path, 0);
    }
  }
}, 1000);
showPanel("tasks");
    list.lastChild.scrollIntoView({ block: "nearest" });
  }
}

function addChat(event) {
  const list = $("#chat-list");
  if (list.querySelector(`[data-id="${event.id}"]`)) return;
  list.append(chatLine(event, "candidate"));
  list.scrollTop = list.scrollHeight;
}

function renderRuns() {
  const box = clear($("#runs"));
  const visible = [...runs.values()].filter((r) => r.kind !== "hidden").sort((a, b) => b.id - a.id);
  if (!visible.length) box.append(el("p", { class: "muted", text: "Run the tests to see their results here." }));
  for (const run of visible.slice(0, 5)) box.append(runCard(run));
  const submission = [...runs.values()].filter((r) => r.kind === "hidden").sort((a, b) => b.id - a.id)[0];
  if (submission) renderSubmission(submission);
}

// The candidate is told that the submission was received, never how the hidden
// checks went (nor when they finished): the server sends nothing more about it.
function renderSubmission(run) {
  const node = $("#submission");
  const at = run.received_at ? ` at ${clock(run.received_at)}` : "";
  node.textContent = `Submitted${at} — received; your interviewer sees the results`;
  node.title = node.textContent;
  node.hidden = false;
}

function showPanel(name) {
  for (const p of document.querySelectorAll(".side .panel")) p.classList.toggle("active", p.id === `panel-${name}`);
  for (const t of document.querySelectorAll(".side [role=tab]")) {
    t.classList.toggle("active", t.id === `tab-${name}`);
    t.setAttribute("aria-selected", String(t.id === `tab-${name}`));
  }
  if (name === "chat") $("#tab-chat").classList.remove("unread");
}

// ------------------------------------------------------------------ actions

$("#tab-tasks").addEventListener("click", () => showPanel("tasks"));
$("#tab-chat").addEventListener("click", () => showPanel("chat"));

$("#chat-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const input = $("#chat-input");
  const text = input.value.trim();
  if (!text) return;
  const reply = await socket.request({ type: "chat", text });
  if (reply.type === "ok") input.value = "";
});
$("#chat-input").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey) {
    e.preventDefault();
    $("#chat-form").requestSubmit();
  }
});

$("#run-tests").addEventListener("click", async () => {
  const button = $("#run-tests");
  button.disabled = true;
  try {
    const saved = await allSaved();
    if (!saved.ok) {
      toast(`Tests not run. ${saved.message}`, "error");
      return;
    }
    const reply = await socket.request({ type: "run" });
    if (reply.type === "run_requested") {
      mergeRun(runs, reply.run);
      renderRuns();
      $("#output").scrollIntoView({ block: "nearest" });
    }
  } finally {
    setTimeout(() => {
      button.disabled = readOnly;
    }, 1000);
  }
});

$("#submit").addEventListener("click", async () => {
  if (!window.confirm("Submit your work for grading now? You can keep working and submit again."))
    return;
  // Never "Submitted" on code the server does not have: wait for every save.
  const saved = await allSaved();
  if (!saved.ok) {
    toast(`Not submitted. ${saved.message}`, "error");
    return;
  }
  const reply = await socket.request({ type: "submit" });
  if (reply.type === "submitted") {
    renderSubmission(reply.run);
    toast("Submitted. Your interviewer can see it.");
  }
});

$("#new-file").addEventListener("click", async () => {
  if (files.size >= limits.max_files) {
    toast(`You already have ${files.size} files; the limit is ${limits.max_files}.`, "error");
    return;
  }
  const path = window.prompt("New file path (for example app/helpers.py):", active ? active.replace(/[^/]*$/, "") : "");
  if (!path) return;
  const reply = await socket.request({ type: "create_file", path: path.trim() });
  if (reply.type === "created") {
    reconcile({ path: reply.path, version: reply.version, content: "" });
    renderTree();
    openFile(reply.path);
  }
});

$("#delete-file").addEventListener("click", async () => {
  if (!active || !window.confirm(`Delete ${active}?`)) return;
  const path = active;
  const reply = await socket.request({ type: "delete_file", path });
  if (reply.type === "deleted") {
    removeFile(path);
    renderTree();
    renderTabs();
  }
});

window.addEventListener("beforeunload", (e) => {
  // localStorage already holds unsaved text; this only warns when a send is in flight.
  for (const f of files.values()) if (f.dirty) writeStored(f);
  if ([...files.values()].some((f) => f.dirty)) e.preventDefault();
});

setInterval(() => {
  if (!connected) return;
  for (const f of files.values()) {
    if (f.inflight && !f.inflight.lost && Date.now() - f.inflight.at > SAVE_CONFIRM_MS) {
      f.inflight = null;
      scheduleSend(f.path, 0);
    }
  }
}, 1000);
showPanel("tasks");
window.faultlineRoom = { files, runs, allSaved, clock };
