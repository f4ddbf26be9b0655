// A usage key's reviews per day (Chart.js). Numbers from a data attribute, colours from the theme.
(function () {
  "use strict";
  function draw() {
    var canvas = document.getElementById("usage-chart");
    if (!canvas || !window.Chart || canvas.dataset.drawn) return;
    canvas.dataset.drawn = "1";
    var data = JSON.parse(canvas.dataset.chart);
    var probe = document.createElement("span");
    canvas.parentNode.appendChild(probe);
    var color = function (name) { probe.style.color = "var(" + name + ")"; return getComputedStyle(probe).color; };
    var days = data.days.map(function (day) {
      return new Date(day + "T00:00:00Z").toLocaleDateString(document.documentElement.lang, { month: "numeric", day: "numeric", timeZone: "UTC" });
    });
    var options = {
      type: "bar",
      data: { labels: days, datasets: [{ label: canvas.dataset.label, data: data.reviews, backgroundColor: color("--brand") }] },
      options: {
        maintainAspectRatio: false, animation: false,
        scales: {
          x: { ticks: { color: color("--muted") }, grid: { color: color("--line") } },
          y: { beginAtZero: true, ticks: { precision: 0, color: color("--muted") }, grid: { color: color("--line") } }
        },
        plugins: { legend: { display: false } }
      }
    };
    probe.remove();
    new window.Chart(canvas, options);
  }
  draw();
  document.addEventListener("agentdesk:asset", draw);
})();
