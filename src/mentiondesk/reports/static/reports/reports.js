/* mentiondesk reports: reads GET /api/v1/reports/summary for the filters in the form and draws
   the page's charts with Chart.js (vendor/chart.umd.min.js). No inline scripts: the page names
   the endpoint in data-report-url and each chart's canvas in data-chart. */
(function () {
  "use strict";

  var ACCENT = "#5a4fcf";
  var ACCENT_SOFT = "#b9b3ee";
  var AMBER = "#d08a1e";
  var GREY = "#8b8b95";
  var GREEN = "#2e8b57";
  var GRID = "#ececef";

  // "2d 03h", "1h 05m", "4m 09s", "12s": the two largest units, like `mentiondesk report`.
  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    var whole = Math.floor(seconds);
    var days = Math.floor(whole / 86400);
    var hours = Math.floor((whole % 86400) / 3600);
    var minutes = Math.floor((whole % 3600) / 60);
    var secs = whole % 60;
    function two(n) { return (n < 10 ? "0" : "") + n; }
    if (days) return days + "d " + two(hours) + "h";
    if (hours) return hours + "h " + two(minutes) + "m";
    if (minutes) return minutes + "m " + two(secs) + "s";
    return secs + "s";
  }

  function count(items) {
    return items.map(function (item) { return item.tickets; });
  }

  function labels(items) {
    return items.map(function (item) { return item.label; });
  }

  // What each canvas shows: its chart type, labels and datasets, from the report's JSON.
  var CHARTS = {
    by_day: function (r) {
      var chart = bars(r.volume.by_day.map(function (d) { return d.date; }), [
        { label: "Tickets", data: count(r.volume.by_day), backgroundColor: ACCENT },
      ]);
      // Level dates, as many as fit: a month of them would otherwise lean sideways.
      chart.options.scales.x.ticks = { maxRotation: 0, autoSkip: true, autoSkipPadding: 12 };
      return chart;
    },
    by_hour: function (r) {
      return bars(r.volume.by_hour.map(function (h) { return (h.hour < 10 ? "0" : "") + h.hour; }), [
        { label: "Tickets", data: count(r.volume.by_hour), backgroundColor: ACCENT },
      ]);
    },
    by_intent: function (r) {
      var chart = bars(labels(r.volume.by_intent), [
        { label: "Tickets", data: count(r.volume.by_intent), backgroundColor: ACCENT },
      ]);
      chart.options.indexAxis = "y";
      chart.options.scales = { x: chart.options.scales.y, y: chart.options.scales.x };
      return chart;
    },
    distribution: function (r) {
      return bars(labels(r.first_response.distribution), [
        { label: "Answered tickets", data: count(r.first_response.distribution), backgroundColor: ACCENT },
      ]);
    },
    backlog: function (r) {
      return bars(labels(r.backlog.by_age), [
        { label: "Waiting tickets", data: count(r.backlog.by_age), backgroundColor: AMBER },
      ]);
    },
    by_handle: function (r) { return waits(r.first_response.by_handle); },
    by_agent: function (r) { return waits(r.first_response.by_agent); },
    sla: function (r) { return attainment(r.sla); },
  };

  // The SLA metrics of the report's JSON, each with its line's label and colour.
  var SLA_METRICS = [
    { key: "first_response", label: "First response", color: ACCENT },
    { key: "next_response", label: "Next response", color: AMBER },
    { key: "resolution", label: "Resolution", color: GREEN },
  ];

  // % within SLA per day, a line per metric on 0-100; a day with no decided clock is a gap.
  function attainment(sla) {
    var days = sla[SLA_METRICS[0].key];
    return {
      type: "line",
      data: {
        labels: days.map(function (d) { return d.date; }),
        datasets: SLA_METRICS.map(function (m) {
          return {
            label: m.label,
            data: sla[m.key].map(function (d) { return d.percent; }),
            borderColor: m.color,
            backgroundColor: m.color,
            pointRadius: 3,
            spanGaps: false,
            clip: false, // points on 0 % and 100 % whole, not cut by the chart's edge
          };
        }),
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: {
          legend: { display: true },
          tooltip: {
            callbacks: {
              label: function (item) {
                var day = sla[SLA_METRICS[item.datasetIndex].key][item.dataIndex];
                return item.dataset.label + ": " + day.percent + "% (" + day.met + " of " + (day.met + day.breached) + " met)";
              },
            },
          },
        },
        scales: {
          x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkip: true, autoSkipPadding: 12 } },
          y: { min: 0, max: 100, grid: { color: GRID }, ticks: { callback: function (v) { return v + "%"; } } },
        },
      },
    };
  }

  function bars(xLabels, datasets) {
    return {
      type: "bar",
      data: { labels: xLabels, datasets: datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: { legend: { display: datasets.length > 1 } },
        scales: {
          x: { grid: { display: false } },
          y: { beginAtZero: true, grid: { color: GRID }, ticks: { precision: 0 } },
        },
      },
    };
  }

  // Median and p90 side by side, in seconds, with durations on the axis and in tooltips.
  function waits(rows) {
    var chart = bars(labels(rows), [
      { label: "Median", data: rows.map(function (t) { return t.median_seconds; }), backgroundColor: ACCENT },
      { label: "90th percentile", data: rows.map(function (t) { return t.p90_seconds; }), backgroundColor: ACCENT_SOFT },
    ]);
    chart.options.indexAxis = "y";
    chart.options.scales = {
      x: { beginAtZero: true, grid: { color: GRID }, ticks: { callback: duration, stepSize: step(rows) } },
      y: { grid: { display: false } },
    };
    chart.options.plugins.tooltip = {
      callbacks: {
        label: function (item) {
          var row = rows[item.dataIndex];
          return item.dataset.label + ": " + duration(item.raw) + " (" + row.answered + " of " + row.tickets + " answered)";
        },
      },
    };
    return chart;
  }

  // Axis steps a person reads at a glance (5 min, 1 h, 1 day...), at most about 8 of them.
  var STEPS = [60, 300, 900, 1800, 3600, 7200, 14400, 21600, 43200, 86400, 172800, 604800];

  function step(rows) {
    var longest = Math.max.apply(null, rows.map(function (t) { return t.p90_seconds || 0; }).concat([1]));
    for (var i = 0; i < STEPS.length; i++) {
      if (longest / STEPS[i] <= 8) return STEPS[i];
    }
    return STEPS[STEPS.length - 1];
  }

  function init() {
    var root = document.querySelector("[data-report]");
    if (!root || !window.Chart) return;
    var form = root.querySelector("[data-report-filters]");
    var error = root.querySelector("[data-report-error]");
    var kpis = root.querySelector("[data-report-kpis]");
    var jsonLink = document.querySelector("[data-report-json]");
    var charts = {};
    var latest = 0;

    window.Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    window.Chart.defaults.color = GREY;

    function query() {
      var params = new URLSearchParams();
      new FormData(form).forEach(function (value, name) {
        if (value) params.append(name, value);
      });
      return params.toString();
    }

    function show(report) {
      var fr = report.first_response;
      var values = {
        tickets: String(report.volume.tickets),
        answered: fr.answered + " of " + fr.tickets,
        median: duration(fr.median_seconds),
        p90: duration(fr.p90_seconds),
        backlog: String(report.backlog.tickets),
        oldest: duration(report.backlog.oldest_seconds),
      };
      Object.keys(values).forEach(function (name) {
        root.querySelector('[data-kpi="' + name + '"]').textContent = values[name];
      });
      root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
        var name = canvas.dataset.chart;
        var config = CHARTS[name](report);
        if (charts[name]) {
          charts[name].data = config.data;
          charts[name].options = config.options;
          charts[name].update();
        } else {
          charts[name] = new window.Chart(canvas, config);
        }
      });
      networks(report.by_network);
      accuracy(report.triage_accuracy);
    }

    function cell(row, tag, text) {
      var el = document.createElement(tag);
      el.textContent = text;
      row.appendChild(el);
    }

    // "75.00% of 4" like `mentiondesk report`; "–" when no clock was decided.
    function within(a) {
      return a.percent === null ? "–" : a.percent.toFixed(2) + "% of " + (a.met + a.breached);
    }

    // One row per network (report.by_network), built with textContent only.
    function networks(rows) {
      var box = root.querySelector("[data-by-network]");
      if (!box) return;
      var table = document.createElement("table");
      table.className = "report-table";
      var head = document.createElement("tr");
      ["Network", "Tickets", "Answered", "Median", "90th percentile"].concat(
        SLA_METRICS.map(function (m) { return m.label + " SLA"; })
      ).forEach(function (h) { cell(head, "th", h); });
      table.appendChild(head);
      rows.forEach(function (n) {
        var row = document.createElement("tr");
        row.dataset.network = n.key;
        cell(row, "th", n.label);
        cell(row, "td", String(n.tickets));
        cell(row, "td", String(n.answered));
        cell(row, "td", duration(n.median_seconds));
        cell(row, "td", duration(n.p90_seconds));
        SLA_METRICS.forEach(function (m) { cell(row, "td", within(n.sla[m.key])); });
        table.appendChild(row);
      });
      box.replaceChildren(table);
    }

    // One table per intent model (report.triage_accuracy), built with textContent only.
    function accuracy(models) {
      var box = root.querySelector("[data-triage-accuracy]");
      if (!box) return;
      box.replaceChildren();
      function share(value) { return value === null ? "–" : Math.round(value * 100) + "%"; }
      models.forEach(function (m) {
        var title = document.createElement("h3");
        title.className = "report-table-title";
        title.textContent = "Model " + m.model + (m.live ? " (live)" : "") + ": " +
          m.corrected + " corrected posts, " + m.right + " it had right";
        var table = document.createElement("table");
        table.className = "report-table";
        table.dataset.model = m.model;
        var head = document.createElement("tr");
        ["Intent", "Model said", "Right", "People said", "Found"].forEach(function (h) {
          cell(head, "th", h);
        });
        table.appendChild(head);
        m.intents.forEach(function (i) {
          var row = document.createElement("tr");
          row.dataset.intent = i.intent;
          cell(row, "th", i.label);
          cell(row, "td", String(i.labelled));
          cell(row, "td", i.labelled_right + " (" + share(i.precision) + ")");
          cell(row, "td", String(i.actual));
          cell(row, "td", i.found + " (" + share(i.recall) + ")");
          table.appendChild(row);
        });
        box.appendChild(title);
        box.appendChild(table);
      });
    }

    function load() {
      var ticket = ++latest;
      var qs = query();
      if (jsonLink) jsonLink.href = root.dataset.reportUrl + (qs ? "?" + qs : "");
      kpis.setAttribute("aria-busy", "true");
      root.dataset.reportState = "loading";
      fetch(root.dataset.reportUrl + (qs ? "?" + qs : ""), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      })
        .then(function (response) {
          return response.json().then(function (body) { return { ok: response.ok, body: body }; });
        })
        .then(function (result) {
          if (ticket !== latest) return; // a newer request is on its way
          kpis.setAttribute("aria-busy", "false");
          if (!result.ok) {
            error.textContent = result.body.detail || "The report could not be loaded.";
            error.hidden = false;
            root.dataset.reportState = "error";
            return;
          }
          error.hidden = true;
          show(result.body);
          root.dataset.reportState = "ready";
        })
        .catch(function () {
          if (ticket !== latest) return;
          error.textContent = "The report could not be loaded: the desk did not answer.";
          error.hidden = false;
          root.dataset.reportState = "error";
        });
      return qs;
    }

    // A handle is on one network: choosing it chooses that network (a name can be ours on
    // two, and the report would not know which).
    var handle = form.querySelector("[data-report-handle]");
    var network = form.querySelector("[data-report-network]");
    if (handle && network) {
      handle.addEventListener("change", function () {
        var chosen = handle.selectedOptions[0];
        if (chosen && chosen.dataset.network) network.value = chosen.dataset.network;
      });
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var qs = load();
      // The address shows the filters, so a reload or a shared link opens the same report.
      window.history.replaceState(null, "", form.action + (qs ? "?" + qs : ""));
    });
    load();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
