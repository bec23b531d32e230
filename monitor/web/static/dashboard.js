// ceasefire-monitor dashboard: a read-only page over the JSON API (/api/incidents, /api/timeline).
// No build step, no dependencies: the list and the SVG timeline are drawn here; the map uses Leaflet,
// loaded from a CDN *after* the rest, so an offline browser still gets the list and the timeline.
// All text from the API is inserted with textContent (never innerHTML).
"use strict";

const LEAFLET = {
  js: "https://unpkg.com/leaflet@1.9.4/dist/leaflet.js",
  jsIntegrity: "sha256-20nQCchB9co0qIjJZRGuk2/Z9VM+kNiyxNV1lvTlZBo=",
  css: "https://unpkg.com/leaflet@1.9.4/dist/leaflet.css",
  cssIntegrity: "sha256-p4NxAoJBhIIN+hmNHrzRCf9tD/miZyoHS5obTRR9BMY=",
  timeoutMs: 8000,
};
const COLORS = { shelling: "#d1495b", air_strike: "#edae49", armed_clash: "#00798c", ceasefire_violation: "#30638e" };
const FILTERS = ["since", "until", "country", "label", "text", "near", "km", "min_severity", "min_sources"];
const PAGE = 100;
const SVG = "http://www.w3.org/2000/svg";

const $ = (sel) => document.querySelector(sel);
const state = { next: null, incidents: [], map: null, layer: null, leaflet: null };

function el(tag, text, attrs) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  return node;
}

function svg(tag, attrs, title) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (title) { const t = document.createElementNS(SVG, "title"); t.textContent = title; node.appendChild(t); }
  return node;
}

// -- talking to the API ------------------------------------------------------------------------------
function filterParams() {
  const form = new FormData($("#filters"));
  const params = new URLSearchParams();
  for (const name of FILTERS) {
    const value = (form.get(name) || "").toString().trim();
    if (value) params.set(name, value);
  }
  return params;
}

async function api(path) {
  const headers = {};
  const token = sessionStorage.getItem("cfm-token");
  if (token) headers.Authorization = "Bearer " + token;
  const response = await fetch(path, { headers });
  let body = null;
  try { body = await response.json(); } catch (e) { body = null; }
  if (response.status === 401) { $("#auth").hidden = false; }
  if (!response.ok) throw new Error((body && body.error) || ("HTTP " + response.status));
  return body;
}

function showError(message) {
  const box = $("#error");
  box.textContent = message || "";
  box.hidden = !message;
}

// -- the list ----------------------------------------------------------------------------------------
function labelChips(labels) {
  const cell = el("td");
  for (const label of labels) {
    const chip = el("span", label.replace("_", " "), { class: "label", "data-label": label });
    chip.style.background = COLORS[label] || "#777";
    cell.appendChild(chip);
  }
  return cell;
}

function incidentRow(inc) {
  const tr = el("tr", null, { "data-id": inc.id });
  tr.appendChild(el("td", inc.id));
  tr.appendChild(el("td", inc.event_date || ""));
  tr.appendChild(el("td", [inc.place, inc.admin1, inc.country].filter(Boolean).join(", ") || "?"));
  tr.appendChild(labelChips(inc.labels));
  tr.appendChild(el("td", inc.killed === null ? "" : inc.killed, { class: "num" }));
  tr.appendChild(el("td", inc.injured === null ? "" : inc.injured, { class: "num" }));
  tr.appendChild(el("td", inc.source_count, { class: "num" }));
  tr.appendChild(el("td", Number(inc.severity).toFixed(1), { class: "num" }));
  tr.appendChild(el("td", inc.title));
  tr.addEventListener("click", () => showDetail(inc.id));
  return tr;
}

function renderList(append) {
  const body = $("#incidents tbody");
  if (!append) body.replaceChildren();
  const start = append ? body.children.length : 0;
  for (const inc of state.incidents.slice(start)) body.appendChild(incidentRow(inc));
  $("#count").textContent = "(" + state.incidents.length + (state.next ? "+" : "") + ")";
  $("#more").hidden = !state.next;
}

