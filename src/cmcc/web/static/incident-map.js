// An incident's page: a small map of where it happened, on the offline basemap (basemap.js).
"use strict";
(function () {
  const host = document.getElementById("incident-map");
  if (!host || !window.L) return;
  const geometry = JSON.parse(host.dataset.geometry);
  const map = L.map(host, { zoomSnap: 0.25, scrollWheelZoom: false, keyboard: true });
  map.attributionControl.setPrefix("Leaflet");
  const shape = L.geoJSON(geometry, {
    interactive: false,
    style: { color: "#b00020", weight: 3, fillColor: "#b00020", fillOpacity: 0.3 },
    pointToLayer: (f, latlng) => L.circleMarker(latlng, { radius: 8, color: "#b00020", weight: 3, fillOpacity: 0.5 }),
  }).addTo(map);
  const bounds = shape.getBounds();
  if (geometry.type === "Point") map.setView(bounds.getCenter(), 12);
  else map.fitBounds(bounds, { padding: [20, 20], maxZoom: 15 });
  const report = (text) => { document.getElementById("incident-map-status").textContent = text; };
  window.cmcc.basemap(map, report).then(() => { host.dataset.ready = "true"; });
})();
