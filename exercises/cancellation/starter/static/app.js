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
    default:
      return state;
  }
}

async function ask(question, onState) {
  let state = { id: null, status: "running", notes: [], text: "", sources: [], error: null };
  const response = await fetch("/api/answers", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ question }),
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
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const question = document.getElementById("question").value.trim();
    if (!question) return;
    status.textContent = "Thinking…";
    try {
      await ask(question, (state) => {
        target.innerHTML = renderAnswer(state);
      });
    } catch (err) {
      target.innerHTML = `<p class="card error">${escapeHtml(err.message)}</p>`;
    }
    status.textContent = "";
  });
}

if (typeof document !== "undefined" && typeof document.addEventListener === "function") {
  document.addEventListener("DOMContentLoaded", init);
}

if (typeof module !== "undefined" && module.exports) {
  module.exports = { escapeHtml, parseEvents, renderSources, renderNotes, renderAnswer, applyEvent };
}