async function loadIncidents(append) {
  const url = append ? state.next : "/api/incidents?" + withLimit(filterParams());
  const page = await api(url);
  state.incidents = append ? state.incidents.concat(page.incidents) : page.incidents;
  state.next = page.next;
  renderList(append);
  drawMarkers();
}

function withLimit(params) {
  params.set("limit", String(PAGE));
  return params.toString();
}

// -- the timeline: stacked bars per day, one colour per label ----------------------------------------
function daysBetween(first, last) {
  const out = [];
  const day = new Date(first + "T00:00:00Z");
  const end = new Date(last + "T00:00:00Z");
  while (day <= end && out.length < 731) {
    out.push(day.toISOString().slice(0, 10));
    day.setUTCDate(day.getUTCDate() + 1);
  }
  return out;
}

function drawTimeline(days) {
  const box = $("#timeline");
  box.replaceChildren();
  if (!days.length) { box.appendChild(el("p", "No incidents in this period.", { class: "note" })); return; }
  const counts = Object.fromEntries(days.map((d) => [d.date, d.counts]));
  const all = daysBetween(days[0].date, days[days.length - 1].date);
  const totals = all.map((d) => Object.values(counts[d] || {}).reduce((a, b) => a + b, 0));
  const max = Math.max(1, ...totals);
  const width = 600, height = 160, left = 28, bottom = 18, plotH = height - bottom - 6;
  const barW = (width - left) / all.length;
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "incidents per day" });
  chart.appendChild(svg("line", { x1: left, y1: height - bottom, x2: width, y2: height - bottom, stroke: "#999" }));
  chart.appendChild(svg("text", { x: left - 4, y: 12, "text-anchor": "end", "font-size": 10 })).textContent = max;
  chart.appendChild(svg("text", { x: left - 4, y: height - bottom, "text-anchor": "end", "font-size": 10 })).textContent = 0;
  all.forEach((day, i) => {
    let y = height - bottom;
    for (const label of Object.keys(COLORS)) {
      const n = (counts[day] || {})[label] || 0;
      if (!n) continue;
      const h = (n / max) * plotH;
      y -= h;
      chart.appendChild(svg("rect", { x: left + i * barW + 0.5, y, width: Math.max(1, barW - 1), height: h,
        fill: COLORS[label], "data-date": day, "data-label": label, "data-count": n }, `${day}: ${n} ${label}`));
    }
  });
  for (const [i, anchor] of [[0, "start"], [all.length - 1, "end"]]) {
    const x = anchor === "start" ? left : width;
    chart.appendChild(svg("text", { x, y: height - 4, "text-anchor": anchor, "font-size": 10 })).textContent = all[i];
  }
  box.appendChild(chart);
  const legend = $("#legend");
  legend.replaceChildren();
  for (const [label, color] of Object.entries(COLORS)) {
    const item = el("li");
    const swatch = el("span");
    swatch.style.background = color;
    item.append(swatch, label.replace("_", " "));
    legend.appendChild(item);
  }
}

async function loadTimeline() {
  const params = filterParams();
  const body = await api("/api/timeline?" + params.toString());
  drawTimeline(body.days);
}

// -- the map (optional: needs Leaflet from the CDN and tiles from OpenStreetMap) ---------------------
function loadLeaflet() {
  return new Promise((resolve, reject) => {
    const css = el("link", null, { rel: "stylesheet", href: LEAFLET.css, integrity: LEAFLET.cssIntegrity,
      crossorigin: "" });
    document.head.appendChild(css);
    const script = el("script", null, { src: LEAFLET.js, integrity: LEAFLET.jsIntegrity, crossorigin: "" });
    const timer = setTimeout(() => reject(new Error("timed out")), LEAFLET.timeoutMs);
    script.onload = () => { clearTimeout(timer); window.L ? resolve(window.L) : reject(new Error("no L")); };
    script.onerror = () => { clearTimeout(timer); reject(new Error("could not load")); };
    document.head.appendChild(script);
  });
}

