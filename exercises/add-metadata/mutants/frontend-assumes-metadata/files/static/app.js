// Research assistant frontend: plain JS, no build step.
// Rendering functions return HTML strings and are exported at the bottom so they
// can be checked without a browser.
"use strict";

function escapeHtml(value) {
  return String(value)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

function renderSources(sources) {
  if (!sources || sources.length === 0) return "";
  const items = sources
    .map((s) => `<li>[${escapeHtml(s.id)}] ${escapeHtml(s.title)} (${escapeHtml(s.year)})</li>`)
    .join("");
  return `<ul class="sources">${items}</ul>`;
}

function formatTimestamp(value) {
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toISOString().replace("T", " ").slice(0, 19) + " UTC";
}

function renderMetadata(meta) {
  return `<footer class="meta">
    <span class="meta-model">Model: ${escapeHtml(meta.model)}</span>
    <span class="meta-latency">${escapeHtml(meta.latency_ms)} ms</span>
    <span class="meta-usage">${escapeHtml(meta.usage.total_tokens)} tokens</span>
  </footer>`;
}

// The answer card for one response of POST /api/answer.
function renderAnswer(data) {
  const answer = data && typeof data.answer === "string" ? data.answer : "";
  return `<article class="card">
  <p class="answer-text">${escapeHtml(answer)}</p>
  ${renderSources(data && Array.isArray(data.sources) ? data.sources : [])}
  ${renderMetadata(data ? data.metadata : null)}
</article>`;
}

function renderError(message) {
  return `<p class="card error">${escapeHtml(message)}</p>`;
}

async function ask(question) {
  const response = await fetch("/api/answer", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ question }),
  });
  if (!response.ok) {
    throw new Error(`The assistant could not answer (HTTP ${response.status}).`);
  }
  return response.json();
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
      target.innerHTML = renderAnswer(await ask(question));
      status.textContent = "";
    } catch (err) {
      target.innerHTML = renderError(err.message);
      status.textContent = "";
    }
  });
}

if (typeof document !== "undefined" && typeof document.addEventListener === "function") {
  document.addEventListener("DOMContentLoaded", init);
}

if (typeof module !== "undefined" && module.exports) {
  module.exports = { escapeHtml, renderSources, renderMetadata, renderAnswer, renderError };
}
