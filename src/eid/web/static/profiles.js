"use strict";
// The person's digital profile: the officer states why before anything shows; the search and
// each opening carry that reason to the API, which records it in the audit log.
let reason = null;

function cells(tr, values) {
  for (const v of values) {
    const td = document.createElement("td"); td.textContent = v ?? ""; tr.append(td);
  }
  return tr;
}
function facts(list, pairs) {
  list.replaceChildren(...pairs.flatMap(([k, v]) => {
    const dt = document.createElement("dt"); dt.textContent = k;
    const dd = document.createElement("dd"); dd.textContent = v ?? "";
    return [dt, dd];
  }));
}
function isoDate(value) { return value ? formatDate(String(value).slice(0, 10)) : ""; }

function show(p) {
  $("profile").classList.remove("hidden");
  $("profile").dataset.ref = p.person_ref;
  $("profile-name").textContent = p.full_name;
  $("opened").textContent = say(texts.opened, {time: formatTime(p.opened_at)});
  facts($("identity"), [
    [texts.facts.date_of_birth, isoDate(p.date_of_birth)],
    [texts.facts.sex, texts.sexes[p.sex] || p.sex], [texts.facts.nationality, p.nationality],
    [texts.facts.registry_status, p.registry_status
      ? (texts.registry_statuses[p.registry_status] || p.registry_status) : texts.no_record],
  ]);
  $("documents").tBodies[0].replaceChildren(...p.documents.map(d => cells(
    document.createElement("tr"),
    [texts.sources[d.source], d.seen_at ? formatTime(d.seen_at) : "", d.passport_number,
     isoDate(d.passport_expiry), `${d.card_number} (${d.card_kind})`, isoDate(d.card_expiry)])));
  $("no-account").classList.toggle("hidden", p.accounts.length > 0);
  $("accounts").tBodies[0].replaceChildren(...p.accounts.map(a => {
    const tr = cells(document.createElement("tr"), [
      a.eid_number, String(a.level), texts.account_statuses[a.status] || a.status,
      a.lock_grounds.map(g => texts.grounds[g] || g).join(", "),
      a.agency_locks.map(l => `${l.agency} ${l.reference}: ${texts.lock_statuses[l.status]}`)
        .join("; "),
      formatTime(a.activated_at)]);
    tr.dataset.eid = a.eid_number;
    tr.dataset.status = a.status;
    return tr;
  }));
  $("no-application").classList.toggle("hidden", p.applications.length > 0);
  $("applications").replaceChildren(...p.applications.map(a => {
    const box = document.createElement("div");
    box.className = "application";
    box.dataset.status = a.status;
    const h = document.createElement("h4");
    h.textContent = say(texts.application_heading, {when: formatTime(a.created_at),
      office: a.office_code || "app", level: a.level, status: statusLabel(a.status)});
    box.append(h);
    if (a.legal_deadline) {
      const d = document.createElement("p");
      d.textContent = say(texts.deadline, {date: isoDate(a.legal_deadline)});
      box.append(d);
    }
    if (a.status === "rejected") {
      const r = document.createElement("p");
      r.className = "bad refusal";
      r.textContent = say(texts.refused_because, {reason: refusalLabel(a.rejection_code)});
      box.append(r);
    }
    const table = document.createElement("table");
    table.className = "checks";
    for (const c of a.checks) {
      const tr = cells(document.createElement("tr"), [checkLabel(c.name),
        outcomeLabel(c.outcome) + (c.reason ? " — " + c.reason : "")]);
      tr.className = outcomeClass(c.outcome);
      tr.dataset.check = c.name;
      table.append(tr);
    }
    box.append(table);
    return box;
  }));
}
// The opened profile takes the focus (its heading, the person's name): the keyboard and a
// screen reader continue with it instead of staying on the search button above.
async function openProfile(ref) {
  show(await call("POST", "/profiles/opening", {person_ref: ref, ...reason}));
  $("profile-name").focus();
}
$("search").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = Object.fromEntries(new FormData(e.target).entries());
  reason = {purpose: form.purpose, note: form.note};
  $("profile").classList.add("hidden");
  const found = await call("POST", "/profiles/search", form);
  $("none").classList.toggle("hidden", found.length > 0);
  if (found.length === 1) {
    $("candidates").replaceChildren();
    return openProfile(found[0].person_ref);
  }
  $("candidates").replaceChildren(...found.map(c => {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = texts.open;
    b.addEventListener("click", () => openProfile(c.person_ref));
    li.append(`${c.full_name} · ${isoDate(c.date_of_birth)} · ${c.nationality} `, b);
    return li;
  }));
});
signIn(async () => { $("find").classList.remove("hidden"); });
