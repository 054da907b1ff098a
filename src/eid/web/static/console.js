"use strict";
// The officer console: the office's open applications, TK01 filled from the MRZ and the
// immigration database, capture, checks, phone, consent shown to the applicant, submission and
// the receipt. The application being worked on is named in the address (?application=<id>),
// so a reload, or another officer's browser, resumes it where it stopped.
let appId = null;
let current = null;      // the application as last read
let editing = false;     // the form corrects the open application instead of creating one
let mrzLines = null;     // the passport's two MRZ lines, checked again by the server with TK01
let mrzRead = "";        // the zone last read, so a reader's trailing keystrokes do not re-read
let consentLanguage = null;
let cancelling = null;
const tk01 = $("tk01");
const FINGER_ORDER = [2, 7, 1, 6, 3, 4, 5, 8, 9, 10];
// The language of notifications and of the consent text, guessed from the nationality for the
// officer to confirm; anyone else reads English.
const LANGUAGE_OF = {VNM: "vi", KOR: "ko", PRK: "ko", CHN: "zh", TWN: "zh", HKG: "zh", MAC: "zh",
                     SGP: "zh", JPN: "ja"};

function show(ids) { for (const id of ids) $(id).classList.remove("hidden"); }
function hide(ids) { for (const id of ids) $(id).classList.add("hidden"); }
function field(name) { return tk01.querySelector(`[name="${name}"]`); }

