"use strict";
// Campaign figures (counts only), refreshed every 10 s while signed in and in use: with no key
// or pointer touched for the officers' idle timeout, the refreshing stops, so a dashboard left
// open does not keep its session alive for ever (the next touch refreshes again, or asks to
// sign in once the server has ended the session).
const WARN = new Set(["overdue", "failed_jobs"]);
let timer = null;
let lastUsed = Date.now();
for (const kind of ["pointerdown", "keydown", "wheel"]) {
  document.addEventListener(kind, () => { lastUsed = Date.now(); }, {passive: true});
}
function unattended() {
  return Date.now() - lastUsed > texts.idle_timeout_seconds * 1000;
}

async function refresh() {
  let s;
  try { s = await call("GET", "/campaign/stats"); } catch (_) {
    clearInterval(timer); timer = null; return;  // the reason is shown in #error
  }
  $("stats").classList.remove("hidden");
  const when = formatTime(s.as_of);
  $("scope").dataset.scope = s.scope;
  $("scope").textContent = say(texts.scope,
    {scope: s.scope === "national" ? texts.national : s.scope, time: when});
  const number = new Intl.NumberFormat(lang);
  const values = {
    submitted_today: s.submitted_today, issued: s.by_status.issued || 0,
    in_review: s.by_status.in_review || 0, overdue: s.overdue,
    rejected: s.by_status.rejected || 0, mean_hours_to_issue: s.mean_hours_to_issue,
    failed_jobs: s.jobs.dead || 0,
  };
  $("cards").replaceChildren(...Object.entries(values).map(([k, v]) => {
    const card = document.createElement("div");
    card.className = "card" + (WARN.has(k) && v > 0 ? " warn" : "");
    card.dataset.figure = k;
    const b = document.createElement("b");
    b.textContent = v === null || v === undefined ? "—" : number.format(v);
    card.append(b, texts.cards[k]);
    return card;
  }));
  $("offices").tBodies[0].replaceChildren(...s.by_office.map(o => {
    const tr = document.createElement("tr");
    for (const v of [o.office, number.format(o.applications), number.format(o.issued)]) {
      const td = document.createElement("td"); td.textContent = v; tr.append(td);
    }
    return tr;
  }));
}
// --- charts: SVG drawn here from the series API (no library, no CDN, nothing inline) ---
const SVG = "http://www.w3.org/2000/svg";
function svgNode(name, attrs, text) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}
// Vertical bars: one group per label, one bar per series in it.
function columns(figure, labels, series) {
  const width = 560, height = 220, left = 34, bottom = 40;
  const max = Math.max(1, ...series.flatMap(s => s.values));
  const slot = (width - left) / Math.max(1, labels.length);
  const bar = Math.max(2, (slot - 4) / series.length);
  const svg = svgNode("svg", {viewBox: `0 0 ${width} ${height}`, role: "img",
                              "aria-labelledby": figure.querySelector("figcaption").id});
  svg.append(svgNode("line", {class: "axis", x1: left, y1: height - bottom, x2: width,
                              y2: height - bottom}));
  svg.append(svgNode("text", {x: 0, y: 12}, new Intl.NumberFormat(lang).format(max)));
  labels.forEach((label, i) => {
    series.forEach((s, j) => {
      const h = (height - bottom - 16) * s.values[i] / max;
      const rect = svgNode("rect", {class: s.cls, x: left + i * slot + 2 + j * bar,
        y: height - bottom - h, width: bar, height: h});
      rect.append(svgNode("title", {}, `${label} · ${s.name}: ${s.values[i]}`));
      svg.append(rect);
    });
    if (labels.length <= 16 || i % Math.ceil(labels.length / 16) === 0) {
      svg.append(svgNode("text", {x: left + i * slot + 2, y: height - bottom + 14}, label));
    }
  });
  const legend = document.createElement("p");
  legend.className = "legend";
  legend.append(...series.map(s => {
    const span = document.createElement("span"); span.className = s.cls; span.textContent = s.name;
    return span;
  }));
  figure.replaceChildren(figure.querySelector("figcaption"), svg, legend);
}
// Horizontal bars with their numbers: one per label.
function bars(figure, entries) {
  const width = 560, row = 26, left = 210;
  const max = Math.max(1, ...entries.map(e => e.value));
  const svg = svgNode("svg", {viewBox: `0 0 ${width} ${Math.max(1, entries.length) * row + 4}`,
    role: "img", "aria-labelledby": figure.querySelector("figcaption").id});
  if (!entries.length) svg.append(svgNode("text", {x: 0, y: 16}, texts.nothing));
  entries.forEach((e, i) => {
    const w = (width - left - 50) * e.value / max;
    svg.append(svgNode("text", {x: 0, y: i * row + 17}, e.label));
    const rect = svgNode("rect", {class: e.cls || "bar", x: left, y: i * row + 4, width: w,
                                  height: row - 8, ...(e.code ? {"data-code": e.code} : {})});
    rect.append(svgNode("title", {}, `${e.label}: ${e.value}`));
    svg.append(rect);
    svg.append(svgNode("text", {x: left + w + 6, y: i * row + 17},
                       new Intl.NumberFormat(lang).format(e.value)));
  });
  figure.replaceChildren(figure.querySelector("figcaption"), svg);
}
function filterQuery() {
  const form = new FormData($("filters"));
  const q = new URLSearchParams();
  for (const k of ["office", "from", "to"]) if (form.get(k)) q.set(k, form.get(k));
  return q.toString();
}
async function charts() {
  const query = filterQuery();
  const s = await call("GET", "/campaign/series" + (query ? "?" + query : ""));
  $("csv").href = "/api/v1/campaign/export.csv" + (query ? "?" + query : "");
  $("period").textContent = say(texts.period, {first: formatDate(s.first_day),
    last: formatDate(s.last_day), office: s.office || texts.national});
  const kinds = ["submitted", "issued", "activated", "refused"];
  const byDay = Object.fromEntries(s.days.map(d => [d, {}]));
  const byOffice = {};
  for (const r of s.per_day) {
    for (const k of kinds) {
      byDay[r.day][k] = (byDay[r.day][k] || 0) + r[k];
      byOffice[r.office] = byOffice[r.office] || {};
      byOffice[r.office][k] = (byOffice[r.office][k] || 0) + r[k];
    }
  }
  const short = (d) => d.slice(5);  // MM-DD under each day
  columns($("chart-days"), s.days.map(short), kinds.map(k => ({name: texts.series[k], cls: k,
    values: s.days.map(d => byDay[d][k] || 0)})));
  const offices = Object.keys(byOffice).sort();
  columns($("chart-offices"), offices, ["submitted", "issued"].map(k => ({
    name: texts.series[k], cls: k, values: offices.map(o => byOffice[o][k] || 0)})));
  bars($("chart-refused"), Object.entries(s.refused_by_reason).map(([code, n]) => ({
    label: refusalLabel(code), value: n, cls: "refused", code})));
  bars($("chart-deadline"), Object.entries(s.deadline).map(([k, n]) => ({
    label: texts.deadline[k], value: n, cls: k})));
  const b = s.processing_hours.bounds;
  bars($("chart-hours"), s.processing_hours.counts.map((n, i) => ({
    label: i < b.length ? say(texts.hours.le, {hours: b[i]})
                        : say(texts.hours.gt, {hours: b[b.length - 1]}), value: n})));
  $("chart-days").dataset.loaded = "yes";
}
$("filters").addEventListener("submit", async (e) => { e.preventDefault(); await charts(); });

signIn(async () => {
  if ($("who").dataset.role === "supervisor") $("filters").office.disabled = true;
  await refresh();
  await charts();
  if (timer === null) timer = setInterval(() => { if (!unattended()) refresh(); }, 10000);
});
