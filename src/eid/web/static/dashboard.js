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
signIn(async () => {
  await refresh();
  if (timer === null) timer = setInterval(() => { if (!unattended()) refresh(); }, 10000);
});
