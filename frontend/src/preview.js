// The live preview drawer of the room (candidate) and the console (interviewer): the
// candidate's running app in an iframe of the preview origin, its Logs, and for the
// interviewer the fault switchboard and the provider's request log.
//
// The app's page is hostile: it is served from another origin (the preview proxy), in
// an iframe without allow-top-navigation, and nothing of it is ever put into this page
// as HTML — every text below goes in through textContent.

const POLL_OPEN_MS = 1000;
const POLL_CLOSED_MS = 5000;
// After a save (the room's "faultline:saved"), until the restarted app runs: its start
// takes well under a second, and a one-second poll would add half a second on average.
const POLL_AFTER_SAVE_MS = 150;
const AFTER_SAVE_FOR_MS = 15000;
const MAX_LOG_LINES = 500;
const MAX_REQUESTS = 200;

const drawer = document.getElementById("preview-drawer");
const config = drawer.dataset;
const toggle = document.getElementById("preview-toggle");
const frame = document.getElementById("preview-frame");
const address = document.getElementById("preview-address");
const stateLabel = document.getElementById("preview-state");
const logList = document.getElementById("preview-logs");
const notice = document.getElementById("preview-notice");
const board = document.getElementById("preview-switchboard");
const requestsBody = document.getElementById("preview-requests");
const tell = document.getElementById("preview-tell");

let logSeq = 0;
let reqSeq = 0;
let noticeSeq = 0;
let appOrigin = null;
let loadedOnce = false;
let lastGeneration = 0;
let seenGeneration = 0; // of the last answer, whatever its state
let timer = null;
let polling = false;
// A save is waiting for a start of the app newer than this generation, until `saveUntil`.
let savedOver = null;
let saveUntil = 0;
const requests = new Map();

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}

function isOpen() {
  return !drawer.hidden;
}

function navigate(path) {
  if (!appOrigin) return;
  const target = path && path.startsWith("/") ? path : "/";
  address.value = target;
  // The viewer's own origin for this interview's app (its host name is the credential).
  frame.src = appOrigin + target;
  loadedOnce = true;
}

function showTab(name) {
  for (const tab of drawer.querySelectorAll("[data-preview-tab]")) {
    tab.classList.toggle("active", tab.dataset.previewTab === name);
  }
  for (const panel of drawer.querySelectorAll("[data-preview-panel]")) {
    panel.hidden = panel.dataset.previewPanel !== name;
  }
}

function addLogs(lines) {
  for (const line of lines) {
    logSeq = Math.max(logSeq, line.seq);
    const item = el("li", line.text, `log-line ${line.stream}`);
    item.dataset.stream = line.stream;
    logList.append(item);
  }
  while (logList.children.length > MAX_LOG_LINES) logList.firstChild.remove();
  if (lines.length) logList.scrollTop = logList.scrollHeight;
}

function outcomeText(r) {
  if (r.outcome === "in-progress") return "in progress";
  if (r.cancelled) return "cancelled by client";
  return r.outcome;
}

function renderRequests() {
  const rows = [...requests.values()].sort((a, b) => b.id - a.id).slice(0, MAX_REQUESTS);
  requestsBody.replaceChildren(
    ...rows.map((r) => {
      const row = el("tr");
      row.dataset.testid = "request-row";
      row.dataset.cancelled = String(r.cancelled);
      const at = new Date(r.at * 1000).toLocaleTimeString();
      for (const cell of [
        at,
        r.path,
        r.stream ? "streamed" : "whole",
        r.status ?? "—",
        r.latency_ms === null ? "…" : `${r.latency_ms} ms`,
        `${r.scenario}: ${r.fault}`,
        outcomeText(r),
      ]) {
        row.append(el("td", cell));
      }
      return row;
    }),
  );
}

