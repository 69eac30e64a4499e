// The Terminal tab of the preview drawer: xterm.js attached over the room's websocket to
// the shell in the candidate's live sandbox (docs/live.md, "The terminal").
//
// The candidate types and resizes; the interviewer watches, and types only while their
// "Let me type" toggle is on. Output arrives as terminal_output events carrying the byte
// offset they end at: after a (re)connect, term_open returns the recent history with its
// offset and older events are dropped. The shell's text is hostile but goes only into
// xterm's own renderer, never into this page as HTML.

// A term_in carries at most 4096 bytes: 1000 characters are at most 4000 in UTF-8.
const MAX_CHARS = 1000;

export function mountTerminal(socket, { staff }) {
  const panel = document.getElementById("terminal");
  const tab = document.querySelector('[data-preview-tab="terminal"]');
  if (!panel || !tab) return;
  const screen = document.getElementById("terminal-screen");
  const status = document.getElementById("terminal-status");
  const allow = document.getElementById("terminal-allow");
  let term = null;
  let fit = null;
  let end = 0;
  let opened = false;
  let running = false;
  let mayType = !staff;

  function say(text, state) {
    status.textContent = text || "";
    status.hidden = !text;
    if (state) panel.dataset.state = state;
  }

  async function ensure() {
    if (term) return;
    // Loaded when the tab is first opened: the editor's page does not wait for it.
    const [{ Terminal }, { FitAddon }] = await Promise.all([import("@xterm/xterm"), import("@xterm/addon-fit")]);
    if (term) return;
    term = new Terminal({ cursorBlink: true, scrollback: 5000, fontSize: 13, convertEol: false });
    fit = new FitAddon();
    term.loadAddon(fit);
    term.open(screen);
    term.onData(input);
    term.onResize(({ rows, cols }) => {
      if (!staff && running) socket.send({ type: "term_resize", rows, cols });
    });
    new ResizeObserver(() => {
      if (!panel.hidden && screen.offsetWidth) fit.fit();
    }).observe(screen);
  }

  async function open() {
    await ensure();
    opened = true;
    say(staff ? "Connecting to the candidate's terminal…" : "Starting the shell…", "opening");
    const reply = await socket.request({ type: "term_open" }, 90000);
    if (reply.type !== "term_state") {
      say(reply.message || "The terminal is not available.", "unavailable");
      return;
    }
    term.reset();
    term.write(reply.history);
    end = reply.end;
    running = reply.running;
    mayType = reply.may_type;
    showTyping(reply.typing || []);
    if (running) {
      say("", "running");
      if (!staff) socket.send({ type: "term_resize", rows: term.rows, cols: term.cols });
    } else {
      say("The candidate has not opened a terminal yet.", "idle");
    }
  }

  function input(data) {
    if (!mayType) return;
    if (!running) {
      if (!staff) open(); // a key after the shell ended starts a new one
      return;
    }
    for (let i = 0; i < data.length; i += MAX_CHARS) {
      socket.send({ type: "term_in", data: data.slice(i, i + MAX_CHARS) });
    }
  }

  function showTyping(who) {
    if (staff) return;
    const notice = document.getElementById("terminal-typing");
    notice.hidden = who.length === 0;
    notice.textContent = who.length ? `The interviewer can type in this terminal (${who.join(", ")}).` : "";
  }

  tab.addEventListener("click", () => {
    if (!opened) open();
    else if (fit) requestAnimationFrame(() => fit.fit());
  });
  if (allow) {
    allow.addEventListener("change", async () => {
      const reply = await socket.request({ type: "term_allow", on: allow.checked });
      if (reply.type === "ok") mayType = allow.checked;
      else allow.checked = mayType;
    });
  }

  // Messages: the room's and the console's handlers see them too; only the terminal's matter here.
  const onMessage = socket.onMessage;
  socket.onMessage = (msg) => {
    onMessage(msg);
    if (msg.type !== "event" || !term) return;
    const event = msg.event;
    if (event.kind === "terminal_output") {
      if (event.end <= end) return; // already in the history
      end = event.end;
      term.write(event.data);
      if (!running) {
        running = true;
        say("", "running");
      }
    } else if (event.kind === "terminal_exit") {
      running = false;
      term.write(`\r\n\x1b[33m${event.message}\x1b[0m\r\n`);
      say(event.message, "exited");
    } else if (event.kind === "terminal_typing") {
      showTyping(event.typing || []);
    }
  };
  // After a dropped socket: attach again (the shell outlived the connection).
  const onStatus = socket.onStatus;
  socket.onStatus = (state) => {
    onStatus(state);
    if (state === "online" && opened) open();
  };
}
