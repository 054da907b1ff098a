// The language picker of a signed-in holder: the pick is also kept on the account
// (PUT /api/v1/me/language), so the notifications sent from then on (app, SMS, email) are
// written in it too. Without this script the link still changes the pages' language (and the
// browser's cookie). Loaded after app.js (both `defer`) by templates/app/layout.html.
"use strict";

(() => {
  const picker = document.querySelector("nav.languages");
  if (!picker || !window.eidApp) return;
  picker.addEventListener("click", async (event) => {
    const link = event.target.closest("a[hreflang]");
    // A new tab or window (modifier keys, middle button) keeps the plain link's behaviour.
    if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey
      || event.altKey) return;
    event.preventDefault();
    try {
      await eidApp.api("PUT", "/api/v1/me/language",
        { language: link.getAttribute("hreflang") }, { quiet: true });
    } catch (_) {
      // Not kept on the account (the session ended meanwhile): the pages still change.
    }
    window.location.assign(link.href);
  });
})();
