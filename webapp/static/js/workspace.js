// The Workspace terminal: the agent's output (ANSI) drawn by xterm.js as spec 004's `message` events
// arrive, requests sent with `message`, `resize` when the terminal's size changes, `cancel`, and the
// approval card for `tool_approval_request`. On every (re)connect the server is told the session and
// the timestamp of the last output shown, and replays what was missed. Text from the agent goes into
// the card with textContent, never as HTML.
(function () {
  "use strict";
  var root = document.getElementById("workspace");
  if (!root) return;

  function ready() {  // xterm.js, its fit addon and Socket.IO: from the CDN, or their local copies (boot.js)
    if (root.dataset.started || !window.Terminal || !window.io || !window.FitAddon) return;
    root.dataset.started = "1";
    start();
  }
  document.addEventListener("agentdesk:asset", ready);
  ready();

  function start() {
    var sessionId = root.dataset.session;
    var screen = JSON.parse(document.getElementById("ws-screen").textContent || "{}");
    var since = screen.since || null;
    var status = document.getElementById("ws-status");
    var card = document.getElementById("ws-approval");
    var form = document.getElementById("ws-form");
    var input = document.getElementById("ws-input");
    var cancel = document.getElementById("ws-cancel");
    var pending = null; // the approval request on the card
    var draftKey = "agentdesk.draft." + sessionId;
    var dark = document.documentElement.dataset.theme === "dark" ||
      (!document.documentElement.dataset.theme && window.matchMedia("(prefers-color-scheme: dark)").matches);

    var term = new window.Terminal({
      convertEol: false, disableStdin: true, scrollback: 5000, cursorBlink: false,
      fontSize: Number(root.dataset.fontSize) || 14,
      fontFamily: '"Noto Sans Mono CJK JP", "Noto Sans Mono", Menlo, Consolas, monospace',
      theme: dark ? { background: "#0f172a", foreground: "#e2e8f0" }
                  : { background: "#ffffff", foreground: "#1e293b", cursor: "#1e293b", selectionBackground: "#bfdbfe" },
    });
    var fit = new window.FitAddon.FitAddon();
    term.loadAddon(fit);
    term.open(document.getElementById("ws-terminal"));
    if (screen.output) term.write(screen.output);

    function say(key, tone) {
      status.dataset.tone = tone || key;
      status.querySelector("[data-text]").textContent = root.getAttribute("data-msg-" + key) || key;
    }

    function beep() {
      if (root.dataset.sounds !== "true" || !window.AudioContext) return;
      try {
        var context = new window.AudioContext(), tone = context.createOscillator(), gain = context.createGain();
        tone.frequency.value = 660; gain.gain.value = 0.05;
        tone.connect(gain); gain.connect(context.destination);
        tone.start(); tone.stop(context.currentTime + 0.15);
      } catch (e) { /* no sound: not important */ }
    }

    var socket = window.io({
      transports: ["websocket", "polling"],
      auth: function (send) { send({ sessionId: sessionId, since: since }); },
    });

    function resize() {
      fit.fit();
      if (socket.connected) socket.emit("resize", { cols: term.cols, rows: term.rows, sessionId: sessionId });
    }

    socket.on("connect", function () {
      if (root.dataset.status === "closed") say("closed");
      else if (!root.dataset.was) say("idle");  // a status replayed on connect stands
      resize();
    });
    socket.on("disconnect", function () { say("offline", "error"); });
    socket.on("message", function (event) {
      if (event.sessionId !== sessionId || event.type !== "output") return;
      if (since && event.payload.timestamp <= since) return;  // shown already (a replay may overlap)
      term.write(event.payload.content);
      since = event.payload.timestamp;
    });
    socket.on("status", function (event) {
      if (event.sessionId !== sessionId) return;
      var state = event.payload.status;
      say(state);
      if (event.payload.message) status.querySelector("[data-text]").textContent += " — " + event.payload.message;
      if (cancel) cancel.disabled = state === "idle";
      if (state === "idle" && root.dataset.was === "processing") beep();
      root.dataset.was = state;
      if (state !== "waiting_approval") hideCard();
    });
    socket.on("tool_approval_request", function (event) {
      if (event.sessionId !== sessionId) return;
      showCard(event.payload);
      beep();
    });
    socket.on("error", function (event) {
      if (event && event.payload && (!event.sessionId || event.sessionId === sessionId)) {
        status.dataset.tone = "error";
        status.querySelector("[data-text]").textContent = event.payload.message;
      }
    });

    function showCard(request) {
      pending = request;
      ["name", "command", "purpose"].forEach(function (name) {
        card.querySelector('[data-field="' + name + '"]').textContent = request.tool[name] || "—";
      });
      var risk = card.querySelector('[data-field="risk"]');
      risk.textContent = root.getAttribute("data-risk-" + request.tool.risk) || request.tool.risk;
      risk.className = "badge badge-" + ({ low: "ok", medium: "warn", high: "off" }[request.tool.risk] || "info");
      card.dataset.risk = request.tool.risk;
      card.hidden = false;
      card.querySelector('[data-approve="' + (request.tool.risk === "high" ? "false" : "true") + '"]').focus();
    }

    function hideCard() { card.hidden = true; pending = null; }

    card.addEventListener("click", function (event) {
      var button = event.target.closest("[data-approve]");
      if (!button || !pending) return;
      var approved = button.dataset.approve === "true";
      socket.emit("tool_approval", { requestId: pending.requestId, approved: approved, sessionId: sessionId });
      say(approved ? "approved" : "rejected", "processing");
      hideCard();
    });

    if (form) {
      if (root.dataset.autosave === "true") {
        input.value = window.localStorage.getItem(draftKey) || "";
        input.addEventListener("input", function () { window.localStorage.setItem(draftKey, input.value); });
      }
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var content = input.value;
        if (!content.trim()) return;
        socket.emit("message", { content: content, sessionId: sessionId });
        input.value = "";
        window.localStorage.removeItem(draftKey);
      });
      input.addEventListener("keydown", function (event) {
        // keyCode 229: an IME is composing (Safari reports isComposing false on the confirming Enter).
        if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.keyCode === 229) return;
        event.preventDefault();
        form.requestSubmit();
      });
      cancel.addEventListener("click", function () { socket.emit("cancel", { sessionId: sessionId }); });
    }
    window.addEventListener("resize", function () { window.clearTimeout(resize.timer); resize.timer = window.setTimeout(resize, 150); });
  }
})();
