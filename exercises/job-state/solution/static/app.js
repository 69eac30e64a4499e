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

const FINAL_STATES = ["completed", "failed", "cancelled"];

function renderProgress(progress) {
  const p = progress || {};
  const total = Number(p.total) || 0;
  const done = (Number(p.completed) || 0) + (Number(p.failed) || 0) + (Number(p.cancelled) || 0);
  const parts = ["pending", "active", "completed", "failed", "cancelled"]
    .filter((s) => Number(p[s]) > 0)
    .map((s) => `${Number(p[s])} ${s}`)
    .join(", ");
  return `<progress max="${total}" value="${done}"></progress>
<p class="progress-text">${done} of ${total} done${parts ? ` (${escapeHtml(parts)})` : ""}</p>`;
}

function renderJob(job) {
  const state = escapeHtml(job.state);
  let detail = "";
  if (job.state === "completed") detail = escapeHtml(job.result ?? "");
  else if (job.state === "failed") detail = `<span class="error">${escapeHtml(job.error ?? "failed")}</span>`;
  const cancel = FINAL_STATES.includes(job.state)
    ? ""
    : `<button type="button" class="cancel-job" data-job="${escapeHtml(job.id)}">Cancel</button>`;
  return `<tr><td>${escapeHtml(job.paper_id)}</td>
<td><span class="state state-${state}">${state}</span></td>
<td class="result">${detail}</td><td>${cancel}</td></tr>`;
}

// The jobs table for one status of GET /api/extractions/{id}.
function renderExtraction(data) {
  const jobs = Array.isArray(data.jobs) ? data.jobs : [];
  const cancelAll =
    data.state === "finished"
      ? ""
      : `<button type="button" id="cancel-extraction">Cancel all</button>`;
  return `${renderProgress(data.progress)}${cancelAll}
<table class="jobs"><tr><th>Paper</th><th>State</th><th>Result</th><th></th></tr>
${jobs.map(renderJob).join("")}</table>`;
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

const POLL_MS = 500;
let current = null; // {id, timer}

async function showStatus(id) {
  const target = document.getElementById("extraction");
  const response = await fetch(`/api/extractions/${encodeURIComponent(id)}`);
  if (!response.ok) throw new Error(`Could not load the extraction (HTTP ${response.status}).`);
  const data = await response.json();
  if (current === null || current.id !== id) return; // a newer extraction took over
  target.innerHTML = renderExtraction(data);
  if (data.state !== "finished") current.timer = setTimeout(() => poll(id), POLL_MS);
}

function poll(id) {
  showStatus(id).catch((err) => {
    document.getElementById("extraction").insertAdjacentHTML("beforeend", renderError(err.message));
  });
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
    if (current !== null) clearTimeout(current.timer);
    extractStatus.textContent = "";
    try {
      const data = await postJson("/api/extractions", { paper_ids, fields });
      current = { id: data.id, timer: null };
      extractionTarget.innerHTML = renderExtraction(data);
      current.timer = setTimeout(() => poll(data.id), POLL_MS);
    } catch (err) {
      extractionTarget.innerHTML = renderError(err.message);
    }
  });
  extractionTarget.addEventListener("click", async (event) => {
    if (current === null || !(event.target instanceof HTMLButtonElement)) return;
    const id = current.id;
    const jobId = event.target.dataset.job;
    const url = jobId
      ? `/api/extractions/${encodeURIComponent(id)}/jobs/${encodeURIComponent(jobId)}/cancel`
      : `/api/extractions/${encodeURIComponent(id)}/cancel`;
    if (!jobId && event.target.id !== "cancel-extraction") return;
    event.target.disabled = true;
    // 409: the job finished meanwhile; the next status shows how.
    await fetch(url, { method: "POST" });
    clearTimeout(current.timer);
    poll(id);
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
    renderProgress,
    renderJob,
    renderExtraction,
  };
}
