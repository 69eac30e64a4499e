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

// The answer card for one response of POST /api/answer.
function renderAnswer(data) {
  return `<article class="card">
  <p class="answer-text">${escapeHtml(data.answer)}</p>
  ${renderSources(data.sources)}
</article>`;
}

function renderError(message) {
  return `<p class="card error">${escapeHtml(message)}</p>`;
}

function renderPaperChoices(papers) {
  return papers
    .map(
      (p) => `<label><input type="checkbox" name="paper" value="${escapeHtml(p.id)}">
  [${escapeHtml(p.id)}] ${escapeHtml(p.title)} (${escapeHtml(p.year)})</label>`,
    )
    .join("");
}

// The results table for one response of POST /api/extract.
function renderExtraction(data) {
  const rows = (data.results || [])
    .map(
      (r) => `<tr><td>${escapeHtml(r.paper_id)}</td><td class="result">${escapeHtml(r.result)}</td></tr>`,
    )
    .join("");
  return `<table class="jobs"><tr><th>Paper</th><th>Result</th></tr>${rows}</table>`;
}

async function postJson(url, body) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!response.ok) {
    throw new Error(`The request failed (HTTP ${response.status}).`);
  }
  return response.json();
}

async function loadPapers() {
  const response = await fetch("/api/papers");
  document.getElementById("paper-list").insertAdjacentHTML(
    "beforeend",
    renderPaperChoices(await response.json()),
  );
}

function chosenPapers() {
  return Array.from(document.querySelectorAll("input[name=paper]:checked")).map((el) => el.value);
}

function init() {
  loadPapers();

  const extractForm = document.getElementById("extract-form");
  const extractStatus = document.getElementById("extract-status");
  const extractionTarget = document.getElementById("extraction");
  extractForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const paper_ids = chosenPapers();
    const fields = document
      .getElementById("fields")
      .value.split(",")
      .map((f) => f.trim())
      .filter(Boolean);
    if (paper_ids.length === 0 || fields.length === 0) return;
    extractStatus.textContent = `Extracting from ${paper_ids.length} papers…`;
    try {
      extractionTarget.innerHTML = renderExtraction(
        await postJson("/api/extract", { paper_ids, fields }),
      );
    } catch (err) {
      extractionTarget.innerHTML = renderError(err.message);
    }
    extractStatus.textContent = "";
  });

  const form = document.getElementById("ask-form");
  const status = document.getElementById("status");
  const target = document.getElementById("answer");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const question = document.getElementById("question").value.trim();
    if (!question) return;
    status.textContent = "Thinking…";
    try {
      target.innerHTML = renderAnswer(await postJson("/api/answer", { question }));
    } catch (err) {
      target.innerHTML = renderError(err.message);
    }
    status.textContent = "";
  });
}

if (typeof document !== "undefined" && typeof document.addEventListener === "function") {
  document.addEventListener("DOMContentLoaded", init);
}

if (typeof module !== "undefined" && module.exports) {
  module.exports = {
    escapeHtml,
    renderSources,
    renderAnswer,
    renderError,
    renderPaperChoices,
    renderExtraction,
  };
}
