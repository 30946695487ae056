// The alerts panel: a new alert (server-sent event, relayed by app.js) becomes the table's first row.
"use strict";
(function () {
  const table = document.getElementById("alerts-table");
  if (!table || table.dataset.live !== "true") return;
  const cell = (text) => { const td = document.createElement("td"); td.textContent = text; return td; };
  document.addEventListener("cmcc:alert", (event) => {
    const a = event.detail;
    if (table.querySelector('tr[data-alert="' + a.id + '"]')) return;
    const empty = table.querySelector("tr.empty");
    if (empty) empty.remove();
    const row = document.createElement("tr");
    row.dataset.alert = String(a.id);
    row.className = "new";
    row.append(cell(a.raised_at.slice(0, 16).replace("T", " ") + " UTC"), cell(a.message));
    const incident = document.createElement("td");
    if (a.incident_id) {
      const link = document.createElement("a");
      link.href = "/incidents/" + a.incident_id;
      link.textContent = "Incident " + a.incident_id;
      incident.append(link);
    }
    const status = cell(a.status);
    status.className = "status";
    const marking = document.createElement("td");
    marking.append(window.cmcc.markingBadge(a.releasability));
    row.append(incident, status, marking);
    if (table.dataset.manage === "true") row.append(cell("reload to act"));
    table.tBodies[0].prepend(row);
  });
})();
