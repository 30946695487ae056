// A notification's page: the notified site (a point or an area) or route, and the area watched
// around it (dashed), on the offline basemap (basemap.js).
"use strict";
(function () {
  const host = document.getElementById("notification-map");
  if (!host || !window.L) return;
  const shapes = JSON.parse(host.dataset.shapes);
  const colour = host.dataset.kind === "site" ? "#00695c" : "#7a3e00";
  const map = L.map(host, { zoomSnap: 0.25, scrollWheelZoom: false, keyboard: true });
  map.attributionControl.setPrefix("Leaflet");
  const buffer = L.geoJSON(shapes.buffer, {
    interactive: false,
    style: { color: colour, weight: 1.5, dashArray: "5 4", fillColor: colour, fillOpacity: 0.08 },
  }).addTo(map);
  L.geoJSON(shapes.shape, {
    interactive: false,
    style: { color: colour, weight: 4, fillColor: colour, fillOpacity: 0.3 },
    pointToLayer: (f, latlng) => L.circleMarker(latlng, { radius: 8, color: colour, weight: 3, fillOpacity: 0.6 }),
  }).addTo(map);
  map.fitBounds(buffer.getBounds(), { padding: [20, 20], maxZoom: 13 }); // the Strip around it
  const report = (text) => { document.getElementById("notification-map-status").textContent = text; };
  window.cmcc.basemap(map, report).then(() => { host.dataset.ready = "true"; });
})();
