// Replay scrubber: shows the files at any moment. review/replay.py folds the timeline
// for every position (scrubber_data); this script only looks the results up.
(function () {
  "use strict";
  var dataNode = document.getElementById("replay-data");
  var scrubber = document.getElementById("scrubber");
  if (!dataNode || !scrubber) return;
  var data = JSON.parse(dataNode.textContent);
  var last = data.states.length - 1;
  var label = document.getElementById("scrubber-label");
  var filesBar = document.getElementById("files");
  var source = document.getElementById("source");
  var timeline = document.getElementById("timeline");
  var items = timeline.querySelectorAll("li[data-index]");
  var initial = filesBar.querySelector("[aria-selected=true]");
  var selected = initial ? initial.dataset.path : null;

  function filesAt(position) {
    var files = {};
    data.states[position].forEach(function (text, i) {
      if (text >= 0) files[data.paths[i]] = data.contents[text];
    });
    return files;
  }

  function show(position, fromUser) {
    var files = filesAt(position);
    var changed = data.changed[position];
    if (changed && changed in files) selected = changed;
    if (!selected || !(selected in files)) selected = data.focus[position];
    var paths = Object.keys(files).sort();

    filesBar.textContent = "";
    paths.forEach(function (path) {
      var b = document.createElement("a");
      b.href = "?at=" + position + "&file=" + encodeURIComponent(path);
      b.className = "rv-file" + (changed === path ? " rv-file-changed" : "");
      b.setAttribute("role", "tab");
      b.setAttribute("aria-selected", path === selected ? "true" : "false");
      b.dataset.path = path;
      b.textContent = path;  // text, never HTML
      filesBar.appendChild(b);
    });
    source.textContent = selected ? files[selected] : "(no files)";
    var terminal = document.getElementById("terminal");
    if (terminal && data.terminal_at) {
      // The terminal's screen at this moment: its recorded text up to here, the tail.
      var upto = data.terminal_at[position];
      terminal.textContent = data.terminal.slice(Math.max(0, upto - data.terminal_tail), upto);
      terminal.scrollTop = terminal.scrollHeight;
    }

    label.textContent = position + " / " + last;
    items.forEach(function (li) {
      var on = Number(li.dataset.index) === position;
      li.classList.toggle("rv-tl-current", on);
      if (on && fromUser) li.scrollIntoView({ block: "nearest" });
    });
    if (fromUser) {
      var url = new URL(window.location.href);
      url.searchParams.set("at", String(position));
      window.history.replaceState(null, "", url);
    }
  }

  scrubber.addEventListener("input", function () { show(Number(scrubber.value), true); });
  filesBar.addEventListener("click", function (e) {
    var b = e.target.closest("[data-path]");
    if (!b) return;
    e.preventDefault();
    selected = b.dataset.path;
    show(Number(scrubber.value), false);
  });
  timeline.addEventListener("click", function (e) {
    var a = e.target.closest("a");
    var li = e.target.closest("li[data-index]");
    if (!a || !li) return;
    e.preventDefault();
    scrubber.value = li.dataset.index;
    show(Number(li.dataset.index), true);
  });
  document.addEventListener("keydown", function (e) {
    if (e.target === scrubber || /INPUT|TEXTAREA|SELECT/.test(e.target.tagName)) return;
    if (e.key === "ArrowLeft" || e.key === "ArrowRight") {
      var next = Number(scrubber.value) + (e.key === "ArrowRight" ? 1 : -1);
      scrubber.value = String(Math.max(0, Math.min(last, next)));
      show(Number(scrubber.value), true);
    }
  });
  show(Number(scrubber.value), false);
})();
