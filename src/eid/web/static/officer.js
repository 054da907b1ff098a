"use strict";
// Shared by the officer pages. The session is an HttpOnly cookie that the browser sends by
// itself and this script never sees; the script keeps only the session's CSRF token (from the
// page's meta tag, or from the sign-in answer) and sends it as X-CSRF-Token on every call that
// changes something. Nothing is kept in sessionStorage or localStorage.
const api = "/api/v1";
const $ = (id) => document.getElementById(id);
const lang = document.documentElement.lang;
const texts = Object.assign(JSON.parse($("officer-texts").textContent),
                            JSON.parse($("page-texts").textContent));
// The refusals (401) that mean the officer's session is over (eid.staff.service).
const SESSION_ENDED = ["INVALID_TOKEN", "TOKEN_REVOKED", "TOKEN_EXPIRED", "SESSION_IDLE"];
const csrfMeta = document.querySelector("meta[name=csrf-token]");
let csrf = csrfMeta ? csrfMeta.content : null;

// A catalogue text with its {placeholders} filled.
function say(text, params) {
  let out = text;
  for (const [k, v] of Object.entries(params || {})) out = out.replaceAll(`{${k}}`, String(v));
  return out;
}
// An ISO date (YYYY-MM-DD) as a reader of the page's language writes it.
function formatDate(iso) {
  const [y, m, d] = iso.split("-").map(Number);
  return new Intl.DateTimeFormat(lang, {dateStyle: "long", timeZone: "UTC"})
    .format(new Date(Date.UTC(y, m - 1, d)));
}
// A moment (ISO 8601) in Viet Nam's time, as the page's language writes it, to the minute.
function formatTime(iso) {
  if (!iso) return "";
  return new Intl.DateTimeFormat(lang, {dateStyle: "medium", timeStyle: "short",
                                        timeZone: "Asia/Ho_Chi_Minh"}).format(new Date(iso));
}
// The header's page links a role may use (the page came signed out, so it showed them all).
function showPagesFor(role) {
  for (const a of document.querySelectorAll("nav.pages a[data-roles]")) {
    a.classList.toggle("hidden", !a.dataset.roles.split(" ").includes(role));
  }
}
function statusLabel(status) { return texts.statuses[status] || status; }
function checkLabel(name) { return texts.checks[name] || name; }
function outcomeLabel(outcome) { return texts.outcomes[outcome] || outcome; }
function refusalLabel(code) { return texts.refusals[code || "UNKNOWN"] || code; }
function outcomeClass(outcome) {
  return outcome === "pass" ? "ok" : (outcome === "not_applicable" ? "muted" : "bad");
}
function fail(body, status, where) {
  const e = body && body.error;
  const message = e ? e.message : say(texts.error_without_message, {status});
  if (where) return where(e, message);
  $("error").textContent = e ? `${message} (${e.code})` : message;
}
function showSignedOut() {
  csrf = null;
  $("login-box").classList.remove("hidden");
  $("who").classList.add("hidden");
  for (const node of document.querySelectorAll("[data-signed-in]")) node.classList.add("hidden");
}
// `where(error, message)`, when given, shows a refusal beside the field or action it concerns
// (console.js); without it the refusal goes to the page's #error.
async function call(method, path, body, raw, where) {
  $("error").textContent = "";
  // Refusals come back in the page's language (vi or en), whatever the browser prefers.
  const headers = {"Accept-Language": lang};
  if (method !== "GET") headers["X-CSRF-Token"] = csrf || "";
  if (!raw && body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(api + path, {method, headers, credentials: "same-origin",
    body: raw ? body : (body === undefined ? undefined : JSON.stringify(body))});
  const data = r.status === 204 ? null : await r.json().catch(() => null);
  // Expired, idle or signed out elsewhere: only the session's own codes sign the page out (a
  // refusal of what was typed, such as a wrong phone code, is a 422 beside its field).
  const code = data && data.error ? data.error.code : null;
  if (r.status === 401 && (!code || SESSION_ENDED.includes(code))) showSignedOut();
  if (!r.ok) {
    fail(data, r.status, where);
    throw new Error(data && data.error ? data.error.code : String(r.status));
  }
  return data;
}
// Focus that was on something now hidden (the sign-in form, a step's button) is not lost to
// the page: it moves to `fallback` (a heading, the next field), so a keyboard user and a screen
// reader continue from there instead of from the top of the page.
function keepFocus(fallback) {
  const at = document.activeElement;
  if (!fallback || (at && at !== document.body && at.getClientRects().length)) return;
  if (!fallback.matches("a[href], button, input, select, textarea, [tabindex]")) {
    fallback.setAttribute("tabindex", "-1");
  }
  fallback.focus();
}
function firstHeading() {
  return [...document.querySelectorAll("main h2")].find(h => h.getClientRects().length);
}
// Runs `ready` once signed in: now if the page came signed in, else after the form, then puts
// the focus where the page's work starts (`start()`, or the first heading shown).
function signIn(ready, start) {
  $("login").addEventListener("submit", async (e) => {
    e.preventDefault();
    $("error").textContent = "";
    const body = Object.fromEntries(new FormData(e.target).entries());
    const r = await fetch(api + "/officer/browser-sessions", {method: "POST",
      credentials: "same-origin", headers: {"Content-Type": "application/json"},
      body: JSON.stringify(body)});
    const data = await r.json().catch(() => null);
    if (!r.ok) return fail(data, r.status);
    csrf = data.csrf_token;
    e.target.reset();
    $("login-box").classList.add("hidden");
    $("who-name").textContent = data.username;
    $("who-role").textContent = texts.roles[data.role] || data.role;
    $("who").dataset.role = data.role;
    showPagesFor(data.role);
    $("who").classList.remove("hidden");
    await ready();
    keepFocus((start && start()) || firstHeading());
  });
  $("sign-out").addEventListener("click", async () => {
    try { await call("DELETE", "/officer/sessions/current"); } catch (_) { /* shown in #error */ }
    showSignedOut();
    location.reload();
  });
  if (csrf) ready();
}