function renderBoard(state) {
  if (!board || !state) return;
  board.replaceChildren(
    ...state.scenarios.map((s) => {
      const button = el("button", null, `scenario${s.name === state.scenario ? " active" : ""}`);
      button.type = "button";
      button.dataset.scenario = s.name;
      button.append(el("strong", s.name), el("span", s.description, "muted small"));
      button.addEventListener("click", () => switchTo(s.name));
      return button;
    }),
  );
}

async function switchTo(name) {
  const response = await fetch(config.scenario, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRFToken": config.csrf },
    body: JSON.stringify({ name, tell_candidate: Boolean(tell && tell.checked) }),
    credentials: "same-origin",
  });
  const data = await response.json();
  if (!response.ok) {
    stateLabel.textContent = data.error || "The switch was refused.";
    return;
  }
  renderBoard(data);
}

function nextPoll() {
  if (savedOver !== null && Date.now() < saveUntil && isOpen()) return POLL_AFTER_SAVE_MS;
  savedOver = null;
  return isOpen() ? POLL_OPEN_MS : POLL_CLOSED_MS;
}

async function poll() {
  polling = true;
  try {
    const query = `log=${logSeq}&req=${reqSeq}&notice=${noticeSeq}`;
    const response = await fetch(`${config.endpoint}?${query}`, { credentials: "same-origin" });
    if (response.ok) {
      const data = await response.json();
      stateLabel.textContent = `${data.state}: ${data.detail}`;
      stateLabel.dataset.state = data.state;
      if (data.preview_origin) appOrigin = data.preview_origin;
      addLogs(data.logs || []);
      for (const event of data.requests || []) {
        reqSeq = Math.max(reqSeq, event.seq);
        requests.set(event.request.id, event.request);
      }
      if (data.requests) renderRequests();
      renderBoard(data.switchboard);
      for (const n of data.notices || []) {
        noticeSeq = Math.max(noticeSeq, n.id);
        notice.textContent = `The PM switched the model provider to “${n.scenario}”: ${n.description}`;
        notice.hidden = false;
      }
      // A new start of the app (a save) shows in the iframe by itself.
      if (data.state === "running" && isOpen() && (!loadedOnce || data.generation !== lastGeneration)) {
        navigate(address.value || "/");
      }
      if (data.state === "running") lastGeneration = data.generation;
      if (savedOver !== null && data.generation > savedOver && data.state !== "starting") savedOver = null;
      if (typeof data.generation === "number") seenGeneration = data.generation;
    }
  } catch (_err) {
    stateLabel.textContent = "The preview does not answer; retrying…";
  }
  polling = false;
  timer = setTimeout(poll, nextPoll());
}

function pollSoon(delay) {
  if (polling) return; // the poll under way schedules the next
  clearTimeout(timer);
  timer = setTimeout(poll, delay);
}

window.addEventListener("faultline:saved", () => {
  if (savedOver === null) savedOver = seenGeneration;
  saveUntil = Date.now() + AFTER_SAVE_FOR_MS;
  if (isOpen()) pollSoon(POLL_AFTER_SAVE_MS);
});
// The room's and the console's sockets carry the app's state changes (a start, a crash)
// and fault switches as timeline events: look at once instead of at the next poll.
window.addEventListener("faultline:event", (e) => {
  const kind = e.detail && e.detail.kind;
  if (kind === "live" || kind === "fault") pollSoon(0);
});

toggle.addEventListener("click", () => {
  drawer.hidden = !drawer.hidden;
  toggle.classList.toggle("active", !drawer.hidden);
  if (isOpen() && !loadedOnce) navigate(address.value || "/");
  if (!isOpen()) {
    // Closing the preview closes the app's open requests (a tab closed mid-answer).
    frame.src = "about:blank";
    loadedOnce = false;
  }
});
document.getElementById("preview-reload").addEventListener("click", () => navigate(address.value));
document.getElementById("preview-go").addEventListener("submit", (event) => {
  event.preventDefault();
  navigate(address.value);
});
for (const tab of drawer.querySelectorAll("[data-preview-tab]")) {
  tab.addEventListener("click", () => showTab(tab.dataset.previewTab));
}
showTab("app");
poll();
