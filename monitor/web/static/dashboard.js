// ceasefire-monitor dashboard: a read-only page over the JSON API (/api/incidents, /api/timeline).
// No build step: the list and the SVG timeline are drawn here; the map is Leaflet, served from this
// server with a country-outline base layer, so nothing is fetched from another origin (a tile server
// only when [api] tiles names one). Shared helpers are in common.js.
"use strict";

const { COLORS, LABEL_NAMES, $, el, api, showError } = CFM;
const FILTERS = ["event_since", "event_until", "seen_since", "since", "until", "country", "label", "text", "near",
  "km", "min_severity", "min_sources"];
const DATE_FILTERS = ["event_since", "event_until", "seen_since", "since", "until"];
const PAGE = 100;
const SVG = "http://www.w3.org/2000/svg";
const DAY = 86400000;
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const state = { next: null, incidents: [], map: null, layer: null, extra: {} };

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = String(text);
  return node;
}

// -- filters: the form's fields, plus since/until given in the address (they have no field) ----------
function filterParams() {
  const form = new FormData($("#filters"));
  const params = new URLSearchParams();
  for (const name of FILTERS) {
    const value = ((form.has(name) ? form.get(name) : state.extra[name]) || "").toString().trim();
    if (value) params.set(name, value);
  }
  return params;
}

// -- the list ----------------------------------------------------------------------------------------
function incidentRow(inc) {
  const tr = el("tr", null, { "data-id": inc.id });
  const idCell = el("td");
  idCell.appendChild(el("a", inc.id, { href: "/incidents/" + encodeURIComponent(inc.id) }));
  tr.appendChild(idCell);
  tr.appendChild(el("td", inc.event_date || "unknown", { class: "date" }));
  tr.appendChild(el("td", (inc.first_seen_at || "").slice(0, 10), { class: "date" }));
  const whereCell = el("td", CFM.where(inc), { class: "where" });
  const note = CFM.precisionNote(inc);
  if (note) whereCell.appendChild(el("small", " (" + note + ")", { class: "precision" }));
  tr.appendChild(whereCell);
  const labels = el("td");
  for (const label of inc.labels) labels.appendChild(CFM.labelChip(label));
  tr.appendChild(labels);
  tr.appendChild(el("td", inc.killed === null ? "" : inc.killed, { class: "num" }));
  tr.appendChild(el("td", inc.injured === null ? "" : inc.injured, { class: "num" }));
  tr.appendChild(el("td", inc.source_count, { class: "num" }));
  tr.appendChild(el("td", Number(inc.severity).toFixed(1), { class: "num" }));
  tr.appendChild(el("td", inc.title, { class: "title" }));
  tr.addEventListener("click", (e) => {
    if (e.target.tagName !== "A") location.href = "/incidents/" + encodeURIComponent(inc.id);
  });
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
  let url = state.next;
  if (!append) {
    const params = filterParams();
    params.set("order", "event");
    params.set("limit", String(PAGE));
    url = "/api/incidents?" + params.toString();
  }
  const page = await api(url);
  state.incidents = append ? state.incidents.concat(page.incidents) : page.incidents;
  state.next = page.next;
  renderList(append);
  drawMarkers();
}

// -- the timeline: stacked bars per day, week or month (as the span needs), one colour per label ------
const dayOf = (iso) => Date.parse(iso.slice(0, 10) + "T00:00:00Z");
const isoDay = (t) => new Date(t).toISOString().slice(0, 10);
const plainDate = (value) => (/^\d{4}-\d{2}-\d{2}$/.test(value || "") ? dayOf(value) : null);

// Bins: day when a day gets at least 2 px, else week, else month. Empty bins are simply not drawn.
function binning(first, last, plotW) {
  const days = (last - first) / DAY + 1;
  if (plotW / days >= 2) return { name: "day", start: (t) => t, next: (t) => t + DAY };
  if (plotW / (days / 7) >= 2) {
    const monday = (t) => t - ((new Date(t).getUTCDay() + 6) % 7) * DAY;
    return { name: "week", start: monday, next: (t) => t + 7 * DAY };
  }
  const start = (t) => { const d = new Date(t); return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1); };
  const next = (t) => { const d = new Date(t); return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1); };
  return { name: "month", start, next };
}

