// A unit's page: a small map of its location (its symbol) and its latest tracked position (a
// ring), on the offline basemap (basemap.js).
"use strict";
(function () {
  const host = document.getElementById("unit-map");
  if (!host || !window.L) return;
  const places = JSON.parse(host.dataset.places);
  const map = L.map(host, { zoomSnap: 0.25, scrollWheelZoom: false, keyboard: true });
  map.attributionControl.setPrefix("Leaflet");
  const marks = places.map((p) => {
    const at = [p.lat, p.lon];
    if (p.sidc && window.ms && window.cmcc.symbolUrl) {
      const s = window.cmcc.symbolUrl(p.sidc, 28);
      const icon = L.icon({ iconUrl: s.url, iconSize: [s.width, s.height], iconAnchor: [s.width / 2, s.height / 2] });
      return L.marker(at, { icon, title: p.label, keyboard: false, interactive: false });
    }
    return L.circleMarker(at, { radius: 9, color: "#1b5e20", weight: 3, fillOpacity: 0.2, interactive: false });
  });
  const group = L.featureGroup(marks).addTo(map);
  map.fitBounds(group.getBounds(), { padding: [30, 30], maxZoom: 13 });
  const report = (text) => { document.getElementById("unit-map-status").textContent = text; };
  window.cmcc.basemap(map, report).then(() => { host.dataset.ready = "true"; });
})();
