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

// Splits a server-sent event stream into (event, data) as bytes arrive. Network
// chunks can end anywhere: mid-line, mid-event, even inside a UTF-8 character.
function createEventParser(onEvent) {
  const decoder = new TextDecoder();
  let buffer = "";
  let carriage = false; // a chunk ended on \r, which may be the first half of \r\n
  function dispatch(block) {
    let event = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
    }
    if (data.length) onEvent(event, data.join("\n"));
  }
  return {
    push(bytes) {
      let text = (carriage ? "\r" : "") + decoder.decode(bytes, { stream: true });
      carriage = text.endsWith("\r");
      if (carriage) text = text.slice(0, -1);
      buffer += text.replace(/\r\n?/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) !== -1) {
        dispatch(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
      }
    },
  };
}

// Reads POST /api/answer/stream's events from a fetch Response and renders them into
// `target` as they arrive. Resolves to "done" or "error" when the stream is over.
async function renderStream(response, target) {
  const card = document.createElement("article");
  card.className = "card";
  const text = document.createElement("p");
  text.className = "answer-text streaming";
  const footer = document.createElement("div");
  card.append(text, footer);
  target.replaceChildren(card);

  let outcome = null;
  function fail(message) {
    outcome = "error";
    text.className = "answer-text";
    footer.innerHTML = renderError(message);
  }
  function onEvent(event, raw) {
    if (outcome) return;
    let data;
    try {
      data = JSON.parse(raw);
    } catch (err) {
      fail("The answer could not be read.");
      return;
    }
    if (event === "token" && data && typeof data.text === "string") {
      text.innerHTML += data.text;
    } else if (event === "done") {
      outcome = "done";
      text.className = "answer-text";
      const sources = data && Array.isArray(data.sources) ? data.sources : [];
      footer.innerHTML = renderSources(sources) + renderMetadata(data ? data.metadata : null);
    } else if (event === "error") {
      const message = data && typeof data.error === "string" ? data.error : "unknown error";
      fail(`The answer stopped: ${message}`);
    }
  }

  if (!response.ok || !response.body) {
    fail(`The assistant could not answer (HTTP ${response.status}).`);
    return outcome;
  }
  const parser = createEventParser(onEvent);
  const reader = response.body.getReader();
  try {
    while (!outcome) {
      const { value, done } = await reader.read();
      if (done) break;
      parser.push(value);
    }
  } catch (err) {
    // The connection dropped: handled below like any stream without a final event.
  }
  if (!outcome) fail("The answer was cut off before it finished.");
  reader.cancel().catch(() => {});
  return outcome;
}

function askStream(question) {
  return fetch("/api/answer/stream", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
    body: JSON.stringify({ question }),
  });
}

function init() {
  const form = document.getElementById("ask-form");
  const button = document.getElementById("ask-button");
  const status = document.getElementById("status");
  const target = document.getElementById("answer");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const question = document.getElementById("question").value.trim();
    if (!question) return;
    button.disabled = true;
    status.textContent = "Thinking…";
    try {
      await renderStream(await askStream(question), target);
    } catch (err) {
      target.innerHTML = renderError("The assistant is unreachable.");
    } finally {
      status.textContent = "";
      button.disabled = false;
    }
  });
}

if (typeof document !== "undefined" && typeof document.addEventListener === "function") {
  document.addEventListener("DOMContentLoaded", init);
}

if (typeof module !== "undefined" && module.exports) {
  module.exports = {
    escapeHtml,
    renderSources,
    renderMetadata,
    renderAnswer,
    renderError,
    createEventParser,
    renderStream,
  };
}
