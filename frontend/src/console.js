// The interviewer's live console: the candidate's code as they type, the PM
// script, chat, private notes, runs with hidden-suite detail, ratings.

import { mountTerminal } from "./terminal.js";
import {
  $, Countdown, EditorState, EditorView, Socket, addTest, chatLine, clear, clock, config,
  editorExtensions, el, exerciseText, mergeRun, runCard, toast,
} from "./common.js";

const cfg = config();
const files = new Map(); // path -> {path, version, content, changedAt}
const runs = new Map();
let shown = null;
let presence = null;
let interview = null;
let state = null;
let joins = [];
const countdown = new Countdown($("#countdown"));
const view = new EditorView({ parent: $("#viewer") });

const socket = new Socket(cfg.socket, {
  onMessage: handle,
  onStatus(status) {
    const node = $("#connection");
    node.dataset.status = status;
    node.textContent = { online: "Live", connecting: "Connecting…", offline: "Reconnecting…", forbidden: "No access" }[status];
  },
});
mountTerminal(socket, { staff: true });


function handle(msg) {
  if (msg.type === "state") onState(msg);
  else if (msg.type === "event") {
    onEvent(msg.event);
    // The preview (preview.js) refreshes at once on its app's and faults' events.
    window.dispatchEvent(new CustomEvent("faultline:event", { detail: msg.event }));
  }
  else if (msg.type === "error" && msg.code !== "offline") toast(msg.message, "error");
}

function onState(s) {
  state = s;
  setInterview(s.interview);
  files.clear();
  for (const f of s.files) files.set(f.path, { ...f, changedAt: null });
  presence = s.presence;
  renderOnline(s.candidate_online);
  joins = s.joins || [];
  renderBrowsers(false);
  if (!shown || !files.has(shown)) shown = (presence && files.has(presence.path) && presence.path) || [...files.keys()][0] || null;
  showFile(shown, true);
  if (presence && presence.path === shown) revealLine(presence.line);
  renderTree();
  renderScript();
  clear($("#chat-list"));
  for (const m of s.messages) addChat(m);
  clear($("#notes-list"));
  for (const n of s.notes) addNote(n);
  runs.clear();
  for (const r of [...s.runs].reverse()) mergeRun(runs, r);
  renderRuns();
  renderRating();
  renderScorecard(s.scorecard);
}

function onEvent(event) {
  switch (event.kind) {
    case "file": {
      const old = files.get(event.path);
      if (old && old.version >= event.version) break;
      files.set(event.path, { path: event.path, version: event.version, content: event.content, changedAt: Date.now() });
      if (event.path === shown) updateShown(event.content);
      else if ($("#follow").checked && !presence) showFile(event.path);
      renderTree();
      break;
    }
    case "file_deleted":
      files.delete(event.path);
      if (shown === event.path) showFile([...files.keys()][0] || null);
      renderTree();
      break;
    case "presence":
      presence = event;
      if ($("#follow").checked && files.has(event.path)) {
        if (shown !== event.path) showFile(event.path);
        revealLine(event.line);
      }
      renderTree();
      break;
    case "candidate_online":
      renderOnline(event);
      break;
    case "joined":
      joins.push({ at: event.at, ...(event.data || {}) });
      renderBrowsers(true);
      break;
    case "message":
      addChat(event);
      break;
    case "note":
      addNote(event);
      break;
    case "task_revealed":
      if (interview) interview.revealed_tasks = Math.max(interview.revealed_tasks, event.data.index + 1);
      renderScript();
      break;
    case "started":
    case "ended":
    case "graded":
      if (event.interview) setInterview(event.interview);
      break;
    case "run":
      // A hidden run that is queued or running is grading the interview now.
      if (interview && event.run.kind === "hidden" && ["queued", "running"].includes(event.run.state)) interview.grading_stuck = false;
      mergeRun(runs, event.run);
      renderRuns();
      break;
    case "run.test":
      addTest(runs, event.run_id, event.test);
      renderRuns();
      break;
    case "scorecard":
      renderScorecard(event.scorecard || {});
      if (interview && interview.state === "ended") setInterview({ ...interview, state: "graded" });
      break;
    case "rating":
      if (state) state.ratings[event.data.criterion] = { level: event.data.level, comment: event.data.comment };
      break;
    default:
      break;
  }
}

