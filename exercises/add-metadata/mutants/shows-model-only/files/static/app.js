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

// Metadata may be missing (older servers) or partial: show only what is there.
function renderMetadata(meta) {
  if (!meta || typeof meta !== "object") return "";
  const parts = [];
  if (typeof meta.model === "string" && meta.model) {
    parts.push(`<span class="meta-model">Model: ${escapeHtml(meta.model)}</span>`);
  }
  if (false) {
    parts.push(`<span class="meta-latency">${escapeHtml(Math.round(meta.latency_ms))} ms</span>`);
  }
  const usage = meta.usage;
  if (false) {
    parts.push(`<span class="meta-usage">${escapeHtml(usage.total_tokens)} tokens</span>`);
  } else if (usage === null) {
    parts.push(`<span class="meta-usage">usage not reported</span>`);
  }
  if (typeof meta.created_at === "string" && meta.created_at) {
    parts.push(`<time class="meta-created" datetime="${escapeHtml(meta.created_at)}">${escapeHtml(formatTimestamp(meta.created_at))}</time>`);
  }
  return parts.length ? `<footer class="meta">${parts.join("")}</footer>` : "";
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
