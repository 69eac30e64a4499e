// Research assistant frontend: plain JS, no build step.
// The answer arrives as server-sent events over a POST, read with fetch.
// Pure functions (parsing, rendering) are exported at the bottom so they can be
// checked without a browser.
"use strict";

function escapeHtml(value) {
  return String(value)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

// Splits a text buffer into complete SSE events; returns them and the unparsed rest.
function parseEvents(buffer) {
  const events = [];
  const blocks = buffer.replace(/\r\n/g, "\n").split("\n\n");
  const rest = blocks.pop();
  for (const block of blocks) {
    let event = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("event:")) event = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
    }
    if (data.length === 0) continue;
    try {
      events.push({ event, data: JSON.parse(data.join("\n")) });
    } catch (err) {
      events.push({ event: "error", data: { message: "The server sent an unreadable update." } });
    }
  }
  return { events, rest };
}

function renderSources(sources) {
  if (!Array.isArray(sources) || sources.length === 0) return "";
  const items = sources
    .map((s) => `<li>[${escapeHtml(s.id)}] ${escapeHtml(s.title)} (${escapeHtml(s.year)})</li>`)
    .join("");
  return `<ul class="sources">${items}</ul>`;
}

function renderNotes(notes) {
  if (!Array.isArray(notes) || notes.length === 0) return "";
  const items = notes
    .map((n) => `<li><strong>[${escapeHtml(n.paper_id)}]</strong> ${escapeHtml(n.text)}</li>`)
    .join("");
  return `<ul class="notes">${items}</ul>`;
}

// The answer card for the state of one answer: {status, notes, text, sources, error}.
function renderAnswer(state) {
  const status = state && typeof state.status === "string" ? state.status : "running";
  if (status === "cancelled") {
    // A stopped answer: what was streamed so far, marked as stopped.
    return `<article class="card stopped">
  <span class="badge cancelled">Stopped</span>
  ${renderNotes(state.notes)}
  <p class="answer-text">${escapeHtml(state.text || "")}</p>
  <p class="stopped-note">You stopped this answer before it was finished.</p>
</article>`;
  }
  const badge = status === "complete" ? "" : `<span class="badge ${escapeHtml(status)}">${escapeHtml(status)}</span>`;
  const error = state && state.error ? `<p class="error">${escapeHtml(state.error)}</p>` : "";
  return `<article class="card">
  ${badge}
  ${renderNotes(state ? state.notes : [])}
  <p class="answer-text">${escapeHtml(state && state.text ? state.text : "")}</p>
  ${error}
  ${renderSources(state ? state.sources : [])}
</article>`;
}

// Applies one server event to the answer state; returns the new state.
function applyEvent(state, message) {
  const data = message.data || {};
  switch (message.event) {
    case "created":
      return { ...state, id: data.id, status: "running" };
    case "note":
      return { ...state, notes: [...state.notes, data] };
    case "token":
      return { ...state, text: state.text + (typeof data.text === "string" ? data.text : "") };
    case "done":
      return { ...state, status: "complete", text: data.answer || state.text, sources: data.sources || [] };
    case "error":
      return { ...state, status: "failed", error: data.message || "The assistant could not answer." };
    case "cancelled":
      // What was streamed so far stays visible, labelled as a stopped answer.
      return { ...state, status: "cancelled" };
    default:
      return state;
  }
}

// Asks the server to stop a running answer; the stream then ends with a cancelled event.
async function stopAnswer(id) {
  const response = await fetch(`/api/answers/${encodeURIComponent(id)}/cancel`, { method: "POST" });
  // 409: it finished (or failed) before the Stop arrived, which is fine.
  return response.ok || response.status === 409;
}

async function ask(question, onState, signal) {
  let state = { id: null, status: "running", notes: [], text: "", sources: [], error: null };
  // Aborting the fetch (or closing the tab) closes the connection: the server stops too.
  const response = await fetch("/api/answers", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ question }),
    signal,
  });
  if (!response.ok || !response.body) {
    throw new Error(`The assistant could not answer (HTTP ${response.status}).`);
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    const parsed = parseEvents(buffer);
    buffer = parsed.rest;
    for (const message of parsed.events) {
      state = applyEvent(state, message);
      onState(state);
    }
  }
  return state;
}

function init() {
  const form = document.getElementById("ask-form");
  const status = document.getElementById("status");
  const target = document.getElementById("answer");
  const askButton = document.getElementById("ask-button");
  const stopButton = document.getElementById("stop-button");
  let running = null; // {id, controller} of the answer being streamed

  stopButton.addEventListener("click", async () => {
    if (!running) return;
    const { id, controller } = running;
    stopButton.disabled = true;
    status.textContent = "Stopping…";
    let stopped = false;
    try {
      stopped = id !== null && (await stopAnswer(id));
    } catch (err) {
      stopped = false;
    }
    // The server did not confirm: hanging up stops it as well.
    if (!stopped) controller.abort();
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const question = document.getElementById("question").value.trim();
    if (!question || running) return;
    const controller = new AbortController();
    running = { id: null, controller };
    askButton.disabled = true;
    stopButton.hidden = false;
    stopButton.disabled = false;
    status.textContent = "Thinking…";
    let last = null;
    try {
      last = await ask(question, (state) => {
        running.id = state.id;
        last = state;
        target.innerHTML = renderAnswer(state);
      }, controller.signal);
    } catch (err) {
      if (err.name === "AbortError") {
        target.innerHTML = renderAnswer({ ...(last || { notes: [], text: "", sources: [] }), status: "cancelled" });
      } else {
        target.innerHTML = `<p class="card error">${escapeHtml(err.message)}</p>`;
      }
    }
    running = null;
    askButton.disabled = false;
    stopButton.hidden = true;
    status.textContent = "";
  });
}

if (typeof document !== "undefined" && typeof document.addEventListener === "function") {
  document.addEventListener("DOMContentLoaded", init);
}

if (typeof module !== "undefined" && module.exports) {
  module.exports = { escapeHtml, parseEvents, renderSources, renderNotes, renderAnswer, applyEvent, stopAnswer };
}