// Presence counts the candidate's open tabs (the server drops tabs it stopped
// hearing from): one closed tab of two leaves the candidate connected.
function renderOnline(p) {
  const node = $("#candidate-online");
  const online = Boolean(p && p.online);
  const tabs = online && p.tabs > 1 ? ` · ${p.tabs} tabs` : "";
  node.textContent = online ? `Candidate connected${tabs}` : "Candidate offline";
  node.dataset.online = String(online);
}

// The interview is open in one browser at a time; when the candidate opens it in
// another (or goes back to one), the interviewer is told, here and in the timeline.
function renderBrowsers(fresh) {
  const node = $("#candidate-browser");
  const moves = joins.filter((j) => j.took_over);
  const last = moves[moves.length - 1];
  node.hidden = !last;
  if (!last) return;
  const browser = last.browser || "another browser";
  node.textContent = `${last.returned ? "Back in an earlier browser" : "Opened in another browser"} (${browser}) at ${clock(last.at)}`;
  node.title = joins.map((j) => `${clock(j.at)} ${j.browser || "a browser"}${j.took_over ? " took over" : " joined"}`).join("\n");
  if (fresh) toast(`The candidate ${last.returned ? "went back to an earlier browser" : "opened the interview in another browser"} (${browser}); the one before stopped editing.`);
}

function setInterview(iv) {
  interview = iv;
  countdown.set(iv);
  const badge = $("#state");
  badge.textContent = iv.state;
  badge.className = `badge ${iv.state}`;
  $("#start").hidden = iv.state !== "scheduled";
  $("#end").hidden = iv.state !== "live";
  renderScript();
  renderGradingError();
}

// ------------------------------------------------------------------ code viewer

function showFile(path, force = false) {
  if (!force && path === shown) return;
  shown = path;
  const f = path ? files.get(path) : null;
  view.setState(EditorState.create({ doc: f ? f.content : "", extensions: editorExtensions({ path: path || "", readOnly: true }) }));
  $("#viewer-path").textContent = path || "no file";
  renderTree();
}

function revealLine(line) {
  if (!line || line > view.state.doc.lines) return;
  const pos = view.state.doc.line(line).from;
  view.dispatch({ effects: EditorView.scrollIntoView(pos, { y: "center" }) });
}

function updateShown(content) {
  // Replace the text but keep the interviewer's scroll position.
  const top = view.scrollDOM.scrollTop;
  view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: content } });
  view.scrollDOM.scrollTop = top;
}

function renderTree() {
  const root = clear($("#tree"));
  for (const path of [...files.keys()].sort()) {
    const f = files.get(path);
    const here = presence && presence.path === path;
    const recent = f.changedAt && Date.now() - f.changedAt < 4000;
    root.append(
      el(
        "li",
        { class: `file${path === shown ? " active" : ""}${here ? " here" : ""}`, dataset: { path }, title: path, onclick: () => { $("#follow").checked = false; showFile(path); } },
        el("span", { text: path }),
        here ? el("span", { class: "presence-tag", text: presence.line ? `candidate · line ${presence.line}` : "candidate" }) : null,
        recent ? el("span", { class: "dot", title: "just changed" }) : null,
      ),
    );
  }
  $("#current-file").textContent = presence ? `Candidate is in ${presence.path}` : "Candidate has not opened a file yet";
}

// ------------------------------------------------------------------ PM script