function startMap() {
  loadLeaflet().then((L) => {
    state.leaflet = L;
    const box = $("#map");
    box.replaceChildren();
    state.map = L.map(box).setView([40, 45], 4);
    L.tileLayer("https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png", {
      maxZoom: 12, attribution: "&copy; OpenStreetMap contributors" }).addTo(state.map);
    state.layer = L.layerGroup().addTo(state.map);
    drawMarkers();
  }).catch((err) => {
    $("#map-note").textContent = "Map unavailable (" + err.message + "): the map library could not be loaded. "
      + "The list and the timeline work without it.";
    $("#map").dataset.state = "unavailable";
  });
}

function drawMarkers() {
  const L = state.leaflet;
  if (!L || !state.layer) return;
  state.layer.clearLayers();
  const points = [];
  for (const inc of state.incidents) {
    if (inc.lat === null || inc.lon === null) continue;
    const popup = el("div");
    popup.append(el("strong", inc.id), el("br"), inc.title);
    L.circleMarker([inc.lat, inc.lon], { radius: 4 + Math.min(8, inc.source_count),
      color: COLORS[inc.labels[0]] || "#555" }).bindPopup(popup).addTo(state.layer);
    points.push([inc.lat, inc.lon]);
  }
  $("#map").dataset.markers = String(points.length);
  if (points.length) state.map.fitBounds(points, { maxZoom: 9, padding: [20, 20], animate: false });
}

// -- one incident --------------------------------------------------------------------------------------
async function showDetail(id) {
  try {
    const inc = (await api("/api/incidents/" + encodeURIComponent(id))).incident;
    $("#detail").hidden = false;
    $("#detail-title").textContent = inc.id + " — " + inc.title;
    const facts = $("#detail-facts");
    facts.replaceChildren();
    const rows = [["Date", inc.event_date], ["Where", [inc.place, inc.admin1, inc.country].filter(Boolean).join(", ")],
      ["Labels", inc.labels.join(", ")], ["Killed", inc.killed], ["Injured", inc.injured],
      ["Severity", inc.severity], ["Sources", inc.source_count], ["Ceasefire", inc.ceasefire]];
    for (const [k, v] of rows) facts.append(el("dt", k), el("dd", v === null || v === undefined ? "—" : v));
    const list = (sel, items, make) => { const ul = $(sel); ul.replaceChildren(...items.map(make)); };
    list("#detail-evidence", inc.evidence || [], (p) => el("li", p));
    list("#detail-articles", inc.articles, (a) => {
      const li = el("li", (a.published || "") + " " + a.source + ": ");
      if (a.url && /^https?:\/\//.test(a.url)) li.appendChild(el("a", a.title, { href: a.url, rel: "noopener noreferrer" }));
      else li.append(a.title);
      return li;
    });
    list("#detail-revisions", inc.revisions, (r) => el("li", "r" + r.revision + " " + r.created_at + ": " + r.reasons.join(", ")));
    $("#detail").scrollIntoView({ block: "nearest" });
  } catch (err) { showError(err.message); }
}

// -- wiring ------------------------------------------------------------------------------------------
async function refresh() {
  showError("");
  $("#status").textContent = "loading…";
  history.replaceState(null, "", "?" + filterParams().toString());
  const results = await Promise.allSettled([loadIncidents(false), loadTimeline()]);
  const failed = results.find((r) => r.status === "rejected");
  if (failed) showError(failed.reason.message);
  $("#status").textContent = failed ? "error" : "updated " + new Date().toLocaleTimeString();
  document.body.dataset.loaded = failed ? "error" : "ok";
}

function init() {
  const form = $("#filters");
  const given = new URLSearchParams(location.search);
  for (const name of FILTERS) if (given.has(name)) form.elements[name].value = given.get(name);
  form.addEventListener("submit", (e) => { e.preventDefault(); refresh(); });
  form.addEventListener("reset", () => setTimeout(refresh, 0));
  $("#more").addEventListener("click", () => loadIncidents(true).catch((err) => showError(err.message)));
  $("#auth").addEventListener("submit", (e) => {
    e.preventDefault();
    sessionStorage.setItem("cfm-token", new FormData($("#auth")).get("token"));
    $("#auth").hidden = true;
    refresh();
  });
  refresh().finally(startMap);
}

document.addEventListener("DOMContentLoaded", init);
