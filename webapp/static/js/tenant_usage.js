// The organisation's tokens (bars) and cost (line) per period (Chart.js); numbers from a data
// attribute, colours from the theme (app.js).
(function () {
  "use strict";
  function draw() {
    var canvas = document.getElementById("tenant-usage-chart");
    if (!canvas || !window.Chart || canvas.dataset.drawn) return;
    canvas.dataset.drawn = "1";
    var data = JSON.parse(canvas.dataset.chart);
    var color = window.AgentDesk.themeColors(canvas.parentNode);
    new window.Chart(canvas, {
      data: {
        labels: window.AgentDesk.dayLabels(data.labels),
        datasets: [
          { type: "bar", label: canvas.dataset.tokens, data: data.tokens, backgroundColor: color["--brand"], yAxisID: "tokens" },
          { type: "line", label: canvas.dataset.cost, data: data.cost, borderColor: color["--off"], backgroundColor: color["--off"], yAxisID: "cost", pointRadius: 2 }
        ]
      },
      options: {
        maintainAspectRatio: false, animation: false,
        scales: {
          x: { ticks: { color: color["--muted"] }, grid: { color: color["--line"] } },
          tokens: { position: "left", beginAtZero: true, ticks: { precision: 0, color: color["--muted"] }, grid: { color: color["--line"] } },
          cost: { position: "right", beginAtZero: true, ticks: { color: color["--muted"] }, grid: { display: false } }
        },
        plugins: { legend: { labels: { color: color["--ink"] } } }
      }
    });
  }
  draw();
  document.addEventListener("agentdesk:asset", draw);
})();
