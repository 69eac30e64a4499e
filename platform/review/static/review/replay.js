// Replay scrubber: rebuild the files at any moment from the starter and the file events.
// The fold mirrors review/replay.py (files_at); keep the two in step.
(function () {
  "use strict";
  var dataNode = document.getElementById("replay-data");
  var scrubber = document.getElementById("scrubber");
  if (!dataNode || !scrubber) return;
  var data = JSON.parse(dataNode.textContent);
  var changes = data.changes;
  var label = document.getElementById("scrubber-label");
  var filesBar = document.getElementById("files");
  var source = document.getElementById("source");
  var timeline = document.getElementById("timeline");
  var items = timeline.querySelectorAll("li[data-index]");
  var initial = filesBar.querySelector("[aria-selected=true]");
  var selected = initial ? initial.dataset.path : null;

  function apply(files, change) {
    if (change.content === null) { delete files[change.path]; return; }
    if (change.kind === "file_created" && change.path in files && !change.content) return;
    files[change.path] = change.content;
  }

  function filesAt(upto) {
    var files = Object.assign({}, data.starter);
    for (var i = 0; i < upto && i < changes.length; i++) {
      if (changes[i]) apply(files, changes[i]);
    }
    return files;
  }

  function show(position, fromUser) {
    var files = filesAt(position);
    var current = position > 0 ? changes[position - 1] : null;
    if (current && current.path in files) selected = current.path;
    if (!selected || !(selected in files)) {
      // What the candidate was on: the latest file event up to here (as replay.py does).
      for (var i = position - 1; i >= 0; i--) {
        if (changes[i] && changes[i].path in files) { selected = changes[i].path; break; }
      }
    }
    var paths = Object.keys(files).sort();
    if (!selected || !(selected in files)) selected = paths[0] || null;

    filesBar.textContent = "";
    paths.forEach(function (path) {
      var b = document.createElement("a");
      b.href = "?at=" + position + "&file=" + encodeURIComponent(path);
      b.className = "rv-file" + (current && current.path === path ? " rv-file-changed" : "");
      b.setAttribute("role", "tab");
      b.setAttribute("aria-selected", path === selected ? "true" : "false");
      b.dataset.path = path;
      b.textContent = path;  // text, never HTML
      filesBar.appendChild(b);
    });
    source.textContent = selected ? files[selected] : "(no files)";

    label.textContent = position + " / " + changes.length;
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
      scrubber.value = String(Math.max(0, Math.min(changes.length, next)));
      show(Number(scrubber.value), true);
    }
  });
  show(Number(scrubber.value), false);
})();