function renderScript() {
  if (!state) return;
  const box = clear($("#script"));
  const revealed = interview ? interview.revealed_tasks : 0;
  const script = state.pm_script || { tasks: [] };
  if (script.intro) box.append(el("div", { class: "script-intro" }, el("h4", { text: "Your role" }), exerciseText(script.intro_html)));
  for (const task of script.tasks) {
    const done = task.index < revealed;
    const next = task.index === revealed;
    const article = el(
      "article",
      { class: `script-task${done ? " revealed" : ""}${next ? " next" : ""}`, dataset: { index: String(task.index) } },
      el("h3", {}, el("span", { class: "task-number", text: `Task ${task.index + 1}` }), " ", task.title, done ? el("span", { class: "badge passed", text: "revealed" }) : null),
    );
    const body = el("details", { open: next || undefined }, el("summary", { text: "What the candidate reads" }), exerciseText(task.body_html));
    article.append(body);
    for (const section of task.script || []) {
      article.append(el("div", { class: "script-section" }, el("h4", { text: section.label }), el("ul", {}, section.items_html.map((item) => el("li", {}, exerciseText(item))))));
    }
    box.append(article);
  }
  if (script.wrap_up) box.append(el("div", { class: "script-intro" }, el("h4", { text: "Wrap up" }), exerciseText(script.wrap_up_html)));
  const total = script.tasks.length;
  const button = $("#reveal");
  button.disabled = !interview || revealed >= total || interview.state !== "live";
  button.textContent = revealed >= total ? "All tasks revealed" : `Reveal task ${revealed + 1} of ${total}`;
}

$("#reveal").addEventListener("click", async () => {
  const reply = await socket.request({ type: "reveal_task" });
  if (reply.type === "ok") toast("Task revealed to the candidate.");
});

// ------------------------------------------------------------------ chat and notes

function addChat(event) {
  const list = $("#chat-list");
  if (list.querySelector(`[data-id="${event.id}"]`)) return;
  list.append(chatLine(event, "pm"));
  list.scrollTop = list.scrollHeight;
}

function offset(seconds) {
  if (seconds === null || seconds === undefined) return "before start";
  const m = Math.floor(seconds / 60);
  return `+${m}:${String(seconds % 60).padStart(2, "0")}`;
}

function addNote(event) {
  const list = $("#notes-list");
  if (list.querySelector(`[data-id="${event.id}"]`)) return;
  list.append(
    el(
      "li",
      { class: "note", dataset: { id: String(event.id) } },
      el("div", { class: "meta" }, el("span", { class: "who", text: event.actor }), el("span", { class: "muted", text: `${clock(event.at)} · ${offset(event.data.offset_seconds)}` })),
      el("div", { class: "text", text: event.data.text }),
    ),
  );
  list.scrollTop = list.scrollHeight;
}

function wireForm(form, input, type) {
  $(form).addEventListener("submit", async (e) => {
    e.preventDefault();
    const text = $(input).value.trim();
    if (!text) return;
    const reply = await socket.request({ type, text });
    if (reply.type === "ok") $(input).value = "";
  });
  $(input).addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey || (type === "chat" && !e.shiftKey))) {
      e.preventDefault();
      $(form).requestSubmit();
    }
  });
}
wireForm("#chat-form", "#chat-input", "chat");
wireForm("#note-form", "#note-input", "note");

// ------------------------------------------------------------------ runs, ratings, scorecard

function renderRuns() {
  const box = clear($("#runs"));
  const list = [...runs.values()].sort((a, b) => b.id - a.id);
  if (!list.length) box.append(el("p", { class: "muted", text: "No test runs yet." }));
  for (const run of list.slice(0, 8)) box.append(runCard(run));
  renderGradingError();
}

// The platform gave up on the final grading (sandbox unavailable, worker lost),
// or nothing is grading an ended interview (the server says so: grading_stuck):
// say so plainly, since it is never the candidate's fault, and offer to grade again.
function renderGradingError() {
  let latest = null;
  for (const run of runs.values()) if (run.kind === "hidden" && (!latest || run.id > latest.id)) latest = run;
  const ended = interview && (interview.state === "ended" || interview.state === "graded");
  const failed = Boolean(ended && latest && latest.state === "error");
  const stuck = Boolean(!failed && interview && interview.state === "ended" && interview.grading_stuck);
  $("#grading-error").hidden = !failed && !stuck;
  $("#grading-error-title").textContent = failed
    ? "The platform could not grade this submission — not the candidate's fault."
    : "This interview has ended but nothing is grading it.";
  $("#grading-error-detail").textContent = failed && latest.infra_error ? `What went wrong: ${latest.infra_error}` : "";
}