// Ticks on calendar boundaries, the finest step that gives at most `most` of them inside [first, last].
function ticks(first, last, most) {
  const years = (n) => ({ every: "year", n, fmt: (d) => String(d.getUTCFullYear()) });
  const months = (n) => ({ every: "month", n, fmt: (d) => MONTHS[d.getUTCMonth()] + " " + d.getUTCFullYear() });
  const steps = [{ every: "day", n: 1, fmt: (d) => isoDay(d) }, { every: "day", n: 7, fmt: (d) => isoDay(d) },
    months(1), months(3), months(6), years(1), years(2), years(5), years(10), years(20), years(50)];
  for (const step of steps) {
    const out = [];
    const d = new Date(first);
    if (step.every === "day") {
      for (let t = first; t <= last; t += step.n * DAY) out.push(t);
    } else {
      let m = d.getUTCFullYear() * 12 + d.getUTCMonth();
      const per = step.every === "year" ? 12 * step.n : step.n;
      m = Math.ceil(m / per) * per;
      for (let t = Date.UTC(Math.floor(m / 12), m % 12, 1); t <= last; m += per, t = Date.UTC(Math.floor(m / 12), m % 12, 1)) {
        if (t >= first) out.push(t);
      }
    }
    if (out.length <= most && out.length >= 1) return out.map((t) => ({ t, text: step.fmt(new Date(t)) }));
  }
  return [{ t: first, text: isoDay(first) }];
}

function drawTimeline(days, params) {
  const box = $("#timeline");
  box.replaceChildren();
  const legend = $("#legend");
  legend.replaceChildren();
  if (!days.length) { box.appendChild(el("p", "No incidents in this period.", { class: "note" })); return; }
  // the axis spans the data, widened to the event-date filter when it is given as plain dates
  let first = dayOf(days[0].date), last = dayOf(days[days.length - 1].date);
  const from = plainDate(params.get("event_since")), to = plainDate(params.get("event_until"));
  if (from !== null) first = Math.min(first, from);
  if (to !== null) last = Math.max(last, to);
  const width = 900, height = 190, left = 34, right = 12, bottom = 22, top = 8;
  const plotW = width - left - right, plotH = height - bottom - top;
  const bin = binning(first, last, plotW);
  const x0 = bin.start(first), x1 = bin.next(bin.start(last));
  const x = (t) => left + ((t - x0) / (x1 - x0)) * plotW;
  const bins = new Map();
  for (const d of days) {
    const key = bin.start(dayOf(d.date));
    const counts = bins.get(key) || {};
    for (const [label, n] of Object.entries(d.counts)) counts[label] = (counts[label] || 0) + n;
    bins.set(key, counts);
  }
  const total = (c) => Object.values(c).reduce((a, b) => a + b, 0);
  const max = Math.max(1, ...[...bins.values()].map(total));
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "data-bin": bin.name,
    "data-first": isoDay(first), "data-last": isoDay(last),
    "aria-label": `incidents per ${bin.name} from ${isoDay(first)} to ${isoDay(last)}` });
  const base = height - bottom;
  chart.appendChild(svg("line", { x1: left, y1: base, x2: width - right, y2: base, stroke: "#999" }));
  chart.appendChild(svg("text", { x: left - 4, y: top + 8, "text-anchor": "end", class: "axis" }, max));
  chart.appendChild(svg("text", { x: left - 4, y: base, "text-anchor": "end", class: "axis" }, 0));
  for (const [start, counts] of bins) {
    const bx = x(start), bw = Math.max(1, x(bin.next(start)) - bx - (x(bin.next(start)) - bx > 3 ? 1 : 0));
    let y = base;
    for (const label of Object.keys(COLORS)) {
      const n = counts[label] || 0;
      if (!n) continue;
      const h = (n / max) * plotH;
      y -= h;
      const bar = svg("rect", { x: bx, y, width: bw, height: h, fill: COLORS[label], "data-date": isoDay(start),
        "data-label": label, "data-count": n });
      bar.appendChild(svg("title", {}, `${bin.name} of ${isoDay(start)}: ${n} ${LABEL_NAMES[label]}`));
      chart.appendChild(bar);
    }
  }
  for (const tick of ticks(first, last, 9)) {
    const tx = x(tick.t);
    chart.appendChild(svg("line", { x1: tx, y1: base, x2: tx, y2: base + 4, stroke: "#999" }));
    chart.appendChild(svg("text", { x: tx, y: height - 4, "text-anchor": "middle", class: "axis tick",
      "data-tick": isoDay(tick.t) }, tick.text));
  }
  box.appendChild(chart);
  $("#timeline-title").textContent = `Incidents per ${bin.name} by event date and label, `
    + `${isoDay(first)} to ${isoDay(last)}`;
  for (const [label, color] of Object.entries(COLORS)) {
    const item = el("li");
    const swatch = el("span");
    swatch.style.background = color;
    item.append(swatch, LABEL_NAMES[label]);
    legend.appendChild(item);
  }
}

