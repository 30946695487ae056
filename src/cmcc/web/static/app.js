// CMCC pages: forms that write through the JSON API, and the live alert counter.
"use strict";
(function () {
  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  async function api(method, url, body) {
    const response = await fetch(url, {
      method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, Accept: "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    const data = text ? JSON.parse(text) : null;
    if (!response.ok) {
      const lines = [(data && (data.detail || data.title)) || response.statusText];
      for (const e of (data && data.errors) || []) lines.push(e.field + ": " + e.message);
      const error = new Error(lines.join("\n"));
      error.status = response.status;
      throw error;
    }
    return data;
  }

  // <form data-api="/api/v1/..." data-method="POST" data-next="/incidents/{id}">; lon and lat
  // become a GeoJSON point unless the form says data-lonlat (an API that takes them as they are).
  function formBody(form) {
    const body = {};
    for (const el of form.elements) {
      if (!el.name || el.disabled || el.dataset.skip !== undefined) continue;
      if (el.name === "releasability_kind" || el.name === "releasability_to") continue;
      if (el.type === "checkbox") { body[el.name] = el.checked; continue; }
      if (el.value === "" && !el.required) continue;
      const type = el.dataset.type;
      if (type === "number") body[el.name] = Number(el.value);
      else if (type === "json") body[el.name] = JSON.parse(el.value);
      else if (type === "datetime") body[el.name] = new Date(el.value).toISOString();
      else body[el.name] = el.value;
    }
    if ("lon" in body && "lat" in body && form.dataset.lonlat === undefined) {
      body.geometry = { type: "Point", coordinates: [Number(body.lon), Number(body.lat)] };
      delete body.lon; delete body.lat;
    }
    const kind = form.elements.namedItem("releasability_kind");
    if (kind && kind.value) {  // an empty choice sends no marking: the service's default
      const to = (form.elements.namedItem("releasability_to") || {}).value || "";
      body.releasability = kind.value === "rel" ? "rel:" + to.replace(/\s+/g, "") : kind.value;
    }
    return body;
  }

  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!form.dataset.api) return;
    event.preventDefault();
    const error = form.querySelector(".form-error");
    if (error) { error.hidden = true; error.textContent = ""; }
    const button = form.querySelector("[type=submit]");
    if (button) button.disabled = true;
    try {
      const data = await api(form.dataset.method || "POST", form.dataset.api, formBody(form));
      form.dispatchEvent(new CustomEvent("cmcc:saved", { detail: data, bubbles: true }));
      if (form.dataset.next) window.location.assign(form.dataset.next.replace("{id}", data.id));
      else if (form.dataset.stay === undefined) window.location.reload();
    } catch (e) {
      if (error) { error.textContent = e.message; error.hidden = false; error.focus(); }
    } finally {
      if (button) button.disabled = false;
    }
  });

  // The live alert count in the navigation (server-sent events).
  function watchAlerts() {
    const link = document.querySelector('nav a[href="/alerts"]');
    if (!link || !window.EventSource) return;
    const badge = document.createElement("span");
    badge.className = "badge";
    badge.setAttribute("aria-live", "polite");
    badge.hidden = true;
    link.append(badge);
    let count = 0;
    const source = new EventSource("/api/v1/alerts/stream");
    source.addEventListener("alert", (event) => {
      count += 1;
      badge.textContent = " " + count + " new";
      badge.hidden = false;
      document.dispatchEvent(new CustomEvent("cmcc:alert", { detail: JSON.parse(event.data) }));
    });
  }

  // A releasability marking as the pages show it: PUBLIC, MISSION, OWNER, REL TO A, B.
  function markingBadge(text) {
    const badge = document.createElement("span");
    badge.className = "marking marking-" + (text || "unmarked").split(":")[0];
    if (!text) badge.textContent = "UNMARKED";
    else if (text.startsWith("rel:")) badge.textContent = "REL TO " + text.slice(4).split(",").join(", ");
    else badge.textContent = text.toUpperCase();
    return badge;
  }

  // The users' words for codes (web/words.py's table), on the element of a page that needs them.
  const wordsHost = document.querySelector("[data-words]");
  const words = wordsHost ? JSON.parse(wordsHost.dataset.words) : {};
  const word = (code) => words[code] || code;
  // An incident's readable reference, as web/words.py's incident_ref writes it.
  const incidentRef = (id) => "INC-" + id;

  window.cmcc = { api, csrf, markingBadge, word, incidentRef };
  if (csrf) watchAlerts();
})();
