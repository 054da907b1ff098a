"use strict";
// Held applications beside the identity they may duplicate (or the photo on file), to decide.
const FIELDS = ["full_name", "date_of_birth", "nationality", "passport_number", "office_code",
                "status"];

function rows(table, triples) {
  table.replaceChildren(...triples.map(([k, v, cls]) => {
    const tr = document.createElement("tr");
    for (const text of [k, v]) {
      const td = document.createElement("td"); td.textContent = text ?? ""; tr.append(td);
    }
    if (cls) tr.className = cls;
    return tr;
  }));
}
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
  for (const which of ["application", "candidate"]) {
    const side = node.querySelector(`[data-side=${which}]`);
    const record = review[which];
    if (!record) {
      // No possible duplicate: the face did not match the file, so compare with the file's photo.
      side.dataset.side = "registry";
      node.querySelector("button[value=approve]").textContent = texts.approve_registry;
      node.querySelector("button[value=reject]").textContent = texts.reject_registry;
      side.querySelector("h3").textContent = texts.registry_heading;
      side.querySelector("img").alt = texts.registry_alt;
      portrait(side, review.id, "registry");
      continue;
    }
    rows(side.querySelector(".record"), FIELDS.map(k => [texts.fields[k],
      k === "status" ? statusLabel(record[k])
        : (k === "date_of_birth" && record[k] ? formatDate(record[k]) : record[k])]));
    portrait(side, review.id, which);
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
    node.replaceChildren(p);
  });
  return node;
}
async function load() {
  const reviews = await call("GET", "/reviews");
  $("reviews").replaceChildren(...reviews.map(render));
  $("empty").classList.toggle("hidden", reviews.length > 0);
}
signIn(load);