$("#regrade").addEventListener("click", async () => {
  const button = $("#regrade");
  button.disabled = true;
  try {
    // The reply is not merged into the runs: the run's own events (queued,
    // running, ...) may already be newer than it. They hide this notice.
    const reply = await socket.request({ type: "regrade" });
    if (reply.type === "regrade_requested") {
      toast("Grading again; follow it under Runs.");
      document.querySelector('.console-side [data-panel="panel-runs"]').click();
    }
  } finally {
    button.disabled = false;
  }
});

function renderRating() {
  const box = clear($("#rating"));
  const criteria = (state && state.criteria) || [];
  if (!criteria.length) {
    box.append(el("p", { class: "muted", text: "This exercise has no interviewer-rated criteria." }));
    return;
  }
  for (const c of criteria) {
    const current = (state.ratings || {})[c.id] || {};
    const form = el("form", { class: "criterion", dataset: { criterion: c.id } });
    form.append(el("h4", { text: c.title }));
    if (c.description) form.append(el("p", { class: "muted small", text: c.description }));
    const levels = el("div", { class: "levels" });
    for (const level of c.levels) {
      levels.append(
        el(
          "label",
          { class: "level" },
          el("input", { type: "radio", name: "level", value: String(level.level), checked: current.level === level.level }),
          el("strong", { text: String(level.level) }),
          el("span", { text: level.anchor }),
        ),
      );
    }
    form.append(levels);
    const comment = el("textarea", { name: "comment", rows: "2", placeholder: "Evidence for this level (optional)" });
    comment.value = current.comment || "";
    form.append(comment, el("button", { class: "button small", type: "submit", text: "Save rating" }));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const checked = form.querySelector("input[name=level]:checked");
      if (!checked) {
        toast("Choose a level first.", "error");
        return;
      }
      const reply = await socket.request({ type: "rate", criterion_id: c.id, level: Number(checked.value), comment: comment.value });
      if (reply.type === "rated") toast(`Rated ${c.title}: ${reply.level}`);
    });
    box.append(form);
  }
}

function renderScorecard(card) {
  const box = clear($("#scorecard"));
  if (!card) {
    box.append(el("p", { class: "muted", text: "The score appears here once the interview is graded." }));
    return;
  }
  // Critical faults first, in plain words: they cap the overall below.
  const critical = [...new Set((Array.isArray(card.critical) ? card.critical : []).map((f) => f && f.text).filter(Boolean))];
  if (critical.length) {
    const list = el("ul", { class: "critical", "data-testid": "critical" });
    for (const text of critical) list.append(el("li", { text }));
    box.append(el("p", { class: "critical-head", text: "Critical faults" }), list);
  }
  // The server writes every score (grading/score_text.py): one rounding rule for
  // the console and /review/ alike.
  box.append(
    el("div", { class: "overall" }, el("span", { class: "muted", text: "Overall" }), el("strong", { "data-testid": "overall", text: card.overall_text || "–" })),
  );
  const criteria = Array.isArray(card.criteria) ? card.criteria : [];
  if (criteria.length) {
    const list = el("ul", { class: "score-criteria" });
    for (const c of criteria) {
      list.append(el("li", {}, el("span", { text: c.title || c.id }), el("strong", { text: c.score_text || "–" })));
    }
    box.append(list);
  }
}

// ------------------------------------------------------------------ start / end

$("#start").addEventListener("click", async () => {
  const reply = await socket.request({ type: "start" });
  if (reply.type === "ok") toast("The interview is live.");
});
$("#end").addEventListener("click", async () => {
  if (!window.confirm("End the interview now? The candidate's work is graded as it is.")) return;
  const reply = await socket.request({ type: "end" });
  if (reply.type === "ok") toast("Interview ended; grading has started.");
});

for (const tab of document.querySelectorAll(".console-side [role=tab]")) {
  tab.addEventListener("click", () => {
    for (const t of document.querySelectorAll(".console-side [role=tab]")) t.classList.toggle("active", t === tab);
    for (const p of document.querySelectorAll(".console-side .panel")) p.classList.toggle("active", p.id === tab.dataset.panel);
  });
}

setInterval(() => files.size && renderTree(), 2000);
window.faultlineConsole = { files, runs, view };
