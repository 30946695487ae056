// The alerts panel: a new alert (server-sent event, relayed by app.js) becomes the table's first row.
"use strict";
(function () {
  const table = document.getElementById("alerts-table");
  if (!table || table.dataset.live !== "true") return;
  const cell = (text, label) => {
    const td = document.createElement("td");
    td.textContent = text;
    td.dataset.label = label; // the column's name when the table reads as cards (a phone)
    return td;
  };
  document.addEventListener("cmcc:alert", (event) => {
    const a = event.detail;
    if (table.querySelector('tr[data-alert="' + a.id + '"]')) return;
    const empty = table.querySelector("tr.empty");
    if (empty) empty.remove();
    const row = document.createElement("tr");
    row.dataset.alert = String(a.id);
    row.className = "new";
    row.id = "alert-" + a.id;
    const message = cell(a.message, "Alert");
    message.className = "alert-message";
    row.append(cell(a.raised_at.slice(0, 16).replace("T", " ") + " UTC", "Raised"), message);
    const incident = cell("", "Incident");
    if (a.incident_id) {
      const link = document.createElement("a");
      link.href = "/incidents/" + a.incident_id;
      link.textContent = window.cmcc.incidentRef(a.incident_id);
      incident.append(link);
    }
    const status = cell(window.cmcc.word(a.status), "Status");
    status.className = "status";
    const marking = cell("", "Marking");
    marking.append(window.cmcc.markingBadge(a.releasability));
    row.append(incident, status, marking);
    if (table.dataset.manage === "true") row.append(cell("reload to act", "Action"));
    table.tBodies[0].prepend(row);
  });
})();
