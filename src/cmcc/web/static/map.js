// The common operational picture: Leaflet over the offline basemap, layers from the OGC API
// collections (through the release policy), a time slider, details on click, drawing a zone and
// placing an incident, alerts that arrive live.
"use strict";
(function () {
  const START = Date.parse("2025-10-10T12:00:00Z"); // the ceasefire took effect
  const el = (id) => document.getElementById(id);
  const status = (text) => { el("map-status").textContent = text; };
  const map = L.map("map", { center: [31.42, 34.38], zoom: 11, minZoom: 8, maxZoom: 19, zoomSnap: 0.25, keyboard: true });
  map.attributionControl.setPrefix("Leaflet");
  window.cmcc.map = map; // for other scripts of the page (and the browser tests)
  const layers = {};
  let mode = null; // "pick" (an incident's place) or "draw" (a zone's corners)
  const zoneColours = JSON.parse(el("map").dataset.zoneColours || "{}");
  const boxes = document.querySelectorAll("input[data-layer]");

  // The offline basemap (basemap.js), framed on the Strip.
  const outlined = window.cmcc.basemap(map, status).then((base) => {
    map.fitBounds(base.getBounds(), { padding: [10, 10], animate: false });
  });

  // Time: the slider runs from the ceasefire to now.
  const slider = el("as-of");
  const asOf = () => new Date(START + (Date.now() - START) * (Number(slider.value) / 1000));
  const windowDays = () => Number(el("window").value);
  function showTime() { el("as-of-text").textContent = asOf().toISOString().slice(0, 16).replace("T", " ") + " UTC"; }

  function datetimeFor(collection) {
    const t = asOf();
    if (collection === "incidents") {
      const from = new Date(t.getTime() - windowDays() * 86400000);
      return from.toISOString() + "/" + t.toISOString();
    }
    if (collection === "search-tasks") return "../" + t.toISOString();
    return t.toISOString();
  }

  const escape = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  const { word, incidentRef } = window.cmcc;
  const CODED = new Set(["type", "kind", "status", "classification", "device_category", "disposition", "alert_status", "capability", "readiness", "echelon", "site_type", "movement_type", "cargo_category"]);
  const HIDDEN = new Set(["releasability", "echelon_rank", "sidc"]);
  const field = (k) => { const w = word(k); return w !== k ? w : k.charAt(0).toUpperCase() + k.slice(1).replace(/_/g, " "); };
  function showDetails(layerName, feature) {
    const p = feature.properties || {};
    const incident = layerName === "incidents" || layerName === "alerts";
    const title = incident ? word(p.type) + " · " + incidentRef(feature.id)
      : p.name || p.title || p.ref || p.callsign || (layerName + " " + feature.id);
    const rows = Object.entries(p)
      .filter(([k, v]) => v !== null && v !== "" && typeof v !== "object" && !HIDDEN.has(k))
      .slice(0, 14)
      .map(([k, v]) => "<dt>" + escape(field(k)) + "</dt><dd>" + escape(CODED.has(k) ? word(v) : v) + "</dd>").join("");
    let link = "";
    if (incident) link = '<p><a href="/incidents/' + encodeURIComponent(feature.id) + '">Open ' + escape(incidentRef(feature.id)) + "</a></p>";
    if (layerName === "units") link = '<p><a href="/units/' + encodeURIComponent(feature.id) + '">Open the unit page</a></p>';
    if (NOTIFIED.includes(layerName)) link = '<p><a href="/notifications/' + encodeURIComponent(feature.id) + '">Open ' + escape(p.ref) + "</a></p>";
    el("details").innerHTML = "<p></p><h3>" + escape(title) + '</h3><dl class="record">' + rows + "</dl>" + link;
    el("details").querySelector("p").append(window.cmcc.markingBadge(p.releasability));
    el("details").focus({ preventScroll: true });
  }

  function style(colour, feature) {
    const p = feature.properties || {};
    if (p.kind in zoneColours && feature.geometry && feature.geometry.type !== "Point") {
      const c = zoneColours[p.kind];
      return c ? { color: c, weight: 2, fillColor: c, fillOpacity: 0.3 } : { color: "#1f2937", weight: 1.5, fillOpacity: 0 };
    }
    if (p.kind === "movement") return { color: colour, weight: 5, opacity: 0.9, dashArray: "10 5" };
    if (p.kind === "site") return { color: colour, weight: 3, fillColor: colour, fillOpacity: 0.45 };
    const concluded = p.status === "verified"; // the OGC incidents carry `status`
    return { color: colour, weight: 2, fillColor: colour, fillOpacity: concluded ? 0.6 : 0.2 };
  }

  // A CoT type (a-f-G-U-C) as a MIL-STD-2525 symbol code (SFGPUC---------), drawn by milsymbol.
  function sidc(cotType) {
    const parts = (cotType || "a-u-G").split("-");
    const code = "S" + (parts[1] || "u").toUpperCase() + (parts[2] || "G") + "P" + parts.slice(3).join("").toUpperCase();
    return (code + "---------------").slice(0, 15);
  }
  const icons = new Map();
  // A linked device's position shows with its unit's own symbol, else the one of its CoT type.
  const unitIcon = (feature) => symbolIcon(feature.properties.sidc || sidc(feature.properties.type));
  function symbolIcon(code) {
    if (!icons.has(code)) {
      const symbol = new window.ms.Symbol(code, { size: 22 });
      const anchor = symbol.getAnchor();
      const size = symbol.getSize();
      icons.set(code, L.icon({ iconUrl: symbol.asCanvas().toDataURL(), iconSize: [size.width, size.height], iconAnchor: [anchor.x, anchor.y] }));
    }
    return icons.get(code);
  }

  // Zones lie under the other layers, so that a point inside a zone can still be clicked.
  map.createPane("zones").style.zIndex = 380;
  function draw(name, colour, features) {
    if (layers[name]) map.removeLayer(layers[name]);
    const pane = name === "zones" ? "zones" : "overlayPane";
    const group = L.geoJSON({ type: "FeatureCollection", features }, {
      pane,
      style: (f) => style(colour, f),
      pointToLayer: (f, latlng) => (name === "tracks" || name === "units") && window.ms
        ? L.marker(latlng, {
          icon: name === "units" ? symbolIcon(f.properties.sidc) : unitIcon(f),
          title: f.properties.name || f.properties.callsign || f.id,
          keyboard: true,
        })
        : L.circleMarker(latlng, { pane, radius: name === "alerts" ? 11 : 7, ...style(colour, f) }),
      onEachFeature: (f, layer) => {
        layer.on("click", () => { if (!mode) showDetails(name, f); });
        if (layer.getElement) layer.on("add", () => {
          const node = layer.getElement();
          if (node) { node.setAttribute("data-layer", name); node.setAttribute("data-id", String(f.id)); }
        });
      },
    });
    layers[name] = group;
    const box = document.querySelector('input[data-layer="' + name + '"]');
    if (box && box.checked) group.addTo(map);
    el("count-" + name).textContent = "(" + features.length + ")";
  }

  async function loadCollection(box) {
    const name = box.dataset.layer;
    const collection = box.dataset.collection;
    const url = "/ogc/collections/" + collection + "/items?f=json&limit=5000&datetime=" + encodeURIComponent(datetimeFor(collection));
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/geo+json" } });
    if (!response.ok) { status("The layer " + name + " did not load (" + response.status + ")."); return; }
    const data = await response.json();
    draw(name, box.dataset.colour, data.features || []);
  }

  const alertFeatures = new Map();
  async function alertFeature(alert) {
    if (!alert.incident_id) return null;
    const r = await fetch("/ogc/collections/incidents/items/" + alert.incident_id + "?f=json", { credentials: "same-origin" });
    if (!r.ok) return null;
    const f = await r.json();
    f.properties = { ...f.properties, alert: alert.message, alert_status: alert.status };
    return f;
  }
  async function loadAlerts() {
    const box = document.querySelector('input[data-layer="alerts"]');
    const r = await window.cmcc.api("GET", "/api/v1/alerts?status=open&limit=200");
    alertFeatures.clear();
    for (const alert of r.data || []) {
      const f = await alertFeature(alert);
      if (f) alertFeatures.set(alert.id, f);
    }
    draw("alerts", box.dataset.colour, [...alertFeatures.values()]);
  }

  // Units of the ORBAT (as they stand now), by echelon: the map hides the lower echelons as it
  // zooms out (brigade and above below zoom 10, battalion and above below 12, all beyond).
  let unitData = { features: [], echelons: [] };
  function lowestEchelonShown(zoom) {
    const rank = (e) => Math.max(0, unitData.echelons.indexOf(e));
    if (zoom < 10) return rank("brigade");
    if (zoom < 12) return rank("battalion");
    return 0;
  }
  function drawUnits() {
    const box = document.querySelector('input[data-layer="units"]');
    if (!box) return;
    const lowest = lowestEchelonShown(map.getZoom());
    const shown = unitData.features.filter((f) => f.properties.echelon_rank >= lowest);
    draw("units", box.dataset.colour, shown);
    const hidden = unitData.features.length - shown.length;
    el("count-units").textContent = "(" + shown.length + (hidden ? " of " + unitData.features.length + " at this zoom" : "") + ")";
    el("map").dataset.unitsShown = String(shown.length);
  }
  async function loadUnits() {
    const response = await fetch("/map/units", { credentials: "same-origin", headers: { Accept: "application/geo+json" } });
    if (!response.ok) { status("The units did not load (" + response.status + ")."); return; }
    unitData = await response.json();
    drawUnits();
  }
  map.on("zoomend", () => { if (unitData.features.length) drawUnits(); });

  // Notified sites and movements (active now) from the notifications API, over the view (and
  // around it); again when the view leaves the box they were loaded for.
  const NOTIFIED = ["sites", "movements"];
  let notifiedBox = null;
  function asFeature(n) {
    const p = { ref: n.ref, title: n.title, kind: n.kind, site_type: n.site_type, movement_type: n.movement_type,
      status: n.status, valid_from: n.valid_from, valid_to: n.valid_to, cargo_category: n.cargo_category,
      vehicles: n.vehicles, short_notice: n.short_notice ? "Yes" : null, advisories: n.advisories,
      owner: n.owner, releasability: n.releasability };
    return { type: "Feature", id: n.lineage, geometry: n.geometry, properties: p };
  }
  async function loadNotified() {
    const wanted = NOTIFIED.filter((name) => document.querySelector('input[data-layer="' + name + '"]'));
    if (!wanted.length) return;
    await outlined;
    notifiedBox = map.getBounds().pad(0.5);
    const bbox = [notifiedBox.getWest(), notifiedBox.getSouth(), notifiedBox.getEast(), notifiedBox.getNorth()].map((x) => x.toFixed(5)).join(",");
    await Promise.all(wanted.map(async (name) => {
      const features = [];
      let cursor = null;
      for (let page = 0; page < 20; page += 1) {
        const url = "/api/v1/notifications?active=true&limit=500&kind=" + (name === "sites" ? "site" : "movement")
          + "&bbox=" + bbox + (cursor ? "&cursor=" + encodeURIComponent(cursor) : "");
        let data;
        try { data = await window.cmcc.api("GET", url); } catch (e) { status("The layer " + name + " did not load (" + e.status + ")."); return; }
        features.push(...data.data.map(asFeature));
        cursor = data.next_cursor;
        if (!cursor) break;
      }
      draw(name, document.querySelector('input[data-layer="' + name + '"]').dataset.colour, features);
    }));
  }
  map.on("moveend", () => { if (notifiedBox && !notifiedBox.contains(map.getBounds())) loadNotified(); });

  async function loadAll() {
    showTime();
    status("Loading…");
    const jobs = [...boxes].filter((b) => b.dataset.collection).map(loadCollection);
    jobs.push(loadAlerts(), loadUnits(), loadNotified(), outlined);
    await Promise.all(jobs);
    status("Picture as of " + el("as-of-text").textContent + ".");
    document.body.dataset.mapReady = "true";
  }

  boxes.forEach((box) => box.addEventListener("change", () => {
    const group = layers[box.dataset.layer];
    if (!group) return;
    if (box.checked) group.addTo(map); else map.removeLayer(group);
  }));
  let pending = null;
  slider.addEventListener("input", showTime);
  slider.addEventListener("change", () => { clearTimeout(pending); pending = setTimeout(loadAll, 150); });
  el("window").addEventListener("change", loadAll);

  // Live alerts (events from app.js's EventSource).
  document.addEventListener("cmcc:alert", async (event) => {
    const alert = event.detail;
    const item = document.createElement("li");
    item.textContent = new Date(alert.raised_at).toISOString().slice(11, 16) + " UTC · " + alert.message;
    if (alert.incident_id) {
      const link = document.createElement("a");
      link.href = "/incidents/" + alert.incident_id;
      link.textContent = incidentRef(alert.incident_id);
      item.append(" · ", link);
    }
    el("alert-feed").prepend(item);
    const f = await alertFeature(alert);
    if (f) {
      alertFeatures.set(alert.id, f);
      draw("alerts", document.querySelector('input[data-layer="alerts"]').dataset.colour, [...alertFeatures.values()]);
    }
    const incidents = document.querySelector('input[data-layer="incidents"]');
    if (incidents) loadCollection(incidents);
  });

  // Place an incident / draw a zone.
  let vertices = [];
  let sketch = null;
  let pin = null;
  map.on("click", (event) => {
    const { lat, lng } = event.latlng;
    if (mode === "pick") {
      el("inc-lon").value = lng.toFixed(6);
      el("inc-lat").value = lat.toFixed(6);
      if (pin) map.removeLayer(pin);
      pin = L.circleMarker(event.latlng, { radius: 8, color: "#000", weight: 3 }).addTo(map);
      mode = null;
      status("Position set: " + lat.toFixed(5) + ", " + lng.toFixed(5) + ".");
    } else if (mode === "draw") {
      vertices.push([lng, lat]);
      if (sketch) map.removeLayer(sketch);
      sketch = L.polyline(vertices.map(([x, y]) => [y, x]), { color: "#000", dashArray: "4 4" }).addTo(map);
      status(vertices.length + " corner(s); click “Finish” when done.");
    }
  });
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-pick],[data-draw]");
    if (!button) return;
    if (button.dataset.pick) { mode = "pick"; status("Click the map where the incident happened."); }
    if (button.dataset.draw === "start") { mode = "draw"; vertices = []; status("Click the corners of the zone."); }
    if (mode) el("map").scrollIntoView({ block: "center" });
    if (button.dataset.draw === "finish") {
      if (vertices.length < 3) { status("A zone needs at least three corners."); return; }
      el("zone-geom").value = JSON.stringify({ type: "Polygon", coordinates: [[...vertices, vertices[0]]] });
      mode = null;
      status("Zone outline ready; fill in the form and save.");
    }
  });
  document.addEventListener("cmcc:saved", (event) => {
    if (event.target.id !== "zone-form") return;
    if (sketch) map.removeLayer(sketch);
    sketch = null; vertices = [];
    event.target.reset();
    status("Zone " + event.detail.name + " saved.");
    loadCollection(document.querySelector('input[data-layer="zones"]'));
  });

  loadAll();
})();
