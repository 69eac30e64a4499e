// Research assistant frontend: plain JS, no build step. Rendering returns HTML strings.
"use strict";

const ENTITIES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const text = (value) => String(value).replace(/[&<>"']/g, (c) => ENTITIES[c]);
const isCount = (n) => typeof n === "number" && Number.isFinite(n);

function metaLine(meta) {
  if (meta === null || typeof meta !== "object") return "";
  const bits = [];
  if (meta.model) bits.push(`model ${text(meta.model)}`);
  if (isCount(meta.latency_ms)) bits.push(`${text(meta.latency_ms)} ms`);
  const u = meta.usage;
  if (u && isCount(u.total_tokens)) {
    const parts = [u.prompt_tokens, u.completion_tokens].every(isCount)
      ? ` (${text(u.prompt_tokens)} in, ${text(u.completion_tokens)} out)`
      : "";
    bits.push(`${text(u.total_tokens)} tokens${parts}`);
  } else {
    bits.push("tokens: not reported");
  }
  return `<p class="meta">${bits.join(" · ")}</p>`;
}

function renderAnswer(data) {
  const d = data || {};
  const sources = Array.isArray(d.sources)
    ? d.sources.map((s) => `<li>${text(s.title)} (${text(s.year)})</li>`).join("")
    : "";
  return `<article class="card"><p>${text(typeof d.answer === "string" ? d.answer : "")}</p>` +
    (sources ? `<ul class="sources">${sources}</ul>` : "") + metaLine(d.metadata) + "</article>";
}

function renderError(message) {
  return `<p class="card error">${text(message)}</p>`;
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
      const response = await fetch("/api/answer", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ question }),
      });
      if (!response.ok) throw new Error(`The assistant could not answer (HTTP ${response.status}).`);
      target.innerHTML = renderAnswer(await response.json());
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
  module.exports = { renderAnswer, renderError };
}