async function loadTimeline() {
  const params = filterParams();
  const query = new URLSearchParams(params);
  if (!DATE_FILTERS.some((name) => params.has(name))) query.set("all", "1");
  const body = await api("/api/timeline?" + query.toString());
  drawTimeline(body.days, params);
}

// -- the map: vendored Leaflet over vendored country outlines (tiles only when configured) ------------
async function startMap() {
  const L = window.L;
  const box = $("#map");
  if (!L) { $("#map-note").textContent = "Map unavailable: the map library did not load."; return; }
  box.replaceChildren();
  state.map = await CFM.baseMap(box);
  state.map.setView([35, 30], 2);
  state.layer = L.layerGroup().addTo(state.map);
  box.dataset.state = "ready";
  drawMarkers();
}

function drawMarkers() {
  const L = window.L;
  if (!L || !state.layer) return;
  state.layer.clearLayers();
  const points = [];
  for (const inc of state.incidents) {
    if (inc.lat === null || inc.lon === null) continue;
    const popup = el("div");
    popup.append(el("a", inc.id, { href: "/incidents/" + encodeURIComponent(inc.id) }), el("br"),
      (inc.event_date || "date unknown") + " · " + CFM.where(inc), el("br"), inc.title);
    L.circleMarker([inc.lat, inc.lon], { radius: 4 + Math.min(8, inc.source_count),
      color: COLORS[inc.labels[0]] || "#555", className: "cfm-marker" }).bindPopup(popup).addTo(state.layer);
    points.push([inc.lat, inc.lon]);
  }
  $("#map").dataset.markers = String(points.length);
  $("#map-count").textContent = `(${points.length} of ${state.incidents.length} listed have coordinates)`;
  if (points.length) state.map.fitBounds(points, { maxZoom: 7, padding: [20, 20], animate: false });
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
  for (const name of FILTERS) {
    if (!given.has(name)) continue;
    if (form.elements[name]) form.elements[name].value = given.get(name);
    else state.extra[name] = given.get(name);
  }
  form.addEventListener("submit", (e) => { e.preventDefault(); refresh(); });
  form.addEventListener("reset", () => { state.extra = {}; setTimeout(refresh, 0); });
  $("#more").addEventListener("click", () => loadIncidents(true).catch((err) => showError(err.message)));
  CFM.wireAuth(refresh);
  startMap().catch((err) => {
    $("#map").replaceChildren(el("p", "Map unavailable: " + err.message, { class: "note", id: "map-note" }));
  });
  refresh();
}

document.addEventListener("DOMContentLoaded", init);
