// /app/present: declining a presentation request (POST /api/v1/me/presentation-requests/decline);
// the result goes to the page's live region.
(function () {
  "use strict";

  const section = document.getElementById("present");
  if (!section) return;
  section.addEventListener("click", async (event) => {
    if (!event.target.closest("[data-decline]")) return;
    try {
      await eidApp.api("POST", "/api/v1/me/presentation-requests/decline", {
        wallet_url: section.dataset.walletUrl,
      });
      section.querySelectorAll("button, input, a.button").forEach((el) => {
        if (el.tagName === "A") el.hidden = true;
        else el.disabled = true;
      });
      eidApp.announce(section.dataset.declined);
    } catch (_) {
      // eidApp.api has shown the error in the page's alert region.
    }
  });
})();
