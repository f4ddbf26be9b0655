/* AgentDesk chat widget (spec 001): one script tag on any site.
 *
 *   <script src="https://agentdesk.example.com/static/widget/widget.js" data-api-key="adk_wgt_..." defer></script>
 *
 * Adds a chat button to the page; questions go to POST /api/v1/chats/widget/chat on the server the
 * script came from, with the key in X-API-Key. Everything lives in a shadow root, so the page's CSS
 * and the widget's never meet; text is only ever inserted as text. Japanese or English, from the
 * visitor's browser. Enter sends, Shift+Enter breaks the line, and Enter that confirms an IME
 * conversion does neither.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.getAttribute("data-api-key")) {
    if (window.console) console.error("AgentDesk widget: the script tag needs data-api-key");
    return;
  }
  var key = script.getAttribute("data-api-key");
  var endpoint = new URL("/api/v1/chats/widget/chat", script.src).href;
  var ja = /^ja\b/i.test(script.getAttribute("data-lang") || navigator.language || "");
  var T = ja ? {
    open: "質問する", close: "閉じる", title: "ドキュメントに質問", placeholder: "質問を入力（Enterで送信、Shift+Enterで改行）",
    send: "送信", thinking: "回答を作成中…", sources: "参照した箇所", failed: "回答を取得できませんでした。",
    busy: "質問が多すぎます。しばらくしてからもう一度お試しください。", retrievalOnly: "（検索結果のみ）", newChat: "新しい会話"
  } : {
    open: "Ask a question", close: "Close", title: "Ask our documents", placeholder: "Your question (Enter sends, Shift+Enter for a new line)",
    send: "Send", thinking: "Writing the answer…", sources: "Passages used", failed: "The answer could not be fetched.",
    busy: "Too many questions right now. Please try again in a moment.", retrievalOnly: "(search results only)", newChat: "New conversation"
  };
  var storeKey = "agentdesk-widget:" + key.slice(0, 12);
  var conversation = null;
  try { conversation = sessionStorage.getItem(storeKey); } catch (e) { /* storage may be blocked */ }

  var host = document.createElement("div");
  host.setAttribute("data-agentdesk-widget", "");
  var root = host.attachShadow({ mode: "open" });
  root.innerHTML =
    "<style>" +
    ":host{all:initial}" +
    "*{box-sizing:border-box;font-family:system-ui,-apple-system,'Segoe UI','Hiragino Sans','Noto Sans JP','Noto Sans CJK JP',sans-serif}" +
    ".launcher{position:fixed;right:16px;bottom:16px;z-index:2147483000;border:0;border-radius:999px;padding:12px 18px;" +
    "background:#1d4ed8;color:#fff;font-size:15px;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25)}" +
    ".launcher:focus-visible,button:focus-visible,textarea:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}" +
    ".panel{position:fixed;right:16px;bottom:72px;z-index:2147483000;width:min(380px,calc(100vw - 32px));" +
    "height:min(560px,calc(100vh - 96px));display:flex;flex-direction:column;background:#fff;color:#111827;" +
    "border:1px solid #d1d5db;border-radius:12px;box-shadow:0 10px 30px rgba(0,0,0,.25);overflow:hidden}" +
    ".panel[hidden]{display:none}" +
    "header{display:flex;align-items:center;gap:8px;padding:10px 12px;background:#1d4ed8;color:#fff}" +
    "header h2{flex:1;margin:0;font-size:15px;font-weight:600}" +
    "header button{background:transparent;border:1px solid rgba(255,255,255,.6);color:#fff;border-radius:6px;padding:4px 8px;cursor:pointer;font-size:13px}" +
    ".log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:10px;font-size:14px;line-height:1.6}" +
    ".msg{max-width:90%;padding:8px 10px;border-radius:10px;white-space:pre-wrap;overflow-wrap:anywhere}" +
    ".me{align-self:flex-end;background:#dbeafe}" +
    ".bot{align-self:flex-start;background:#f3f4f6}" +
    ".err{align-self:flex-start;background:#fee2e2;color:#991b1b}" +
    "details{margin-top:6px;font-size:13px}summary{cursor:pointer;color:#1d4ed8}" +
    "details ol{margin:4px 0 0;padding-left:20px}details li{margin-bottom:4px}" +
    ".passage{color:#374151;white-space:pre-wrap}" +
    "form{display:flex;gap:8px;padding:10px;border-top:1px solid #e5e7eb}" +
    "textarea{flex:1;resize:none;height:44px;padding:8px;border:1px solid #9ca3af;border-radius:8px;font-size:14px;color:#111827;background:#fff}" +
    "form button{border:0;border-radius:8px;padding:0 14px;background:#1d4ed8;color:#fff;font-size:14px;cursor:pointer}" +
    "form button[disabled]{opacity:.6;cursor:progress}" +
    "</style>" +
    "<button class='launcher' type='button' aria-expanded='false'></button>" +
    "<section class='panel' role='dialog' aria-modal='false' hidden>" +
    "<header><h2></h2><button type='button' class='new'></button><button type='button' class='close'></button></header>" +
    "<div class='log' role='log' aria-live='polite'></div>" +
    "<form><textarea rows='2' maxlength='1000'></textarea><button type='submit'></button></form>" +
    "</section>";

  var launcher = root.querySelector(".launcher");
  var panel = root.querySelector(".panel");
  var log = root.querySelector(".log");
  var form = root.querySelector("form");
  var input = root.querySelector("textarea");
  var sendButton = root.querySelector("form button");
  launcher.textContent = T.open;
  root.querySelector("h2").textContent = T.title;
  root.querySelector(".close").textContent = T.close;
  root.querySelector(".new").textContent = T.newChat;
  panel.setAttribute("aria-label", T.title);
  input.setAttribute("placeholder", T.placeholder);
  input.setAttribute("aria-label", T.placeholder);
  sendButton.textContent = T.send;

  function toggle(open) {
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", String(open));
    if (open) input.focus(); else launcher.focus();
  }
  launcher.addEventListener("click", function () { toggle(panel.hidden); });
  root.querySelector(".close").addEventListener("click", function () { toggle(false); });
  root.querySelector(".new").addEventListener("click", function () {
    conversation = null;
    try { sessionStorage.removeItem(storeKey); } catch (e) { /* ignore */ }
    log.textContent = "";
    input.focus();
  });
  panel.addEventListener("keydown", function (event) { if (event.key === "Escape") toggle(false); });

  function bubble(kind, text) {
    var element = document.createElement("div");
    element.className = "msg " + kind;
    element.textContent = text;
    log.appendChild(element);
    log.scrollTop = log.scrollHeight;
    return element;
  }

  function showSources(element, sources) {
    if (!sources || !sources.length) return;
    var details = document.createElement("details");
    var summary = document.createElement("summary");
    summary.textContent = T.sources + " (" + sources.length + ")";
    details.appendChild(summary);
    var list = document.createElement("ol");
    sources.forEach(function (source) {
      var item = document.createElement("li");
      var name = document.createElement("strong");
      name.textContent = source.title || source.file_name;
      var passage = document.createElement("div");
      passage.className = "passage";
      passage.textContent = source.chunk_text;
      item.appendChild(name);
      item.appendChild(passage);
      list.appendChild(item);
    });
    details.appendChild(list);
    element.appendChild(details);
  }

  function ask(query) {
    bubble("me", query);
    var pending = bubble("bot", T.thinking);
    sendButton.disabled = true;
    var body = { query: query };
    if (conversation) body.session_id = conversation;
    fetch(endpoint, {
      method: "POST", mode: "cors", credentials: "omit",
      headers: { "Content-Type": "application/json", "X-API-Key": key, "Accept-Language": ja ? "ja" : "en" },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) { return { status: response.status, data: data }; });
    }).then(function (result) {
      if (result.status === 404 && conversation) {  // the conversation is gone: start again
        conversation = null;
        try { sessionStorage.removeItem(storeKey); } catch (e) { /* ignore */ }
      }
      if (result.status !== 200) {
        pending.className = "msg err";
        pending.textContent = result.status === 429 ? T.busy : (result.data.detail || T.failed);
        return;
      }
      conversation = result.data.conversation_id;
      try { sessionStorage.setItem(storeKey, conversation); } catch (e) { /* ignore */ }
      var meta = result.data.metadata || {};
      pending.textContent = result.data.answer + (meta.retrieval_only ? "\n" + T.retrievalOnly : "");
      showSources(pending, result.data.sources);
    }).catch(function () {
      pending.className = "msg err";
      pending.textContent = T.failed;
    }).then(function () {
      sendButton.disabled = false;
      log.scrollTop = log.scrollHeight;
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var query = input.value.trim();
    if (!query || sendButton.disabled) return;
    input.value = "";
    ask(query);
  });
  input.addEventListener("keydown", function (event) {
    // keyCode 229: an IME is composing (Safari reports isComposing false on the confirming Enter).
    if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.keyCode === 229) return;
    event.preventDefault();
    form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit", { cancelable: true }));
  });

  function mount() { document.body.appendChild(host); }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
