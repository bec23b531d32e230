// ceasefire-monitor incident page (/incidents/{id}): the facts of one incident, its evidence highlighted in
// each source's text, the sources with links, its revisions with their reasons and its alert deliveries
// per target. Reads /api/incidents/{id} and /api/incidents/{id}/articles; text goes in with textContent.
"use strict";

const { $, el, api, showError } = CFM;
const INCIDENT_ID = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop() || "");

// `text` as text nodes and <mark> elements; `marks` are sorted, non-overlapping [start, end) offsets.
function marked(tag, text, marks, attrs) {
  const node = el(tag, null, attrs);
  let at = 0;
  for (const [start, end] of marks) {
    if (start > at) node.append(text.slice(at, start));
    node.appendChild(el("mark", text.slice(start, end)));
    at = end;
  }
  node.append(text.slice(at));
  return node;
}

function when(iso) {
  return iso ? iso.replace("T", " ").replace(/\.\d+/, "").replace("Z", " UTC") : "unknown";
}

function casualties(n) {
  return n === null || n === undefined ? "not reported" : String(n);
}

function facts(inc) {
  const coords = inc.lat === null ? "no coordinates"
    : `${Number(inc.lat).toFixed(4)}, ${Number(inc.lon).toFixed(4)}`;
  const note = CFM.precisionNote(inc);
  const rows = [
    ["Event date", inc.event_date || "unknown"],
    ["Where", CFM.where(inc) + (note ? ` (precision: ${note})` : "")],
    ["Coordinates", coords],
    ["Killed", casualties(inc.killed)],
    ["Injured", casualties(inc.injured)],
    ["Severity", Number(inc.severity).toFixed(1) + " of 10"],
    ["Outlets", inc.source_count],
    ["Ceasefire", inc.ceasefire || "none recorded"],
    ["First seen", when(inc.first_seen_at)],
    ["Updated", when(inc.updated_at) + ` (revision ${inc.revision})`],
  ];
  const list = $("#facts");
  list.replaceChildren();
  for (const [k, v] of rows) list.append(el("dt", k), el("dd", v, { "data-fact": k }));
}

async function placeMap(inc) {
  const box = $("#incident-map");
  if (!window.L || inc.lat === null || inc.lon === null) return;
  box.hidden = false;
  const zoom = { place: 5, region: 4, country: 3 }[inc.geo_precision] || 4;  // 1:110m outlines: keep context
  const map = await CFM.baseMap(box);
  map.setView([inc.lat, inc.lon], zoom);
  window.L.circleMarker([inc.lat, inc.lon], { radius: 8, color: CFM.COLORS[inc.labels[0]] || "#555",
    className: "cfm-marker" }).addTo(map);
  box.dataset.state = "ready";
}

function source(article) {
  const li = el("li", null, { class: "source", "data-source": article.source });
  const head = el("p", null, { class: "source-head" });
  head.append(el("strong", article.source), " · " + when(article.published) + " · ");
  const href = CFM.safeHref(article.url);
  const title = marked("span", article.title, article.title_marks, { class: "source-title" });
  if (href) {
    const link = el("a", null, { href, rel: "noopener noreferrer", target: "_blank" });
    link.appendChild(title);
    head.appendChild(link);
  } else head.appendChild(title);
  li.appendChild(head);
  if (article.labels.length) {
    const labels = el("p", null, { class: "source-labels" });
    for (const label of article.labels) labels.appendChild(CFM.labelChip(label));
    li.appendChild(labels);
  }
  li.appendChild(article.text ? marked("blockquote", article.text, article.text_marks, { class: "source-text" })
    : el("p", "(no text stored)", { class: "note" }));
  return li;
}

function revisions(list) {
  const body = $("#revisions tbody");
  body.replaceChildren(...list.map((r) => {
    const tr = el("tr", null, { "data-revision": r.revision });
    tr.append(el("td", "r" + r.revision), el("td", when(r.created_at)),
      el("td", (r.reasons || []).join(", ") || "—"));
    return tr;
  }));
}

function deliveries(alerts) {
  const box = $("#deliveries");
  box.replaceChildren();
  if (!alerts.length) { box.appendChild(el("p", "No alert was queued for this incident.", { class: "note" })); return; }
  const byTarget = new Map();
  for (const a of alerts) byTarget.set(a.target, (byTarget.get(a.target) || []).concat([a]));
  for (const [target, rows] of byTarget) {
    const section = el("section", null, { class: "target", "data-target": target });
    section.appendChild(el("h4", target));
    const table = el("table");
    table.appendChild(el("thead")).appendChild(el("tr")).append(...["Kind", "Revision", "Status", "Attempts",
      "Queued", "Sent", "Last error"].map((h) => el("th", h)));
    const body = table.appendChild(el("tbody"));
    for (const a of rows) {
      const tr = el("tr", null, { "data-status": a.status });
      tr.append(el("td", a.kind), el("td", a.revision === null ? "—" : "r" + a.revision),
        el("td", a.status, { class: "status-" + a.status }), el("td", a.attempts), el("td", when(a.created_at)),
        el("td", a.sent_at ? when(a.sent_at) : "—"), el("td", a.last_error || ""));
      body.appendChild(tr);
    }
    section.appendChild(table);
    box.appendChild(section);
  }
}

async function load() {
  showError("");
  const path = "/api/incidents/" + encodeURIComponent(INCIDENT_ID);
  try {
    const [one, arts] = await Promise.all([api(path), api(path + "/articles")]);
    const inc = one.incident;
    document.title = "ceasefire-monitor: " + inc.id;
    $("#incident-id").textContent = inc.id;
    $("#json-link").href = path;
    $("#title").textContent = inc.title;
    $("#labels").replaceChildren(...inc.labels.map(CFM.labelChip));
    facts(inc);
    $("#evidence").replaceChildren(...(inc.evidence.length ? inc.evidence.map((p) => el("li", "“" + p + "”"))
      : [el("li", "no evidence phrases stored", { class: "note" })]));
    $("#source-count").textContent = `(${arts.articles.length})`;
    $("#sources").replaceChildren(...arts.articles.map(source));
    revisions(inc.revisions);
    deliveries(inc.alerts);
    $("#incident").hidden = false;
    await placeMap(inc);
    $("#status").textContent = "";
    document.body.dataset.loaded = "ok";
  } catch (err) {
    showError(err.message);
    $("#status").textContent = "error";
    document.body.dataset.loaded = "error";
  }
}

document.addEventListener("DOMContentLoaded", () => {
  CFM.wireAuth(load);
  load();
});
