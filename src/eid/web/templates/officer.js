// Shared by the officer pages: one sign-in (password + TOTP) serves them all for the tab's life.
const api = "/api/v1";
const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem("eid-officer-token");

function fail(body) {
  const e = body && body.error;
  $("error").textContent = e ? `${e.code}: ${e.message}` : String(body);
}
async function call(method, path, body, raw) {
  $("error").textContent = "";
  const headers = {Authorization: "Bearer " + token};
  if (!raw && body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(api + path, {method, headers,
    body: raw ? body : (body === undefined ? undefined : JSON.stringify(body))});
  const data = await r.json();
  if (r.status === 401) {  // expired or unknown session: sign in again
    sessionStorage.removeItem("eid-officer-token");
    $("login-box").classList.remove("hidden");
  }
  if (!r.ok) { fail(data); throw new Error(data.error ? data.error.code : r.status); }
  return data;
}
// Runs `ready` once signed in: now if this tab already holds a session, else after the form.
function signIn(ready) {
  $("login").addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = Object.fromEntries(new FormData(e.target).entries());
    const r = await fetch(api + "/officer/sessions", {method: "POST",
      headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
    const data = await r.json();
    if (!r.ok) return fail(data);
    token = data.access_token; sessionStorage.setItem("eid-officer-token", token);
    $("login-box").classList.add("hidden");
    await ready();
  });
  if (token) { $("login-box").classList.add("hidden"); ready(); }
}
