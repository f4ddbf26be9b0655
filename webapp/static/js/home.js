// The admin's 7-day chart on the home page (Chart.js, from the CDN or its local copy). The numbers
// come in data attributes, the colours from the theme's CSS variables.
(function () {
  "use strict";
  function draw() {
    var canvas = document.getElementById("activity-chart");
    if (!canvas || !window.Chart || canvas.dataset.drawn) return;
    canvas.dataset.drawn = "1";
    var data = JSON.parse(canvas.dataset.chart);
    var labels = JSON.parse(canvas.dataset.labels);
    // The theme's colours are light-dark() pairs: let the browser resolve one for the canvas.
    var probe = document.createElement("span");
    canvas.parentNode.appendChild(probe);
    var color = function (name) { probe.style.color = "var(" + name + ")"; return getComputedStyle(probe).color; };
    var days = data.days.map(function (day) {
      return new Date(day + "T00:00:00Z").toLocaleDateString(document.documentElement.lang, { month: "numeric", day: "numeric", timeZone: "UTC" });
    });
    var options = {
      data: {
        labels: days,
        datasets: [
          { type: "bar", label: labels.calls, data: data.calls, backgroundColor: color("--brand"), yAxisID: "calls" },
          { type: "bar", label: labels.errors, data: data.errors, backgroundColor: color("--off"), yAxisID: "calls" },
          { type: "line", label: labels.users, data: data.users, borderColor: color("--ok"), backgroundColor: color("--ok"), yAxisID: "users", tension: 0.2 }
        ]
      },
      options: {
        maintainAspectRatio: false, animation: false,
        color: color("--muted"),
        scales: {
          x: { ticks: { color: color("--muted") }, grid: { color: color("--line") } },
          calls: { position: "left", beginAtZero: true, ticks: { precision: 0, color: color("--muted") }, grid: { color: color("--line") } },
          users: { position: "right", beginAtZero: true, ticks: { precision: 0, color: color("--muted") }, grid: { display: false } }
        },
        plugins: { legend: { labels: { color: color("--ink") } } }
      }
    };
    probe.remove();
    new window.Chart(canvas, options);
  }
  draw();
  document.addEventListener("agentdesk:asset", draw);
})();
