"use strict";
// Locks asked by other agencies: an officer records one, a second officer (a supervisor)
// approves or refuses it, an officer records that the agency lifted its ground.
function role() { return $("who").dataset.role; }

function facts(list, pairs) {
  list.replaceChildren(...pairs.filter(([, v]) => v).flatMap(([k, v]) => {
    const dt = document.createElement("dt"); dt.textContent = k;
    const dd = document.createElement("dd"); dd.textContent = v;
    return [dt, dd];
  }));
}
function renderLock(lock) {
  const node = $("lock-template").content.firstElementChild.cloneNode(true);
  node.dataset.id = lock.id;
  node.dataset.status = lock.status;
  node.dataset.eid = lock.eid_number;
  node.querySelector("h3").textContent =
    `${lock.eid_number} — ${texts.grounds[lock.ground] || lock.ground}`;
  const f = texts.facts;
  facts(node.querySelector(".facts"), [
    [f.status, texts.lock_statuses[lock.status] || lock.status],
    [f.account, texts.account_statuses[lock.account_status] || lock.account_status],
    [f.agency, lock.agency], [f.reference, lock.reference],
    [f.requested_at, formatTime(lock.requested_at)], [f.note, lock.request_note],
    [f.decided_at, formatTime(lock.decided_at)], [f.decision_note, lock.decision_note],
  ]);
  const decide = node.querySelector(".decide");
  const lift = node.querySelector(".lift");
  if (lock.status === "requested" && role() === "supervisor") {
    decide.classList.remove("hidden");
    decide.addEventListener("submit", async (e) => {
      e.preventDefault();
      const note = new FormData(e.target).get("note");
      const decision = e.submitter.value;
      await call("POST", `/agency-locks/${lock.id}/decision`, {decision, note});
      await done(lock, decision === "approve" ? "active" : "refused");
    });
  }
  if (lock.status === "active" && role() !== "admin") {
    lift.classList.remove("hidden");
    lift.addEventListener("submit", async (e) => {
      e.preventDefault();
      const body = Object.fromEntries(new FormData(e.target).entries());
      await call("POST", `/agency-locks/${lock.id}/lifting`, body);
      await done(lock, "lifted");
    });
  }
  return node;
}
function closedRow(lock) {
  const tr = document.createElement("tr");
  tr.dataset.id = lock.id;
  tr.dataset.status = lock.status;
  for (const v of [lock.eid_number, texts.grounds[lock.ground] || lock.ground, lock.agency,
                   texts.lock_statuses[lock.status] || lock.status,
                   formatTime(lock.lifted_at || lock.decided_at)]) {
    const td = document.createElement("td"); td.textContent = v; tr.append(td);
  }
  return tr;
}
async function load() {
  const [open, closed] = await Promise.all([
    call("GET", "/agency-locks?status=open"), call("GET", "/agency-locks?status=closed")]);
  for (const id of ["open-locks", "closed-locks"]) $(id).classList.remove("hidden");
  $("new-lock").classList.toggle("hidden", role() === "admin");
  $("locks").replaceChildren(...open.map(renderLock));
  $("no-locks").classList.toggle("hidden", open.length > 0);
  $("closed").tBodies[0].replaceChildren(...closed.map(closedRow));
}
// The lock's form is gone with the reload: its outcome takes the focus (and is announced), so
// the keyboard continues from there instead of from the top of the page.
async function done(lock, status) {
  await load();
  const p = $("decided");
  p.textContent = `${lock.eid_number} — ${texts.lock_statuses[status] || status}`;
  p.focus();
}
$("lock-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  $("recorded").textContent = "";
  const body = Object.fromEntries(new FormData(e.target).entries());
  const lock = await call("POST", "/agency-locks", body);
  e.target.reset();
  $("recorded").textContent = say(texts.recorded, {eid: lock.eid_number});
  await load();
});
signIn(load);
