/* The sales dashboard's charts (ECharts from /static/vendor). The numbers come from the page's
 * JSON block (the same as /api/v1/sales/dashboard); every chart also has its table on the page,
 * so the dashboard reads fine without script. No inline script: the CSP allows this site's files. */
(function () {
  "use strict";

  function draw() {
    var source = document.getElementById("dashboard-data");
    if (!source || !window.echarts) return;
    var data = JSON.parse(source.textContent);
    var labels = data.labels;
    var number = function (text) { return Number(text); };
    var options = {
      stages: {
        tooltip: { trigger: "axis" },
        legend: {},
        xAxis: { type: "category", data: data.stages.map(function (row) { return row.name; }) },
        yAxis: [{ type: "value", name: labels.amount }, { type: "value", name: labels.count }],
        series: [
          { name: labels.amount, type: "bar", data: data.stages.map(function (row) { return number(row.amount); }) },
          { name: labels.count, type: "line", yAxisIndex: 1, data: data.stages.map(function (row) { return row.count; }) }
        ]
      },
      forecast: {
        tooltip: { trigger: "axis" },
        legend: {},
        xAxis: { type: "category", data: data.forecast.map(function (row) { return row.month; }) },
        yAxis: { type: "value" },
        series: [
          { name: labels.weighted, type: "bar", data: data.forecast.map(function (row) { return number(row.weighted); }) }
        ].concat(["closed", "commit", "best_case", "pipeline"].map(function (key) {
          return { name: labels[key], type: "line", data: data.forecast.map(function (row) { return number(row[key]); }) };
        }))
      },
      conversion: {
        tooltip: { trigger: "item" },
        series: [{
          type: "funnel", sort: "none", left: "10%", width: "80%",
          data: data.conversion.map(function (row) { return { name: row.name, value: row.reached }; })
        }]
      },
      lost_reasons: {
        tooltip: { trigger: "item" },
        series: [{
          type: "pie", radius: ["35%", "65%"],
          data: data.lost_reasons.map(function (row) { return { name: row.name, value: row.count }; })
        }]
      },
      leaderboard: {
        tooltip: { trigger: "axis" },
        legend: {},
        xAxis: { type: "category", data: data.leaderboard.map(function (row) { return row.name; }) },
        yAxis: { type: "value" },
        series: [
          { name: labels.won, type: "bar", data: data.leaderboard.map(function (row) { return number(row.won); }) },
          { name: labels.target, type: "bar", data: data.leaderboard.map(function (row) { return number(row.target); }) }
        ]
      }
    };
    document.querySelectorAll("[data-chart]").forEach(function (element) {
      var option = options[element.getAttribute("data-chart")];
      if (!option) return;
      var chart = window.echarts.init(element, null, { height: 300 });
      chart.setOption(option);
      element.classList.add("is-drawn");
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
