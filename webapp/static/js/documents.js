// The Documents page: files dropped (or chosen) are uploaded one request each, with a progress bar
// per file; the table then follows each document's reading live through server-sent events
// (/documents/events), and closes the stream when nothing is left to read.
(function () {
  "use strict";
  var root = document.getElementById("documents-live");
  if (!root) return;
  var labels = JSON.parse(root.dataset.labels || "{}");
  var tones = JSON.parse(root.dataset.tones || "{}");
  var maxBytes = Number(root.dataset.maxBytes || 0);
  var source = null;

  function refreshTable() {
    if (!window.htmx) { location.reload(); return; }
    window.htmx.ajax("GET", location.pathname + location.search, { target: "#documents-table", headers: { "HX-Target": "documents-table" } });
  }

  function follow() {
    if (source || !window.EventSource) return;
    source = new EventSource(root.dataset.events);
    source.addEventListener("document", function (event) { onState(JSON.parse(event.data)); });
    source.addEventListener("idle", stop);
    source.addEventListener("busy", stop);  // other tabs follow already; this one shows what it has
  }

  function stop() {
    if (source) { source.close(); source = null; }
  }

  function onState(state) {
    var row = root.querySelector('tr[data-document-id="' + state.id + '"]');
    if (!row) { refreshTable(); return; }
    var badge = row.querySelector("[data-status]");
    if (badge && badge.dataset.status !== state.status) {
      badge.dataset.status = state.status;
      badge.className = "badge badge-" + (tones[state.status] || "info");
      badge.textContent = labels[state.status] || state.status;
    }
    var progress = row.querySelector("[data-progress]");
    if (progress) {
      progress.hidden = state.status !== "processing";
      progress.querySelector("progress").value = state.progress;
      progress.querySelector(".progress-value").textContent = state.progress + "%";
    }
    var failure = row.querySelector("[data-failure]");
    if (failure) failure.textContent = state.failure_reason || "";
    var retry = row.querySelector("[data-retry]");
    if (retry) retry.hidden = state.status !== "failed";
  }

  // --- Uploads
  var list = document.getElementById("upload-list");
  var input = document.getElementById("document-files");
  var drop = document.getElementById("document-drop");
  var queue = [];
  var busy = false;

  function item(file) {
    var li = document.createElement("li");
    var name = document.createElement("span");
    name.className = "upload-name";
    name.textContent = file.name;
    var bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", file.name);
    var note = document.createElement("span");
    note.className = "muted small upload-note";
    li.appendChild(name);
    li.appendChild(bar);
    li.appendChild(note);
    list.appendChild(li);
    return { li: li, bar: bar, note: note };
  }

  function fail(view, message) {
    view.li.classList.add("upload-failed");
    view.bar.hidden = true;
    view.note.textContent = message;
  }

  function next() {
    if (busy || !queue.length) return;
    busy = true;
    var job = queue.shift();
    var form = new FormData();
    form.append("file", job.file);
    form.append("csrf_token", root.dataset.csrf);
    var request = new XMLHttpRequest();
    request.open("POST", root.dataset.upload);
    request.setRequestHeader("X-CSRFToken", root.dataset.csrf);
    request.upload.addEventListener("progress", function (event) {
      if (event.lengthComputable) job.view.bar.value = Math.round(event.loaded * 100 / event.total);
    });
    request.addEventListener("load", function () {
      var body = {};
      try { body = JSON.parse(request.responseText); } catch (e) { /* not JSON: a proxy's page */ }
      if (request.status === 201) {
        job.view.bar.value = 100;
        job.view.note.textContent = root.dataset.msgUploaded;
        job.view.li.classList.add("upload-done");
        refreshTable();
        follow();
      } else if (request.status === 429) {
        fail(job.view, root.dataset.msgRate);
      } else {
        fail(job.view, body.error || root.dataset.msgFailed);
      }
      busy = false;
      next();
    });
    request.addEventListener("error", function () { fail(job.view, root.dataset.msgFailed); busy = false; next(); });
    request.send(form);
  }

  function add(files) {
    Array.prototype.forEach.call(files, function (file) {
      var view = item(file);
      if (maxBytes && file.size > maxBytes) {
        fail(view, root.dataset.msgTooLarge.replace("{name}", file.name));
        return;
      }
      queue.push({ file: file, view: view });
    });
    next();
  }

  if (input) input.addEventListener("change", function () { add(input.files); input.value = ""; });
  if (drop) {
    ["dragenter", "dragover"].forEach(function (name) {
      drop.addEventListener(name, function (event) { event.preventDefault(); drop.classList.add("dragging"); });
    });
    ["dragleave", "drop"].forEach(function (name) {
      drop.addEventListener(name, function () { drop.classList.remove("dragging"); });
    });
    drop.addEventListener("drop", function (event) {
      event.preventDefault();
      if (event.dataTransfer && event.dataTransfer.files.length) add(event.dataTransfer.files);
    });
  }

  // Something is being read already: follow it from the start.
  if (root.querySelector('[data-status="pending"], [data-status="processing"]')) follow();
  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (event.target.id === "documents-table" && root.querySelector('[data-status="pending"], [data-status="processing"]')) follow();
  });
  window.addEventListener("pagehide", stop);
})();
