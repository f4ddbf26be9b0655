// Live task pages: Socket.IO events move progress bars, flip status badges, grow the log tail and the
// metric charts, without a reload. The server only sends a person what they may see (rooms checked
// on connect and on join). Every text from an agent goes in with textContent, never as HTML.
(function () {
  "use strict";
  var root = document.getElementById("tasks-live");
  if (!root) return;
  var labels = JSON.parse(root.dataset.statusLabels || "{}");
  var tones = JSON.parse(root.dataset.statusTones || "{}");
  var taskId = root.dataset.taskId;
  var charts = {};

  function setStatus(badge, status) {
    if (!badge || badge.dataset.status === status) return false;
    badge.dataset.status = status;
    badge.className = "badge badge-" + (tones[status] || "info");
    badge.textContent = labels[status] || status;
    return true;
  }

  function setProgress(scope, value) {
    var cell = scope.querySelector("[data-progress]");
    if (!cell) return;
    var bar = cell.querySelector("progress");
    bar.value = value;
    bar.textContent = value + "%";
    cell.querySelector(".progress-value").textContent = value + "%";
  }

  function setMessage(scope, text) {
    var message = scope.querySelector("[data-message]");
    if (message) message.textContent = text || "";
  }

  // --- The list: update the row, or fetch the table again for a task it does not show yet.
  var refreshing = false;
  function refreshList() {
    if (refreshing || !window.htmx) return;
    refreshing = true;
    var done = function () { refreshing = false; };
    // The address bar holds the filters in force (the filter form pushes them there).
    window.htmx.ajax("GET", location.pathname + location.search, { target: "#tasks-table" }).then(done, done);
  }

  function onTaskInList(task) {
    var row = root.querySelector('tr[data-task-id="' + task.id + '"]');
    if (!row) {
      if (!new URLSearchParams(location.search).get("cursor")) refreshList();  // new work on the first page
      return;
    }
    setStatus(row.querySelector("[data-status]"), task.status);
    setProgress(row, task.progress);
    setMessage(row, task.message);
  }

  // --- A task's page.
  function onTask(task) {
    if (task.id !== taskId) {  // one of its auto-fix tasks, or its origin, changed
      document.querySelectorAll('[data-status-of="' + task.id + '"]').forEach(function (badge) {
        setStatus(badge, task.status);
      });
      return;
    }
    var summary = document.getElementById("task-summary");
    setStatus(summary.querySelector("[data-status]"), task.status);
    setProgress(summary, task.progress);
    setMessage(summary, task.message);
    setMoment(summary.querySelector("[data-started]"), task.startedAt);
    setMoment(summary.querySelector("[data-completed]"), task.completedAt);
    setMoment(summary.querySelector("[data-updated]"), task.updatedAt);
    var eta = summary.querySelector("[data-eta]");
    if (eta) {
      eta.textContent = task.estimatedTimeRemaining == null ? "—"
        : eta.dataset.etaTemplate.replace("{n}", Math.ceil(task.estimatedTimeRemaining / 60));
    }
  }

  // As the server's datetime macro shows it: "2026-11-28 12:20" (UTC), the full moment on hover.
  function setMoment(cell, iso) {
    if (!cell) return;
    cell.textContent = "";
    if (!iso) { cell.textContent = "—"; return; }
    var time = document.createElement("time");
    time.dateTime = iso;
    time.title = iso.slice(0, 19).replace("T", " ") + " UTC";
    time.textContent = iso.slice(0, 16).replace("T", " ");
    cell.appendChild(time);
  }

  function logFilter() {
    var level = document.getElementById("log-level");
    var search = document.getElementById("log-search");
    return { level: level ? level.value : "", text: search ? search.value.trim().toLowerCase() : "" };
  }

  function onLogs(event) {
    if (event.taskId !== taskId) return;
    var list = document.getElementById("log-lines");
    var scroller = document.getElementById("log-scroll");
    if (!list) return;
    var filter = logFilter();
    var atBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 40;
    var empty = list.querySelector(".log-empty");
    event.logs.forEach(function (line) {
      if (filter.level && line.level !== filter.level) return;
      if (filter.text && line.message.toLowerCase().indexOf(filter.text) === -1) return;
      if (list.querySelector('[data-id="' + line.id + '"]')) return;
      if (empty) { empty.remove(); empty = null; }
      var item = document.createElement("li");
      item.className = "log-line level-" + line.level.toLowerCase();
      item.dataset.id = line.id;
      var time = document.createElement("time");
      time.dateTime = line.timestamp;
      time.textContent = (line.timestamp || "").slice(11, 19);
      var level = document.createElement("span");
      level.className = "level";
      level.textContent = line.level;
      var message = document.createElement("span");
      message.className = "msg";
      message.textContent = line.message;
      item.append(time, level, message);
      list.appendChild(item);
    });
    trim(list);
    if (atBottom) scroller.scrollTop = scroller.scrollHeight;
  }

  // A tail that runs for hours keeps its newest lines; the oldest dropped ones stay a link away.
  var MAX_LINES = 2000;
  function trim(list) {
    var lines = list.querySelectorAll(".log-line");
    if (lines.length <= MAX_LINES) return;
    for (var i = 0; i < lines.length - MAX_LINES; i++) lines[i].remove();
    var older = list.querySelector(".load-older");
    if (older) older.remove();
    var first = list.querySelector(".log-line");
    var item = document.createElement("li");
    item.className = "load-older";
    var link = document.createElement("a");
    link.className = "btn btn-small";
    var params = new URLSearchParams(location.search);
    params.set("before", first.dataset.id);
    link.href = location.pathname + "?" + params.toString();
    link.textContent = root.dataset.olderLabel || "…";
    item.appendChild(link);
    list.insertBefore(item, first);
  }

  function color(name) {
    var probe = document.createElement("span");
    document.body.appendChild(probe);
    probe.style.color = "var(" + name + ")";
    var value = getComputedStyle(probe).color;
    probe.remove();
    return value;
  }

  function drawCharts() {
    var grid = document.querySelector(".chart-grid");
    if (!grid || grid.hidden || !window.Chart || grid.dataset.drawn) return;
    grid.dataset.drawn = "1";
    var metrics = JSON.parse(grid.dataset.metrics);
    var names = JSON.parse(grid.dataset.labels);
    var ink = color("--muted"), line = color("--line"), brand = color("--brand");
    grid.querySelectorAll("canvas[data-metric]").forEach(function (canvas) {
      var key = canvas.dataset.metric;
      charts[key] = new window.Chart(canvas, {
        type: "line",
        data: {
          labels: metrics.map(function (m) { return (m.timestamp || "").slice(11, 19); }),
          datasets: [{ label: names[key], data: metrics.map(function (m) { return m[key]; }), borderColor: brand,
                       backgroundColor: brand, spanGaps: true, tension: 0.2, pointRadius: 2 }]
        },
        options: {
          maintainAspectRatio: false, animation: false, color: ink,
          scales: { x: { ticks: { color: ink, maxTicksLimit: 6 }, grid: { color: line } },
                    y: { beginAtZero: true, ticks: { color: ink }, grid: { color: line } } },
          plugins: { legend: { labels: { color: ink } } }
        }
      });
    });
  }

  function onMetric(metric) {
    if (metric.taskId !== taskId) return;
    var grid = document.querySelector(".chart-grid");
    if (!grid) return;
    if (grid.hidden) {  // the first sample: show the charts with it
      grid.dataset.metrics = JSON.stringify([metric]);
      grid.hidden = false;
      document.querySelector("[data-metrics-empty]").hidden = true;
      drawCharts();
      return;
    }
    Object.keys(charts).forEach(function (key) {
      var chart = charts[key];
      chart.data.labels.push((metric.timestamp || "").slice(11, 19));
      chart.data.datasets[0].data.push(metric[key]);
      if (chart.data.labels.length > 500) { chart.data.labels.shift(); chart.data.datasets[0].data.shift(); }
      chart.update("none");
    });
  }

  function onError(error) {
    if (error.taskId !== taskId || !window.htmx) return;
    window.htmx.ajax("GET", root.dataset.errorsUrl, { target: "#errors", swap: "innerHTML" });
  }

  drawCharts();
  document.addEventListener("agentdesk:asset", drawCharts);

  function connect() {
    if (!window.io || root.dataset.connected) return;
    root.dataset.connected = "1";
    var socket = window.io({ transports: ["websocket", "polling"] });
    var state = document.querySelector("[data-live-state]");
    socket.on("connect", function () {
      if (taskId) socket.emit("join_task", { id: taskId });
      if (state) state.hidden = false;
    });
    socket.on("disconnect", function () { if (state) state.hidden = true; });
    socket.on("task", taskId ? onTask : onTaskInList);
    if (taskId) {
      socket.on("logs", onLogs);
      socket.on("metric", onMetric);
      socket.on("task_error", onError);
    }
    window.agentdeskSocket = socket;  // for the browser tests
  }
  connect();
  document.addEventListener("agentdesk:asset", connect);
})();