// --- refusals beside what they concern, announced (role=alert), cleared on the next try ---
function clearErrors(scope) {
  for (const node of scope.querySelectorAll(".field-error")) node.remove();
  for (const node of scope.querySelectorAll("[aria-invalid]")) {
    node.removeAttribute("aria-invalid");
    const described = (node.getAttribute("aria-describedby") || "").split(" ")
      .filter(id => id && !id.startsWith("err-")).join(" ");
    if (described) node.setAttribute("aria-describedby", described);
    else node.removeAttribute("aria-describedby");
  }
  for (const node of scope.querySelectorAll(".action-error")) node.textContent = "";
}
function markField(input, message) {
  const id = `err-${input.name || input.id}`.replace(/\W/g, "-");
  let note = document.getElementById(id);
  if (!note) {
    note = document.createElement("span");
    note.id = id;
    note.className = "field-error";
    note.setAttribute("role", "alert");
    input.after(note);
  }
  note.textContent = message;
  input.setAttribute("aria-invalid", "true");
  const described = (input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
  if (!described.includes(id)) input.setAttribute("aria-describedby", [...described, id].join(" "));
}
// A refusal of the TK01: each named field gets its own message; the rest go above the button.
function onForm(e, message) {
  const problems = (e && e.details && e.details.errors) || [];
  let placed = 0;
  for (const p of problems) {
    const input = field(p.field);
    if (input) { markField(input, p.problem); placed++; }
  }
  const named = e && e.details && e.details.field && field(e.details.field);
  if (!problems.length && named) { markField(named, message); placed++; }
  if (e && e.code && e.code.startsWith("MRZ_")) { markField($("mrz"), message); placed++; }
  if (!placed) $("form-error").textContent = message;
  const first = tk01.querySelector("[aria-invalid=true]") ||
                (e && e.code && e.code.startsWith("MRZ_") ? $("mrz") : null);
  if (first) first.focus();
}
// A refusal in its box (role=alert, so it is read out); the field it concerns, if any, marked
// and focused, so the officer corrects it without looking for it.
function near(boxId, input) {
  return (e, message) => {
    $(boxId).textContent = message;
    if (input) {
      input.setAttribute("aria-invalid", "true");
      if (input.getClientRects().length) input.focus();
    }
  };
}

// --- the form ---
function nested(form) {
  const out = {};
  for (const [key, value] of new FormData(form).entries()) {
    if (value === "") continue;
    const parts = key.split(".");
    let at = out;
    while (parts.length > 1) { const p = parts.shift(); at = at[p] = at[p] || {}; }
    at[parts[0]] = value;
  }
  if (out.passport) {
    out.passport.type = out.passport.type || "P";
    if (mrzLines) out.passport.mrz = mrzLines;
  }
  return out;
}
function setField(name, value, prefilled) {
  const input = field(name);
  if (!input || value === undefined || value === null) return;
  input.value = value;
  input.classList.toggle("prefilled", Boolean(prefilled));
}
function fillForm(a, prefilled) {
  setField("full_name", a.full_name, prefilled);
  setField("date_of_birth", a.date_of_birth, prefilled);
  setField("sex", a.sex, prefilled);
  setField("nationality", a.nationality, prefilled);
  for (const [k, v] of Object.entries(a.passport || {})) {
    if (k !== "mrz" && k !== "type") setField(`passport.${k}`, v, prefilled);
  }
  for (const [k, v] of Object.entries(a.residence_card || {})) {
    setField(`residence_card.${k}`, v, prefilled);
  }
}
async function readMrz() {
  const text = $("mrz").value;
  mrzRead = text.replace(/\s+/g, "").toUpperCase();
  clearErrors($("prefill"));
  $("prefill-note").textContent = "";
  const zone = await call("POST", "/mrz", {mrz: text}, false, near("mrz-error", $("mrz")));
  const passport = zone.layout === "TD3" && !zone.visa;
  mrzLines = passport ? zone.lines : null;
  setField("full_name", zone.full_name, true);
  setField("date_of_birth", zone.date_of_birth, true);
  setField("sex", zone.sex, true);
  setField("nationality", zone.nationality, true);
  field("language").value = LANGUAGE_OF[zone.nationality] || "en";
  if (zone.visa) return;  // a visa's number is not the passport's
  setField("passport.number", zone.number, true);
  setField("passport.issuing_state", zone.issuing_state, true);
  setField("passport.expiry_date", zone.expiry_date, true);
  await lookUp({passport: zone.number});
}
async function lookUp(by) {
  const query = new URLSearchParams(by).toString();
  try {
    const person = await call("GET", `/registry/lookup?${query}`, undefined, false,
                              near("mrz-error"));
    fillForm(person, true);
    field("language").value = LANGUAGE_OF[person.nationality] || field("language").value;
    $("prefill-note").textContent = texts.from_registry;
    const next = tk01.querySelector("[name=address]");
    if (!next.value) next.focus();
  } catch (_) {
    if (by.passport) $("prefill-note").textContent = texts.from_mrz;
  }
}
$("mrz").addEventListener("input", () => {
  // A document reader types the whole zone at once: read it as soon as it is complete.
  const typed = $("mrz").value.replace(/\s+/g, "").toUpperCase();
  if ([88, 72, 90].includes(typed.length) && typed !== mrzRead) readMrz().catch(() => {});
});
$("read-mrz").addEventListener("click", () => readMrz().catch(() => {}));
$("lookup").addEventListener("click", () => {
  clearErrors($("prefill"));
  lookUp({residence_card: $("lookup-card").value.trim()});
});
tk01.addEventListener("submit", async (e) => {
  e.preventDefault();
  clearErrors($("form-box"));
  const body = nested(tk01);
  if (editing) {
    body.integrations = current.integrations || {};  // not on the form: kept as declared
    const r = await call("PUT", `/applications/${appId}/tk01`, body, false, onForm);
    $("quality").textContent = r.changed.length
      ? say(texts.corrected, {fields: r.changed.join(", ")}) : texts.nothing_corrected;
    await openApplication(appId);
  } else {
    const a = await call("POST", "/applications", body, false, onForm);
    await openApplication(a.id);
  }
});

// --- the application at the counter ---
function remember(id) {
  const url = new URL(location.href);
  if (id) url.searchParams.set("application", id); else url.searchParams.delete("application");
  history.replaceState(null, "", url);
}
async function openApplication(id) {
  appId = id;
  editing = false;
  remember(id);
  await refresh();
  hide(["form-box", "work-box", "cancel-box"]);
  show(["app-box"]);
  $("app-box").scrollIntoView();
  keepFocus($("app-title"));  // the button pressed (create, resume, back) is hidden now
}
function markCaptures(a) {
  const done = new Set(a.captures.filter(c => c.acceptable || c.exception_reason)
    .map(c => `${c.kind}-${c.position}`));
  for (const li of $("captures").children) {
    const yes = done.has(li.dataset.capture);
    li.dataset.done = yes ? "yes" : "no";
    li.title = yes ? texts.captured_mark : texts.missing_mark;
  }
  for (const finger of document.querySelectorAll("#hands [data-finger]")) {
    finger.dataset.done = done.has(`fingerprint-${finger.dataset.finger}`) ? "yes" : "no";
  }
  return done;
}
// The hand diagram shows which finger the next capture is for. It is a radio group: one tab
// stop (the chosen finger), the arrow keys move along the hands as they lie (left little finger
// to right little finger) and choose, Enter and Space choose the focused one.
const HANDS_ORDER = ["10", "9", "8", "7", "6", "1", "2", "3", "4", "5"];
function showSelectedFinger() {
  const chosen = $("finger-pos").value;
  for (const finger of document.querySelectorAll("#hands [data-finger]")) {
    const yes = finger.dataset.finger === chosen;
    finger.dataset.selected = yes ? "yes" : "no";
    finger.setAttribute("aria-checked", yes ? "true" : "false");
    finger.setAttribute("tabindex", yes ? "0" : "-1");
  }
}
function nextFinger(done) {
  const select = $("finger-pos");
  if (!done.has(`fingerprint-${select.value}`)) return;
  const next = FINGER_ORDER.find(p => !done.has(`fingerprint-${p}`));
  if (next) select.value = String(next);
  showSelectedFinger();
}
function chooseFinger(position, focus) {
  $("finger-pos").value = position;
  showSelectedFinger();
  if (focus) document.querySelector(`#hands [data-finger="${position}"]`).focus();
}
const ARROWS = {ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1};
for (const finger of document.querySelectorAll("#hands [data-finger]")) {
  finger.addEventListener("click", () => chooseFinger(finger.dataset.finger, false));
  finger.addEventListener("keydown", (e) => {
    const at = HANDS_ORDER.indexOf(finger.dataset.finger);
    let to = null;
    if (e.key === "Enter" || e.key === " ") to = at;
    else if (e.key in ARROWS) to = (at + ARROWS[e.key] + HANDS_ORDER.length) % HANDS_ORDER.length;
    else if (e.key === "Home") to = 0;
    else if (e.key === "End") to = HANDS_ORDER.length - 1;
    if (to === null) return;
    e.preventDefault();
    chooseFinger(HANDS_ORDER[to], to !== at);
  });
}
$("finger-pos").addEventListener("change", showSelectedFinger);
showSelectedFinger();
async function showConsent(a) {
  if (consentLanguage && $("consent-text").dataset.app === a.id) return;
  const r = await call("GET", `/consent-texts/2025-07-v1?language=${encodeURIComponent(a.language)}`,
                       undefined, false, near("submit-error"));
  const box = $("consent-text");
  box.lang = r.language;
  box.dataset.app = a.id;
  box.replaceChildren(...r.text.split("\n\n").map(t => {
    const p = document.createElement("p"); p.textContent = t; return p;
  }));
  consentLanguage = r.language;
}
async function refresh() {
  const a = await call("GET", `/applications/${appId}`, undefined, false, near("check-error"));
  current = a;
  $("app-id").textContent = a.id;
  $("app-name").textContent = a.full_name;
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
  nextFinger(markCaptures(a));
  $("consent-sheet").href = `/console/applications/${a.id}/consent`;
  $("receipt-link").href = `/console/applications/${a.id}/receipt`;
  if (["verified", "consented"].includes(a.status)) {
    show(["consent-box"]);
    await showConsent(a);
  } else {
    hide(["consent-box"]);
  }
  $("deadline").classList.toggle("hidden", !a.legal_deadline);
  if (a.legal_deadline) $("deadline-date").textContent = formatDate(a.legal_deadline);
  $("eid-box").classList.toggle("hidden", !a.eid_number);
  if (a.eid_number) $("eid-number").textContent = a.eid_number;
  $("receipt-box").classList.toggle("hidden", !["submitted", "issued"].includes(a.status));
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
  for (let i = 0; i < 120; i++) {
    const a = await refresh();
    if (a.status !== status) break;
    await new Promise(r => setTimeout(r, 500));
  }
}
// A second capture of the same kind and position replaces the first: the officer says so.
function mayReplace(key, input) {
  const taken = current && current.captures.some(c => `${c.kind}-${c.position}` === key
                                                  && (c.acceptable || c.exception_reason));
  if (taken && !window.confirm(texts.replace_capture)) { input.value = ""; return false; }
  return true;
}
async function uploadPortrait(image, input) {
  const q = await call("PUT", `/applications/${appId}/portrait`, image, true,
                       near("capture-error", input));
  $("quality").textContent = describe(q); await refresh();
}
$("portrait").addEventListener("change", async (e) => {
  clearErrors($("app-box"));
  if (!e.target.files.length || !mayReplace("portrait-0", e.target)) return;
  const file = e.target.files[0];
  e.target.value = "";
  await uploadPortrait(file, e.target);
});

// --- the portrait from the counter's camera: preview, take, retake, use ---
let stream = null;
// Keyboard: each step's button hides the one pressed, so the focus moves to the next step's
// (take -> use, retake -> take); closing (its button, Escape, or using the photo) returns it
// to the button that opened the camera.
function stopCamera() {
  const inside = $("camera-box").contains(document.activeElement);
  if (stream) for (const track of stream.getTracks()) track.stop();
  stream = null;
  $("camera-video").srcObject = null;
  hide(["camera-box"]);
  if (inside) $("camera-start").focus();
}
function previewing(live) {
  $("camera-video").classList.toggle("hidden", !live);
  $("camera-still").classList.toggle("hidden", live);
  $("camera-shoot").classList.toggle("hidden", !live);
  $("camera-retake").classList.toggle("hidden", live);
  $("camera-use").classList.toggle("hidden", live);
  $(live ? "camera-shoot" : "camera-use").focus();
}
$("camera-start").addEventListener("click", async () => {
  clearErrors($("app-box"));
  try {
    stream = await navigator.mediaDevices.getUserMedia({video: {width: 1280, height: 960}});
  } catch (err) {
    $("capture-error").textContent = say(texts.camera_unavailable, {reason: err.name || err});
    return;
  }
  $("camera-video").srcObject = stream;
  show(["camera-box"]);
  previewing(true);
});
$("camera-shoot").addEventListener("click", () => {
  const video = $("camera-video"), still = $("camera-still");
  still.width = video.videoWidth; still.height = video.videoHeight;
  still.getContext("2d").drawImage(video, 0, 0);
  previewing(false);
});
$("camera-retake").addEventListener("click", () => previewing(true));
$("camera-use").addEventListener("click", async () => {
  clearErrors($("app-box"));
  if (!mayReplace("portrait-0", $("portrait"))) return;
  const blob = await new Promise(r => $("camera-still").toBlob(r, "image/jpeg", 0.92));
  stopCamera();
  await uploadPortrait(blob, $("camera-start"));
});
$("camera-stop").addEventListener("click", stopCamera);
$("camera-box").addEventListener("keydown", (e) => {
  if (e.key === "Escape") { e.preventDefault(); stopCamera(); }
});
$("finger").addEventListener("change", async (e) => {
  clearErrors($("app-box"));
  const pos = $("finger-pos").value;
  if (!e.target.files.length || !mayReplace(`fingerprint-${pos}`, e.target)) return;
  const q = await call("PUT", `/applications/${appId}/fingerprints/${pos}`, e.target.files[0], true,
                       near("capture-error", e.target));
  $("quality").textContent = describe(q); e.target.value = ""; await refresh();
});
$("verify").addEventListener("click", async () => {
  clearErrors($("app-box"));
  await call("POST", `/applications/${appId}/verification`, undefined, false, near("check-error"));
  await waitWhile("captured");
});
$("send-code").addEventListener("click", async () => {
  clearErrors($("app-box"));
  const r = await call("POST", `/applications/${appId}/phone-verification`, undefined, false,
                       near("check-error"));
  $("quality").textContent = say(texts.code_sent, {phone: r.sent_to});
});
$("confirm-code").addEventListener("click", async () => {
  clearErrors($("app-box"));
  await call("POST", `/applications/${appId}/phone-verification/confirmation`,
             {code: $("code").value}, false, near("check-error", $("code")));
  await refresh();
});
$("consent").addEventListener("click", async () => {
  clearErrors($("app-box"));
  // Recorded in the language the applicant was shown the text in (the consent box).
  const body = {by: $("consent-by").value};
  if (consentLanguage) body.language = consentLanguage;
  await call("POST", `/applications/${appId}/consent`, body, false, near("submit-error"));
  await refresh();
});
$("submit").addEventListener("click", async () => {
  clearErrors($("app-box"));
  await call("POST", `/applications/${appId}/submission`, undefined, false, near("submit-error"));
  await waitWhile("submitted");
});
$("edit").addEventListener("click", () => {
  clearErrors($("form-box"));
  editing = true;
  mrzLines = (current.passport && current.passport.mrz) || null;
  fillForm(current, false);
  for (const name of ["address", "phone", "email", "language"]) setField(name, current[name]);
  for (const [k, v] of Object.entries(current.guardian || {})) setField(`guardian.${k}`, v);
  hide(["form-title-new", "save-new", "prefill"]);
  show(["form-title-edit", "save-edit", "edit-back", "form-box"]);
  field("full_name").focus();
});
$("edit-back").addEventListener("click", () => openApplication(appId));

// --- the next applicant: nothing of this one stays on the page ---
function nextApplicant() {
  stopCamera();
  tk01.reset();
  remember(null);
  location.assign(location.pathname);
}
$("next").addEventListener("click", nextApplicant);
$("new-applicant").addEventListener("click", nextApplicant);

// --- the work list ---
function cell(text) { const td = document.createElement("td"); td.textContent = text; return td; }
function button(text, label, onClick) {
  const b = document.createElement("button");
  b.type = "button"; b.textContent = text; b.setAttribute("aria-label", label);
  b.addEventListener("click", onClick);
  return b;
}
async function loadWorkList() {
  clearErrors($("work-box"));
  const q = $("work-q").value.trim();
  const rows = await call("GET", `/applications${q ? `?q=${encodeURIComponent(q)}` : ""}`,
                          undefined, false, near("work-error", $("work-q")));
  $("work-list").replaceChildren(...rows.map(a => {
    const tr = document.createElement("tr");
    tr.dataset.application = a.id;
    tr.dataset.status = a.status;
    if (a.overdue) tr.className = "overdue";
    const due = cell(formatDate(a.due_on));
    if (a.overdue) {
      const badge = document.createElement("span");
      badge.className = "badge"; badge.textContent = texts.overdue;
      due.append(badge);
    }
    const actions = document.createElement("td");
    actions.append(
      button(texts.resume, `${texts.resume}: ${a.full_name}`, () => openApplication(a.id)),
      button(texts.cancel, `${texts.cancel}: ${a.full_name}`, () => askCancel(a.id, a.full_name)));
    tr.append(cell(a.full_name), cell(a.passport_number), cell(statusLabel(a.status)),
              cell(formatDate(a.created_at.slice(0, 10))), due, actions);
    return tr;
  }));
  $("work-empty").classList.toggle("hidden", rows.length > 0);
}
let cancelOpener = null;  // where the focus goes back to when the cancel form closes
function closeCancel() {
  hide(["cancel-box"]);
  keepFocus(cancelOpener && cancelOpener.getClientRects().length ? cancelOpener : firstHeading());
}
function askCancel(id, name) {
  cancelling = id;
  cancelOpener = document.activeElement;
  $("cancel-name").textContent = name;
  $("cancel-reason").value = "";
  clearErrors($("cancel-box"));
  show(["cancel-box"]);
  $("cancel-reason").focus();
}
$("cancel-app").addEventListener("click", () => askCancel(appId, current ? current.full_name : ""));
$("cancel-back").addEventListener("click", closeCancel);
$("cancel-form").addEventListener("keydown", (e) => {
  if (e.key === "Escape") { e.preventDefault(); closeCancel(); }
});
$("cancel-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  clearErrors($("cancel-box"));
  await call("POST", `/applications/${cancelling}/cancellation`, {reason: $("cancel-reason").value},
             false, near("cancel-error", $("cancel-reason")));
  if (cancelling === appId) { hide(["cancel-box"]); nextApplicant(); return; }
  $("work-error").textContent = "";
  await loadWorkList();
  cancelOpener = null;  // its row is gone with the cancelled application
  closeCancel();
});
$("work-search").addEventListener("submit", (e) => { e.preventDefault(); loadWorkList(); });

signIn(async () => {
  const resume = new URLSearchParams(location.search).get("application");
  if (resume) {
    await openApplication(resume);
  } else {
    show(["work-box", "form-box"]);
    await loadWorkList();
  }
}, () => (appId ? $("app-title") : $("mrz")));
