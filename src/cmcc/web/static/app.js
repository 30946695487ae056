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
      error.title = (data && data.title) || response.statusText;
      error.errors = (data && data.errors) || [];
      throw error;
    }
    return data;
  }

  // <form data-api="/api/v1/..." data-method="POST" data-next="/incidents/{id}">; lon and lat
  // become a GeoJSON point unless the form says data-lonlat (an API that takes them as they are).
  // A dotted name (contact.name) is a nested object; checkboxes marked data-list, a list of the
  // checked values; a radio group, its checked value.
  function put(body, name, value) {
    const path = name.split(".");
    let at = body;
    for (const key of path.slice(0, -1)) at = at[key] = at[key] || {};
    at[path[path.length - 1]] = value;
  }
  function formBody(form) {
    const body = {};
    for (const el of form.elements) {
      if (!el.name || el.disabled || el.dataset.skip !== undefined) continue;
      if (el.name === "releasability_kind" || el.name === "releasability_to") continue;
      if (el.type === "checkbox" && el.dataset.list !== undefined) {
        body[el.name] = body[el.name] || [];
        if (el.checked) body[el.name].push(el.value);
        continue;
      }
      if (el.type === "checkbox") { body[el.name] = el.checked; continue; }
      if (el.type === "radio") { if (el.checked) body[el.name] = el.value; continue; }
      if (el.value === "" && !el.required) continue;
      const type = el.dataset.type;
      let value = el.value;
      if (type === "number") value = Number(el.value);
      else if (type === "json") value = JSON.parse(el.value);
      else if (type === "datetime") value = new Date(el.value).toISOString();
      put(body, el.name, value);
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
    clearFieldErrors(form);
    // A field repeated to catch typing mistakes (data-same-as="the other field's name").
    for (const el of form.querySelectorAll("[data-same-as]")) {
      const other = form.elements.namedItem(el.dataset.sameAs);
      if (other && other.value !== el.value) {
        fieldErrors(form, { errors: [{ field: el.name, message: "does not match" }], title: "Check the form" });
        if (error) { error.textContent = labelOf(el) + ": does not match"; error.hidden = false; }
        return;
      }
    }
    const button = form.querySelector("[type=submit]");
    if (button) button.disabled = true;
    try {
      const data = await api(form.dataset.method || "POST", form.dataset.api, formBody(form));
      form.dispatchEvent(new CustomEvent("cmcc:saved", { detail: data, bubbles: true }));
      if (form.dataset.next) window.location.assign(form.dataset.next.replace(/\{(\w+)\}/g, (_, key) => data[key]));
      else if (form.dataset.stay === undefined) window.location.reload();
    } catch (e) {
      const summary = fieldErrors(form, e);
      if (error) { error.textContent = summary || e.message; error.hidden = false; error.focus(); }
    } finally {
      if (button) button.disabled = false;
    }
  });

  // The API's field errors beside the fields they name (body.contact.name: the element named
  // contact.name, or else the one marked data-field="contact"); an error about the whole body
  // goes beside the field its message names. Codes in the messages read as the field's label.
  // Returns the summary for the form's error line ("" when no error named a field).
  function anchor(form, field) {
    const find = (name) => form.querySelector('[name="' + name + '"]:not([type=hidden]), [data-field="' + name + '"]');
    const parts = field.replace(/^(body|query)\.?/, "").split(".").filter(Boolean);
    for (let n = parts.length; n > 0; n -= 1) {
      const found = find(parts.slice(0, n).join("."));
      if (found) return found;
    }
    return null;
  }
  function labelOf(el) {
    const named = el.labels && el.labels[0] ? el.labels[0] : el.closest("fieldset") && el.closest("fieldset").querySelector("legend");
    return ((named && (named.innerText || named.textContent)) || el.getAttribute("aria-label") || el.name || "").replace(/\s*\(.*\)\s*$/, "").trim();
  }
  function clearFieldErrors(form) {
    form.querySelectorAll(".field-error").forEach((note) => {
      const el = form.querySelector('[aria-describedby~="' + note.id + '"]');
      if (el) {
        const rest = el.getAttribute("aria-describedby").split(" ").filter((id) => id !== note.id);
        if (rest.length) el.setAttribute("aria-describedby", rest.join(" ")); else el.removeAttribute("aria-describedby");
        el.removeAttribute("aria-invalid");
      }
      note.remove();
    });
  }
  function fieldErrors(form, e) {
    const lines = [];
    let placed = 0;
    for (const item of e.errors || []) {
      let el = anchor(form, item.field);
      if (!el) {
        const named = (item.message.match(/\b[a-z]+(?:_[a-z]+)+\b/g) || []).map((code) => anchor(form, code)).find(Boolean);
        el = named || null;
      }
      let text = item.message.replace(/^Value error, /, "");
      text = text.replace(/\b[a-z]+(?:_[a-z]+)+\b/g, (code) => {
        const named = anchor(form, code);
        return named ? "“" + labelOf(named) + "”" : code;
      });
      if (!el) { lines.push(item.field + ": " + text); continue; }
      placed += 1;
      const id = "error-" + (el.id || el.dataset.field || el.name).replace(/[^A-Za-z0-9_-]/g, "-");
      let note = document.getElementById(id);
      if (note) note.textContent += " " + text;
      else {
        note = document.createElement("p");
        note.className = "field-error";
        note.id = id;
        note.textContent = text;
        el.setAttribute("aria-invalid", "true");
        el.setAttribute("aria-describedby", ((el.getAttribute("aria-describedby") || "") + " " + id).trim());
        el.after(note);
      }
      lines.push(labelOf(el) + ": " + text);
    }
    if (!placed) return "";
    return [e.title || "Invalid input", ...lines].join("\n");
  }

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
