// A usage key's reviews per day (Chart.js). Numbers from a data attribute, colours from the theme (app.js).
(function () {
  "use strict";
  function draw() {
    var canvas = document.getElementById("usage-chart");
    if (!canvas || !window.Chart || canvas.dataset.drawn) return;
    canvas.dataset.drawn = "1";
    var data = JSON.parse(canvas.dataset.chart);
    var color = window.AgentDesk.themeColors(canvas.parentNode);
    new window.Chart(canvas, {
      type: "bar",
      data: { labels: window.AgentDesk.dayLabels(data.days),
              datasets: [{ label: canvas.dataset.label, data: data.reviews, backgroundColor: color["--brand"] }] },
      options: {
        maintainAspectRatio: false, animation: false,
        scales: {
          x: { ticks: { color: color["--muted"] }, grid: { color: color["--line"] } },
          y: { beginAtZero: true, ticks: { precision: 0, color: color["--muted"] }, grid: { color: color["--line"] } }
        },
        plugins: { legend: { display: false } }
      }
    });
  }
  draw();
  document.addEventListener("agentdesk:asset", draw);
})();
