// The Chat page: a question is POSTed and its answer read as server-sent events from the same
// response (sources, then the text as the LLM writes it, then done). Text only ever goes in as
// textContent. Enter sends; Shift+Enter breaks the line; Enter that confirms an IME conversion
// does neither.
(function () {
  "use strict";
  var chat = document.getElementById("chat");
  if (!chat) return;
  var log = document.getElementById("chat-log");
  var form = document.getElementById("chat-form");
  var input = document.getElementById("chat-query");
  var send = document.getElementById("chat-send");
  var session = chat.dataset.session || "";

  function bubble(role, text) {
    var empty = log.querySelector(".chat-empty");
    if (empty) empty.remove();
    var message = document.createElement("div");
    message.className = "chat-msg chat-" + role;
    var body = document.createElement("div");
    body.className = "chat-text";
    body.textContent = text;
    message.appendChild(body);
    log.appendChild(message);
    message.scrollIntoView({ block: "end" });
    return message;
  }

  function sources(message, list) {
    if (!list || !list.length) return;
    var details = document.createElement("details");
    details.className = "sources";
    var summary = document.createElement("summary");
    summary.textContent = chat.dataset.msgSources.replace("{n}", list.length);
    details.appendChild(summary);
    var ol = document.createElement("ol");
    list.forEach(function (source) {
      var li = document.createElement("li");
      var link = document.createElement("a");
      link.href = chat.dataset.download.replace("00000000-0000-0000-0000-000000000000", source.file_id);
      link.textContent = source.title || source.file_name;
      li.appendChild(link);
      if (source.page) {
        var page = document.createElement("span");
        page.className = "muted small";
        page.textContent = " " + chat.dataset.msgPage.replace("{n}", source.page);
        li.appendChild(page);
      }
      var passage = document.createElement("div");
      passage.className = "passage";
      passage.textContent = source.chunk_text;
      li.appendChild(passage);
      ol.appendChild(li);
    });
    details.appendChild(ol);
    message.appendChild(details);
  }

  function failed(message, text) {
    message.classList.add("chat-error");
    message.querySelector(".chat-text").textContent = text;
  }

  function handle(event, message, state) {
    var text = message.querySelector(".chat-text");
    if (event.event === "sources") {
      state.sources = event.sources;
    } else if (event.event === "delta") {
      if (!state.started) { text.textContent = ""; state.started = true; }
      text.textContent += event.text;
      message.scrollIntoView({ block: "end" });
    } else if (event.event === "done") {
      sources(message, state.sources);
      if (!session) {
        session = event.conversation_id;
        var address = chat.dataset.page.replace(/\/$/, "") + "/" + session;
        history.replaceState(null, "", address);
        addToList(address, state.query);
      }
    } else if (event.event === "error") {
      failed(message, event.message);
    }
  }

  // A new conversation joins the list at the top, marked as the one open.
  function addToList(address, title) {
    var list = document.querySelector(".chat-list ul");
    if (!list) return;
    var none = list.querySelector("li.muted");
    if (none) none.remove();
    list.querySelectorAll("a[aria-current]").forEach(function (link) { link.removeAttribute("aria-current"); });
    var item = document.createElement("li");
    var link = document.createElement("a");
    link.href = address;
    link.textContent = title.length > 80 ? title.slice(0, 80) : title;
    link.setAttribute("aria-current", "page");
    item.appendChild(link);
    list.insertBefore(item, list.firstChild);
  }

  function ask(query) {
    bubble("user", query);
    var answer = bubble("assistant", chat.dataset.msgThinking);
    answer.setAttribute("aria-busy", "true");
    send.disabled = true;
    var body = new URLSearchParams({ query: query, csrf_token: chat.dataset.csrf, session_id: session });
    var state = { sources: [], started: false, query: query };
    fetch(chat.dataset.ask, { method: "POST", body: body, headers: { "X-CSRFToken": chat.dataset.csrf },
                              credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) {
          return response.json().catch(function () { return {}; }).then(function (data) {
            failed(answer, response.status === 429 ? chat.dataset.msgRate : (data.error || chat.dataset.msgFailed));
          });
        }
        var reader = response.body.getReader();
        var decoder = new TextDecoder();
        var buffer = "";
        function pump() {
          return reader.read().then(function (chunk) {
            buffer += decoder.decode(chunk.value || new Uint8Array(), { stream: !chunk.done });
            var frames = buffer.split("\n\n");
            buffer = frames.pop();
            frames.forEach(function (frame) {
              var data = frame.split("\n").filter(function (line) { return line.indexOf("data: ") === 0; })
                .map(function (line) { return line.slice(6); }).join("\n");
              if (data) handle(JSON.parse(data), answer, state);
            });
            if (!chunk.done) return pump();
          });
        }
        return pump();
      })
      .catch(function () { failed(answer, chat.dataset.msgFailed); })
      .then(function () { answer.removeAttribute("aria-busy"); send.disabled = false; input.focus(); });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var query = input.value.trim();
    if (!query || send.disabled) return;
    input.value = "";
    ask(query);
  });
  input.addEventListener("keydown", function (event) {
    // keyCode 229: an IME is composing (Safari reports isComposing false on the confirming Enter).
    if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.keyCode === 229) return;
    event.preventDefault();
    form.requestSubmit();
  });
  log.lastElementChild && log.lastElementChild.scrollIntoView({ block: "end" });
})();
