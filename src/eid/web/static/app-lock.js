// Lock now (signed in: POST /api/v1/me/lock, after a confirmation) and unlock with the e-ID
// number, password and passcode (POST /api/v1/me/unlock, works signed out). Results go to the
// live regions; on an error the server's message (in the page's language) names what to fix.
"use strict";

(() => {
  const section = document.getElementById("lock-section");
  const confirmBox = document.getElementById("lock-confirm");
  const form = document.getElementById("unlock-form");

  function cancelLock() {
    confirmBox.hidden = true;
    section.querySelector("[data-lock]").focus();
  }
  // Escape closes the confirmation as its Cancel button does, the focus back on "Lock".
  if (confirmBox) {
    confirmBox.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !confirmBox.hidden) {
        event.preventDefault();
        cancelLock();
      }
    });
  }

  document.addEventListener("click", async (event) => {
    if (!section) return;
    if (event.target.closest("[data-lock]")) {
      confirmBox.hidden = false;
      confirmBox.querySelector("[data-lock-confirm]").focus();
    } else if (event.target.closest("[data-lock-cancel]")) {
      cancelLock();
    } else if (event.target.closest("[data-lock-confirm]")) {
      try {
        await eidApp.api("POST", "/api/v1/me/lock");
      } catch (_) {
        return;
      }
      // The session stopped working with the lock: the account's pages are gone from here.
      const nav = document.querySelector(".appnav");
      if (nav) nav.remove();
      section.remove();
      eidApp.announce(section.dataset.locked);
      eidApp.focus(document.getElementById("unlock-heading"));
    }
  });

  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const fields = ["eid_number", "password", "passcode"].map((name) => form.elements[name]);
    const body = {};
    let missing = null;
    for (const field of fields) {
      const value = field.value.trim();
      field.setAttribute("aria-invalid", value ? "false" : "true");
      if (!value && !missing) missing = field;
      body[field.name] = field.name === "password" ? field.value : value.replace(/\s+/g, "");
    }
    if (missing) {
      eidApp.showError(form.dataset.missing);
      missing.focus();
      return;
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const account = await eidApp.api("POST", "/api/v1/me/unlock", body);
      const stillLocked = account.lock_grounds && account.lock_grounds.length > 0;
      eidApp.announce(stillLocked ? form.dataset.stillLocked : form.dataset.unlocked);
      form.reset();
      if (!stillLocked) document.getElementById("unlock-next").hidden = false;
      eidApp.focus(document.getElementById("unlock-heading"));
    } catch (error) {
      const field = form.elements[(error.details && error.details.field) || ""];
      if (field) {
        field.setAttribute("aria-invalid", "true");
        field.focus();
      } else {
        fields[0].focus();
      }
    } finally {
      button.disabled = false;
    }
  });
})();
