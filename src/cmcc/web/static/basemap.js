// The offline basemap of every Leaflet map: the Strip's outline, its governorates (dashed, with
// their names) and the crossings from /basemap/outline.geojson, and the local tile file if one
// is set (/basemap/info.json). Nothing comes from another host.
"use strict";
(function () {
  const STYLE = {
    gaza_strip: { color: "#4a5563", weight: 1.5, fillColor: "#f4f1ea", fillOpacity: 0.7 },
    administrative_area: { color: "#6b7280", weight: 1, dashArray: "5 4", fill: false },
  };

  function names(map, features) {
    map.createPane("labels").style.zIndex = 450; // over the layers; clicks pass through
    for (const f of features) {
      const at = f.properties.label_at;
      if (!at) continue;
      const icon = L.divIcon({ className: "place-label", html: "", iconSize: null });
      const marker = L.marker([at[1], at[0]], { icon, pane: "labels", interactive: false, keyboard: false }).addTo(map);
      const text = document.createElement("span");
      text.textContent = f.properties.label || f.properties.name;
      marker.getElement().append(text);
    }
  }

  // Draws the basemap on `map`; resolves to the outline's layer. `report(text)` shows a problem.
  function basemap(map, report) {
    fetch("/basemap/info.json").then((r) => r.json()).then((info) => {
      if (info.error) report(info.error);
      if (!info.tiles) return;
      const options = { minZoom: info.minzoom, maxZoom: info.maxzoom, attribution: info.attribution };
      if (info.bounds) options.bounds = [[info.bounds[1], info.bounds[0]], [info.bounds[3], info.bounds[2]]];
      L.tileLayer(info.tiles, options).addTo(map).bringToBack();
    });
    map.createPane("basemap").style.zIndex = 350; // under every layer of the picture
    return fetch("/basemap/outline.geojson").then((r) => r.json()).then((data) => {
      if (data.attribution) map.attributionControl.addAttribution(data.attribution);
      const base = L.geoJSON(data, {
        pane: "basemap",
        interactive: false,
        style: (f) => STYLE[f.properties.kind] || STYLE.gaza_strip,
        pointToLayer: (f, latlng) => L.circleMarker(latlng, { pane: "basemap", radius: 4, color: "#4a5563", weight: 2 })
          .bindTooltip(f.properties.name, { permanent: false }),
      }).addTo(map);
      names(map, data.features);
      return base;
    });
  }

  window.cmcc = { ...window.cmcc, basemap };
})();
