// The notification form: a site placed (a point, or an area by its corners) or a movement's route
// drawn by clicking the map, on the offline basemap (basemap.js); the GeoJSON field follows the
// drawing (and the drawing the field, for those who type it); waypoints picked on the map or
// typed; the fields of the other kind hidden and left out. app.js posts the form to the API.
"use strict";
(function () {
  const form = document.getElementById("notification-form");
  const host = document.getElementById("form-map");
  if (!form || !host || !window.L) return;
  const el = (id) => document.getElementById(id);
  const status = (text) => { el("form-map-status").textContent = text; };
  const geometryField = form.elements.namedItem("geometry");
  const waypointsField = form.elements.namedItem("waypoints");
  const round = (x) => Math.round(x * 1e6) / 1e6;

  const map = L.map(host, { center: [31.42, 34.38], zoom: 11, minZoom: 8, maxZoom: 19, zoomSnap: 0.25, keyboard: true });
  map.attributionControl.setPrefix("Leaflet");
  window.cmcc.formMap = map; // for the browser tests

  let kind = form.dataset.kind;
  let siteMode = "point"; // or "area": corners until "Close the area"
  let vertices = []; // [lon, lat], in the order clicked
  let closed = false; // an area whose ring is closed
  let pickFor = null; // a waypoint row waiting for its place
  const drawn = L.layerGroup().addTo(map);
  const colour = () => (kind === "site" ? "#00695c" : "#7a3e00");

  // ---- the kind: the other kind's fields are hidden and left out of the body
  function showKind() {
    form.querySelectorAll("[data-for]").forEach((node) => {
      const mine = node.dataset.for === kind;
      node.hidden = !mine;
      node.querySelectorAll("input, select, textarea, button").forEach((c) => { c.disabled = !mine; });
      if (node.matches("input, select, textarea, button")) node.disabled = !mine;
    });
    form.elements.namedItem("valid_to").required = kind === "movement";
  }

  // ---- the geometry: drawn, written to the field
  function geometry() {
    if (kind === "movement") return vertices.length >= 2 ? { type: "LineString", coordinates: vertices } : null;
    if (siteMode === "point") return vertices.length ? { type: "Point", coordinates: vertices[0] } : null;
    return closed && vertices.length >= 3 ? { type: "Polygon", coordinates: [[...vertices, vertices[0]]] } : null;
  }
  function render() {
    drawn.clearLayers();
    const latlngs = vertices.map(([x, y]) => [y, x]);
    const c = colour();
    if (kind === "movement" && latlngs.length >= 2) L.polyline(latlngs, { color: c, weight: 4 }).addTo(drawn);
    if (kind === "site" && siteMode === "area" && latlngs.length >= 2) {
      (closed ? L.polygon(latlngs, { color: c, weight: 3, fillOpacity: 0.25 }) : L.polyline(latlngs, { color: c, dashArray: "4 4" })).addTo(drawn);
    }
    latlngs.forEach((at, i) => {
      const point = kind === "site" && siteMode === "point";
      L.circleMarker(at, { radius: point ? 8 : 5, color: c, weight: 3, fillColor: "#fff", fillOpacity: point ? 0.6 : 1, interactive: false })
        .addTo(drawn).getElement()?.setAttribute("data-vertex", String(i));
    });
    for (const row of waypointRows()) {
      const lon = Number(row.querySelector("[data-part=lon]").value);
      const lat = Number(row.querySelector("[data-part=lat]").value);
      if (row.querySelector("[data-part=lon]").value !== "" && row.querySelector("[data-part=lat]").value !== "") {
        L.circleMarker([lat, lon], { radius: 6, color: "#1f2937", weight: 2, fillColor: "#ffbf00", fillOpacity: 1, interactive: false })
          .bindTooltip(row.querySelector("[data-part=name]").value || "Waypoint").addTo(drawn);
      }
    }
  }
  function write() {
    const g = geometry();
    geometryField.value = g ? JSON.stringify(g) : "";
    render();
  }
  function describe() {
    if (kind === "movement") {
      if (!vertices.length) return "Click the map where the movement starts.";
      return "Route: " + vertices.length + " point" + (vertices.length === 1 ? "" : "s") + (vertices.length < 2 ? "; click where it goes next." : "; click to add more, in order.");
    }
    if (siteMode === "point") return vertices.length ? "Site placed at " + vertices[0][1].toFixed(5) + " N, " + vertices[0][0].toFixed(5) + " E." : "Click the map where the site is.";
    if (closed) return "Area closed: " + vertices.length + " corners.";
    return "Area: " + vertices.length + " corner" + (vertices.length === 1 ? "" : "s") + (vertices.length >= 3 ? "; click “Close the area” when done." : "; click its corners.");
  }

  // The field, typed: drawn when it parses as a shape of this kind.
  geometryField.addEventListener("change", () => {
    let g;
    try { g = JSON.parse(geometryField.value); } catch (e) { status("The GeoJSON does not parse: " + e.message); return; }
    load(g);
    status(describe());
  });
  function load(g) {
    if (!g || !g.type) return;
    closed = false;
    if (g.type === "Point") { siteMode = "point"; vertices = [g.coordinates]; }
    else if (g.type === "LineString") vertices = g.coordinates.slice();
    else if (g.type === "Polygon") { siteMode = "area"; vertices = g.coordinates[0].slice(0, -1); closed = true; }
    render();
    if (vertices.length) map.fitBounds(L.latLngBounds(vertices.map(([x, y]) => [y, x])), { padding: [30, 30], maxZoom: 15 });
  }

  map.on("click", (event) => {
    const p = [round(event.latlng.lng), round(event.latlng.lat)];
    if (pickFor) {
      pickFor.querySelector("[data-part=lon]").value = p[0];
      pickFor.querySelector("[data-part=lat]").value = p[1];
      status("Waypoint placed at " + p[1].toFixed(5) + " N, " + p[0].toFixed(5) + " E.");
      pickFor = null;
      writeWaypoints();
      return;
    }
    if (kind === "site" && siteMode === "point") vertices = [p];
    else if (kind === "site" && closed) { vertices = [p]; closed = false; }
    else vertices.push(p);
    write();
    status(describe());
  });

  // ---- waypoints: rows of a name and a place, written to the hidden field as a list
  let rowCount = 0;
  const waypointRows = () => [...el("waypoint-list").children];
  function writeWaypoints() {
    // Each input answers for its part of the body (an error on waypoints.1.lon shows beside it).
    waypointRows().forEach((row, i) => row.querySelectorAll("[data-part]").forEach((input) => {
      input.dataset.field = "waypoints." + i + "." + input.dataset.part;
    }));
    const list = waypointRows().map((row) => ({
      name: row.querySelector("[data-part=name]").value.trim(),
      lon: row.querySelector("[data-part=lon]").value === "" ? null : Number(row.querySelector("[data-part=lon]").value),
      lat: row.querySelector("[data-part=lat]").value === "" ? null : Number(row.querySelector("[data-part=lat]").value),
    }));
    waypointsField.value = JSON.stringify(list);
    render();
  }
  function addWaypoint(w) {
    rowCount += 1;
    const n = rowCount;
    const row = document.createElement("li");
    row.className = "waypoint";
    const field = (part, text, attrs) => {
      const wrap = document.createElement("div");
      const label = document.createElement("label");
      label.htmlFor = "wp-" + part + "-" + n;
      label.textContent = text;
      const input = document.createElement("input");
      input.id = label.htmlFor;
      input.dataset.part = part;
      input.dataset.skip = "";
      Object.entries(attrs).forEach(([k, v]) => input.setAttribute(k, v));
      input.addEventListener("change", writeWaypoints);
      wrap.append(label, input);
      return wrap;
    };
    const pick = document.createElement("button");
    pick.type = "button"; pick.className = "secondary"; pick.textContent = "Pick on the map";
    pick.addEventListener("click", () => { pickFor = row; status("Click the map where the waypoint is."); host.scrollIntoView({ block: "center" }); });
    const remove = document.createElement("button");
    remove.type = "button"; remove.className = "secondary"; remove.textContent = "Remove";
    remove.addEventListener("click", () => { row.remove(); if (pickFor === row) pickFor = null; writeWaypoints(); });
    const tools = document.createElement("div");
    tools.className = "waypoint-tools";
    tools.append(pick, remove);
    row.append(
      field("name", "Name", { maxlength: "200" }),
      field("lon", "Longitude", { type: "number", step: "any", min: "-180", max: "180" }),
      field("lat", "Latitude", { type: "number", step: "any", min: "-90", max: "90" }),
      tools,
    );
    el("waypoint-list").append(row);
    if (w) {
      row.querySelector("[data-part=name]").value = w.name || "";
      row.querySelector("[data-part=lon]").value = w.lon;
      row.querySelector("[data-part=lat]").value = w.lat;
    }
    writeWaypoints();
    return row;
  }

  // ---- the drawing tools
  form.addEventListener("click", (event) => {
    const button = event.target.closest("[data-tool]");
    if (!button) return;
    const tool = button.dataset.tool;
    if (tool === "waypoint") { addWaypoint(null).querySelector("input").focus(); return; }
    if (tool === "area") { siteMode = "area"; vertices = []; closed = false; }
    if (tool === "point") { siteMode = "point"; vertices = []; closed = false; }
    if (tool === "close") {
      if (siteMode !== "area" || vertices.length < 3) { status("An area needs at least three corners."); return; }
      closed = true;
    }
    if (tool === "undo") { vertices.pop(); closed = false; }
    if (tool === "clear") { vertices = []; closed = false; }
    write();
    status(describe());
  });
  form.addEventListener("change", (event) => {
    if (event.target.name !== "kind") return;
    kind = event.target.value;
    vertices = []; closed = false; siteMode = "point";
    showKind();
    write();
    status(describe());
  });

  // ---- the crossing: chosen from the crossings the visitor may see (GET /api/v1/crossings),
  // with the status of each now; the code typed where that list cannot be read.
  async function crossingChoice() {
    const field = form.elements.namedItem("crossing");
    let data;
    try { data = await window.cmcc.api("GET", field.dataset.crossings); } catch (e) { return; }
    if (!data || !data.data || !data.data.length) return;
    const select = document.createElement("select");
    select.id = field.id; select.name = field.name; select.disabled = field.disabled;
    const none = new Option("No crossing", "");
    select.append(none);
    for (const c of data.data) {
      const now = c.current_status ? ": " + c.current_status.status.replace(/_/g, " ") + " now" : "";
      select.append(new Option(c.name + " (" + c.code + ")" + now, c.code));
    }
    if (field.value && ![...select.options].some((o) => o.value === field.value.toUpperCase())) {
      select.append(new Option(field.value, field.value));
    }
    select.value = field.value.toUpperCase();
    field.replaceWith(select);
    field.labels[0]?.setAttribute("for", select.id);
  }

  // ---- a new version: the form starts from the current one
  function localTime(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    const pad = (x) => String(x).padStart(2, "0");
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" + pad(d.getHours()) + ":" + pad(d.getMinutes());
  }
  function fill(rec) {
    const set = (name, value) => { const f = form.elements.namedItem(name); if (f && value !== null && value !== undefined) f.value = value; };
    for (const name of ["title", "site_type", "movement_type", "hours", "crossing", "vehicles", "cargo_category", "personnel_count", "buffer_m", "description"]) set(name, rec[name]);
    set("valid_from", localTime(rec.valid_from));
    set("valid_to", localTime(rec.valid_to));
    if (rec.contact) for (const part of ["name", "phone", "email"]) set("contact." + part, rec.contact[part]);
    (rec.waypoints || []).forEach(addWaypoint);
    geometryField.value = JSON.stringify(rec.geometry);
    load(rec.geometry);
  }

  showKind();
  const record = form.dataset.record ? JSON.parse(form.dataset.record) : null;
  if (record) fill(record);
  const crossingsRead = crossingChoice();
  Promise.all([window.cmcc.basemap(map, status), crossingsRead]).then(([base]) => {
    if (!vertices.length) map.fitBounds(base.getBounds(), { padding: [10, 10], animate: false });
    status(describe());
    host.dataset.ready = "true";
  });
})();
