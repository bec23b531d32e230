// ceasefire-monitor pages: what the dashboard (dashboard.js) and the incident page (incident.js) share.
// Text from the API is always inserted with textContent, never as HTML.
"use strict";

const CFM = (() => {
  const COLORS = { shelling: "#d1495b", air_strike: "#edae49", armed_clash: "#00798c",
    ceasefire_violation: "#30638e" };
  const LABEL_NAMES = { shelling: "shelling", air_strike: "air strike", armed_clash: "armed clash",
    ceasefire_violation: "ceasefire violation" };

  const $ = (sel) => document.querySelector(sel);

  function el(tag, text, attrs) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    return node;
  }

  async function api(path) {
    const headers = {};
    const token = sessionStorage.getItem("cfm-token");
    if (token) headers.Authorization = "Bearer " + token;
    const response = await fetch(path, { headers });
    let body = null;
    try { body = await response.json(); } catch (e) { body = null; }
    if (response.status === 401 && $("#auth")) $("#auth").hidden = false;
    if (!response.ok) throw new Error((body && body.error) || ("HTTP " + response.status));
    return body;
  }

  function showError(message) {
    const box = $("#error");
    box.textContent = message || "";
    box.hidden = !message;
  }

  // "Place, Region, Country" as far as known; "unknown place" stands in for a missing place name.
  function where(inc) {
    const country = inc.country_name || inc.country;
    if (!inc.place && !inc.admin1 && !country) return "unknown place";
    return [inc.place || "unknown place", inc.admin1, country].filter(Boolean).join(", ");
  }

  function precisionNote(inc) {
    if (!inc.geo_precision) return inc.lat === null || inc.lat === undefined ? "no coordinates" : "";
    return { place: "place", region: "region only", country: "country only" }[inc.geo_precision]
      || inc.geo_precision;
  }

  function labelChip(label) {
    const chip = el("span", LABEL_NAMES[label] || label.replace(/_/g, " "), { class: "label", "data-label": label });
    chip.style.background = COLORS[label] || "#777";
    return chip;
  }

  function safeHref(url) {
    return typeof url === "string" && /^https?:\/\//i.test(url) ? url : null;
  }

  function wireAuth(onToken) {
    const form = $("#auth");
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      sessionStorage.setItem("cfm-token", new FormData(form).get("token"));
      form.hidden = true;
      onToken();
    });
  }

  // A Leaflet map in `box` over the vendored country outlines (and the configured tiles, if any).
  async function baseMap(box, options) {
    const L = window.L;
    const map = L.map(box, Object.assign({ worldCopyJump: true, minZoom: 1, maxZoom: 12 }, options || {}));
    map.attributionControl.setPrefix(false);
    map.attributionControl.addAttribution("Leaflet · outlines: Natural Earth");
    const tiles = document.querySelector("meta[name=cfm-tiles]").content;
    const credit = document.querySelector("meta[name=cfm-tiles-attribution]").content;
    // Leaflet shows an attribution as HTML: the configured credit is escaped to stay text
    const text = credit.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
    if (tiles) L.tileLayer(tiles, { maxZoom: 12, attribution: text }).addTo(map);
    try {
      const outlines = await (await fetch("/static/vendor/countries-110m.geojson")).json();
      L.geoJSON(outlines, { interactive: false, style: { color: "#8a949c", weight: 0.7, fillColor: "#e9ecef",
        fillOpacity: tiles ? 0 : 1 } }).addTo(map);
    } catch (err) {
      box.dataset.outlines = "missing";
    }
    return map;
  }

  return { COLORS, LABEL_NAMES, $, el, api, showError, where, precisionNote, labelChip, safeHref, wireAuth,
    baseMap };
})();
