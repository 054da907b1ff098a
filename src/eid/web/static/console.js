"use strict";
// The officer console: TK01 at the counter, then capture, checks, phone, consent, submission.
let appId = null;

function show(ids) { for (const id of ids) $(id).classList.remove("hidden"); }
function nested(form) {
  const out = {};
  for (const [key, value] of new FormData(form).entries()) {
    if (value === "") continue;
    const parts = key.split(".");
    let at = out;
    while (parts.length > 1) { const p = parts.shift(); at = at[p] = at[p] || {}; }
    at[parts[0]] = value;
  }
  if (out.passport) out.passport.type = "P";
  return out;
}
async function refresh() {
  const a = await call("GET", `/applications/${appId}`);
  $("app-id").textContent = a.id;
  const status = $("status");
  status.dataset.status = a.status;
  status.dataset.phoneVerified = a.phone_verified ? "yes" : "no";
  status.textContent = statusLabel(a.status) + (a.phone_verified ? ` · ☎ ✓ ${texts.phone_verified}` : "");
  $("checks").replaceChildren(...a.checks.map(c => {
    const tr = document.createElement("tr");
    tr.dataset.check = c.name;
    tr.dataset.outcome = c.outcome;
    for (const v of [checkLabel(c.name), outcomeLabel(c.outcome), c.reason || ""]) {
      const td = document.createElement("td"); td.textContent = v; tr.append(td);
    }
    tr.className = outcomeClass(c.outcome);
    return tr;
  }));
  if (a.legal_deadline) {
    $("deadline-date").textContent = formatDate(a.legal_deadline);
    $("deadline").classList.remove("hidden");
  }
  if (a.eid_number) {
    $("eid-number").textContent = a.eid_number;
    $("eid-box").classList.remove("hidden");
  }
  return a;
}
function describe(q) {
  const what = q.kind === "portrait" ? texts.portrait : say(texts.fingerprint, {position: q.position});
  const verdict = q.acceptable ? `✓ ${texts.acceptable}`
    : `✗ ${say(texts.retake, {issues: q.issues.map(i => i.message).join(" ")})}`;
  $("quality").dataset.kind = q.kind + (q.position ? `-${q.position}` : "");
  $("quality").dataset.acceptable = q.acceptable ? "yes" : "no";
  return `${what}: ${verdict} (${statusLabel(q.application_status)})`;
}
async function waitWhile(status) {
  for (let i = 0; i < 60; i++) {
    const a = await refresh();
    if (a.status !== status) break;
    await new Promise(r => setTimeout(r, 500));
  }
}
signIn(() => show(["form-box"]));
$("tk01").addEventListener("submit", async (e) => {
  e.preventDefault();
  const a = await call("POST", "/applications", nested(e.target));
  appId = a.id; await refresh(); show(["app-box"]);
});
$("portrait").addEventListener("change", async (e) => {
  const q = await call("PUT", `/applications/${appId}/portrait`, e.target.files[0], true);
  $("quality").textContent = describe(q); await refresh();
});
$("finger").addEventListener("change", async (e) => {
  const pos = $("finger-pos").value;
  const q = await call("PUT", `/applications/${appId}/fingerprints/${pos}`, e.target.files[0], true);
  $("quality").textContent = describe(q); e.target.value = ""; await refresh();
});
$("verify").addEventListener("click", async () => {
  await call("POST", `/applications/${appId}/verification`);
  await waitWhile("captured");
});
$("send-code").addEventListener("click", async () => {
  const r = await call("POST", `/applications/${appId}/phone-verification`);
  $("quality").textContent = say(texts.code_sent, {phone: r.sent_to});
});
$("confirm-code").addEventListener("click", async () => {
  await call("POST", `/applications/${appId}/phone-verification/confirmation`, {code: $("code").value});
  await refresh();
});
$("consent").addEventListener("click", async () => {
  // The consent text read to the applicant: Vietnamese, or the English translation.
  const language = document.querySelector("[name=language]").value === "vi" ? "vi" : "en";
  await call("POST", `/applications/${appId}/consent`,
             {by: $("consent-by").value, text_version: "2025-07-v1", language});
  await refresh();
});
$("submit").addEventListener("click", async () => {
  await call("POST", `/applications/${appId}/submission`);
  await waitWhile("submitted");
});
