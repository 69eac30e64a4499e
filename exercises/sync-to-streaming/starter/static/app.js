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

function renderMetadata(meta) {
  if (!meta || typeof meta !== "object") return "";
  const parts = [];
  if (typeof meta.model === "string" && meta.model) {
    parts.push(`<span class="meta-model">Model: ${escapeHtml(meta.model)}</span>`);
  }
  if (meta.usage && typeof meta.usage.total_tokens === "number") {
    parts.push(`<span class="meta-usage">${escapeHtml(meta.usage.total_tokens)} tokens</span>`);
  }
  return parts.length ? `<footer class="meta">${parts.join("")}</footer>` : "";
}

// The answer card for one response of POST /api/answer.
function renderAnswer(data) {
  return `<article class="card">
  <p class="answer-text">${escapeHtml(data.answer)}</p>
  ${renderSources(data.sources)}
  ${renderMetadata(data.metadata)}
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
