/* Report page charts: daily and weekly visitors with the average wait, drawn
   with the vendored Chart.js from the numbers the server embedded. */
(function () {
  "use strict";
  const source = document.getElementById("report-data");
  const data = JSON.parse(source.textContent);
  const text = data.text;

  function draw(canvasId, series) {
    const canvas = document.getElementById(canvasId);
    if (!canvas || typeof Chart === "undefined") return;
    new Chart(canvas, {
      data: {
        labels: series.labels,
        datasets: [
          { type: "bar", label: text.issued, data: series.issued, backgroundColor: "#8ab7e6", yAxisID: "y" },
          { type: "bar", label: text.served, data: series.served, backgroundColor: "#0b5cad", yAxisID: "y" },
          { type: "bar", label: text.no_show, data: series.no_show, backgroundColor: "#e0a100", yAxisID: "y" },
          { type: "line", label: text.avg_wait, data: series.avg_wait, borderColor: "#a4161a",
            backgroundColor: "#a4161a", yAxisID: "wait", spanGaps: true, tension: 0.2 },
        ],
      },
      options: {
        animation: false,
        responsive: true,
        interaction: { mode: "index", intersect: false },
        scales: {
          y: { beginAtZero: true, title: { display: true, text: text.visitors }, ticks: { precision: 0 } },
          wait: { beginAtZero: true, position: "right", grid: { drawOnChartArea: false },
                  title: { display: true, text: text.minutes } },
        },
      },
    });
    canvas.dataset.rendered = String(series.labels.length);
  }

  draw("chart-daily", data.daily);
  draw("chart-weekly", data.weekly);

  // Choosing an agency reloads the page so its services, counters and officers can be chosen.
  const agency = document.querySelector('select[name="agency"]');
  if (agency) {
    agency.addEventListener("change", function () {
      for (const name of ["service", "counter", "officer"]) {
        const other = document.querySelector('select[name="' + name + '"]');
        if (other) other.value = "";
      }
      // One agency: rows per service; the whole MPP: rows per agency.
      const by = document.querySelector('select[name="by"]');
      if (by) by.value = agency.value ? "service" : "agency";
      document.getElementById("report-filter").submit();
    });
  }
})();
