// Unit symbols: milsymbol draws each [data-sidc] element's SIDC as an image (SVG in a data URL,
// allowed by the pages' content policy). The ORBAT's buttons open or close every branch.
"use strict";
(function () {
  const cache = new Map();
  function symbolUrl(sidc, size) {
    const key = sidc + "@" + size;
    if (!cache.has(key)) {
      const symbol = new window.ms.Symbol(sidc, { size });
      cache.set(key, { url: "data:image/svg+xml;charset=utf-8," + encodeURIComponent(symbol.asSVG()), ...symbol.getSize() });
    }
    return cache.get(key);
  }

  function drawSymbols(root) {
    if (!window.ms) return;
    for (const host of (root || document).querySelectorAll("[data-sidc]:not([data-drawn])")) {
      const drawn = symbolUrl(host.dataset.sidc, Number(host.dataset.size || 24));
      const img = document.createElement("img");
      img.src = drawn.url;
      img.alt = "";
      img.width = Math.round(drawn.width);
      img.height = Math.round(drawn.height);
      host.append(img);
      host.dataset.drawn = "true";
    }
  }

  const buttons = document.querySelector(".tree-buttons");
  if (buttons && document.querySelector("#orbat details")) {
    buttons.hidden = false;
    buttons.addEventListener("click", (event) => {
      const which = event.target.closest("[data-tree]");
      if (!which) return;
      for (const d of document.querySelectorAll("#orbat details")) d.open = which.dataset.tree === "open";
    });
  }
  drawSymbols(document);
  window.cmcc = { ...(window.cmcc || {}), symbolUrl, drawSymbols };
  document.body.dataset.symbolsReady = "true";
})();
