// /app/approvals: a sign-in request waiting on this device. Approve: the number the sign-in
// page shows (one of three), then the bound passkey over the request's own challenge
// (POST .../options, navigator.credentials.get, POST .../decision). Deny: one call. Results go
// to the live regions; after a decision the buttons are gone.
"use strict";

// With nothing waiting, the page asks again every few seconds for two minutes (the holder
// often opens the app before pressing "Approve on my phone") and shows the request once it
// arrives.
function watchForRequests(empty) {
  let asked = 0;
  const timer = window.setInterval(async () => {
    asked += 1;
    if (asked > 40) {
      window.clearInterval(timer);
      return;
    }
    try {
      const waiting = await eidApp.api("GET", empty.dataset.check, null, { quiet: true });
      if (waiting && waiting.length) {
        window.clearInterval(timer);
        window.location.reload();
      }
    } catch (_) {
      window.clearInterval(timer);
    }
  }, 3000);
}

(() => {
  const empty = document.getElementById("approvals-empty");
  if (empty) watchForRequests(empty);
  const section = document.getElementById("approval");
  if (!section) return;
  const base = `/api/v1/identity/approvals/${section.dataset.approval}`;
  const buttons = Array.from(section.querySelectorAll("button"));
  const choices = document.getElementById("choices");

  function busy(on) {
    for (const button of buttons) button.disabled = on;
  }

  function ended(text) {
    const actions = section.querySelector(".actions");
    if (actions) actions.remove();
    choices.disabled = true;
    if (text) eidApp.announce(text);
    eidApp.focus(document.getElementById("approval-heading"));
  }

  async function deny() {
    busy(true);
    try {
      await eidApp.api("POST", `${base}/decision`, { decision: "deny" });
      ended(section.dataset.denied);
    } catch (error) {
      if (error.status === 409) ended(null);
      else busy(false);
    }
  }

  async function approve() {
    const picked = section.querySelector("input[name=matching_code]:checked");
    if (!picked) {
      eidApp.showError(section.dataset.pick);
      section.querySelector("input[name=matching_code]").focus();
      return;
    }
    busy(true);
    try {
      const options = await eidApp.api("POST", `${base}/options`);
      let credential;
      try {
        credential = await window.eidPasskey.get(options.public_key);
      } catch (_) {
        eidApp.showError(section.dataset.cancelled);
        busy(false);
        return;
      }
      await eidApp.api("POST", `${base}/decision`, {
        decision: "approve",
        matching_code: picked.value,
        credential,
      });
      ended(section.dataset.approved);
    } catch (error) {
      // A wrong number or an ended request: the server's words are in the alert region.
      if (error.status === 409) ended(null);
      else busy(false);
    }
  }

  section.addEventListener("click", (event) => {
    if (event.target.closest("[data-deny]")) deny();
    else if (event.target.closest("[data-approve]")) approve();
  });
})();
