"use strict";
// Held applications: the application, the immigration database's record of the applicant
// (data and photo, for every kind of hold) and, for a possible second identity, the other
// application, side by side, to decide.
const FIELDS = ["full_name", "date_of_birth", "sex", "nationality", "passport_number",
                "passport_expiry", "card_number", "card_expiry", "office_code", "status"];
// The fields the immigration database holds, compared with the application's.
const COMPARED = FIELDS.slice(0, 8);

function rows(table, triples) {
  table.replaceChildren(...triples.map(([k, v, cls, field]) => {
    const tr = document.createElement("tr");
    for (const text of [k, v]) {
      const td = document.createElement("td"); td.textContent = text ?? ""; tr.append(td);
    }
    if (cls) tr.className = cls;
    if (field) tr.dataset.field = field;
    return tr;
  }));
}
function shown(record, k) {
  const v = record[k];
  if (v === null || v === undefined) return "";
  if (k === "status") return texts.registry_statuses[v] || statusLabel(v);
  if (["date_of_birth", "passport_expiry", "card_expiry"].includes(k)) return formatDate(v);
  return v;
}
// Exactly as written: a name spelt otherwise (a letter, a space, the case) is what a
// data-mismatch hold is about, so it is marked.
function same(a, b) { return String(a ?? "").trim() === String(b ?? "").trim(); }
async function portrait(side, reviewId, which) {
  // Through fetch with the session cookie (each read is audited), shown from a blob: URL, so
  // that a missing photo shows the API's reason instead of a broken image.
  const r = await fetch(`${api}/reviews/${reviewId}/portraits/${which}`,
                        {credentials: "same-origin"});
  const img = side.querySelector("img");
  if (!r.ok) {
    const body = await r.json().catch(() => ({}));
    img.classList.add("hidden");
    const p = side.querySelector(".missing");
    p.textContent = body.error ? body.error.message : texts.no_portrait;
    p.classList.remove("hidden");
    return;
  }
  img.src = URL.createObjectURL(await r.blob());
}
function score(c) {
  if (c.score === null || c.score === undefined) return "";
  const value = Number(c.score).toFixed(3);
  return " (" + (c.threshold === null || c.threshold === undefined
    ? say(texts.score, {score: value})
    : say(texts.score_threshold, {score: value, threshold: c.threshold})) + ")";
}
function render(review) {
  const node = $("review-template").content.firstElementChild.cloneNode(true);
  node.dataset.id = review.id;
  node.querySelector(".reasons").textContent = (review.reasons || []).map(checkLabel).join(" · ");
  const held = review.application;
  const application = node.querySelector("[data-side=application]");
  rows(application.querySelector(".record"), FIELDS.map(k => [texts.fields[k], shown(held, k),
    "", k]));
  portrait(application, review.id, "application");
  // The immigration database's record, whatever the hold: fields that differ are marked.
  const registry = node.querySelector("[data-side=registry]");
  if (review.registry) {
    rows(registry.querySelector(".record"), FIELDS.filter(k => k in review.registry).map(k => {
      const differs = COMPARED.includes(k) && !same(review.registry[k], held[k]);
      return [texts.fields[k], shown(review.registry, k) + (differs ? ` (${texts.differs})` : ""),
              differs ? "differs" : "", k];
    }));
  } else {
    const p = registry.querySelector(".missing");
    p.textContent = texts.no_record;
    p.classList.remove("hidden");
  }
  portrait(registry, review.id, "registry");
  const candidate = node.querySelector("[data-side=candidate]");
  if (review.candidate) {
    rows(candidate.querySelector(".record"), FIELDS.map(k => [texts.fields[k],
      shown(review.candidate, k), "", k]));
    portrait(candidate, review.id, "candidate");
  } else {
    // No possible second identity: the decision is whether this is the person on file.
    candidate.remove();
    node.querySelector(".pair").classList.add("two");
    node.querySelector("button[value=approve]").textContent = texts.approve_registry;
    node.querySelector("button[value=reject]").textContent = texts.reject_registry;
  }
  const checks = node.querySelector(".checks");
  rows(checks, review.checks.map(c => [
    checkLabel(c.name),
    outcomeLabel(c.outcome) + (c.reason ? " — " + c.reason : "") + score(c),
    outcomeClass(c.outcome)]));
  review.checks.forEach((c, i) => { checks.rows[i].dataset.check = c.name; });
  node.querySelector(".decide").addEventListener("submit", async (e) => {
    e.preventDefault();
    const decision = e.submitter.value;
    const note = new FormData(e.target).get("note");
    const done = await call("POST", `/reviews/${review.id}/decision`, {decision, note});
    const p = document.createElement("p");
    p.className = "decided " + (decision === "approve" ? "ok" : "bad");
    p.dataset.status = done.application.status;
    p.textContent = say(decision === "approve" ? texts.approved : texts.rejected,
      {name: done.application.full_name, status: statusLabel(done.application.status)});
    p.setAttribute("role", "status");
    p.tabIndex = -1;
    node.replaceChildren(p);
    p.focus();  // the button pressed is gone with the form: the outcome takes the focus
  });
  return node;
}
async function load() {
  const reviews = await call("GET", "/reviews");
  $("reviews").replaceChildren(...reviews.map(render));
  $("empty").classList.toggle("hidden", reviews.length > 0);
}
signIn(load);
