// The admin's 7-day chart on the home page (Chart.js, from the CDN or its local copy). The numbers
// come in data attributes, the colours from the theme (app.js).
(function () {
  "use strict";
  function draw() {
    var canvas = document.getElementById("activity-chart");
    if (!canvas || !window.Chart || canvas.dataset.drawn) return;
    canvas.dataset.drawn = "1";
    var data = JSON.parse(canvas.dataset.chart);
    var labels = JSON.parse(canvas.dataset.labels);
    var color = window.AgentDesk.themeColors(canvas.parentNode);
    new window.Chart(canvas, {
      data: {
        labels: window.AgentDesk.dayLabels(data.days),
        datasets: [
          { type: "bar", label: labels.calls, data: data.calls, backgroundColor: color["--brand"], yAxisID: "calls" },
          { type: "bar", label: labels.errors, data: data.errors, backgroundColor: color["--off"], yAxisID: "calls" },
          { type: "line", label: labels.users, data: data.users, borderColor: color["--ok"], backgroundColor: color["--ok"], yAxisID: "users", tension: 0.2 }
        ]
      },
      options: {
        maintainAspectRatio: false, animation: false,
        color: color["--muted"],
        scales: {
          x: { ticks: { color: color["--muted"] }, grid: { color: color["--line"] } },
          calls: { position: "left", beginAtZero: true, ticks: { precision: 0, color: color["--muted"] }, grid: { color: color["--line"] } },
          users: { position: "right", beginAtZero: true, ticks: { precision: 0, color: color["--muted"] }, grid: { display: false } }
        },
        plugins: { legend: { labels: { color: color["--ink"] } } }
      }
    });
  }
  draw();
  document.addEventListener("agentdesk:asset", draw);
})();
