// /oauth2/approval/{id}: asks every few seconds whether the holder decided in the app; once
// they did (approved, refused, or the time ran out), submits the page's own "Continue" form,
// which goes on into the authorization or back to the service with its answer. The outcome
// goes to the page's live region. Without this script the holder presses "Continue" instead.
(function () {
  "use strict";

  var status = document.getElementById("approval-status");
  var form = document.getElementById("approval-continue");
  if (!status || !form) {
    return;
  }
  var every = Math.max(1, Number(status.dataset.pollSeconds) || 2) * 1000;
  var done = false;

  function ask() {
    if (done) {
      return;
    }
    fetch(status.dataset.statusUrl, {
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(String(response.status));
        }
        return response.json();
      })
      .then(function (body) {
        if (body.status === "pending") {
          window.setTimeout(ask, every);
          return;
        }
        done = true;
        status.textContent = status.dataset[body.status] || status.dataset.expired;
        form.submit();
      })
      .catch(function () {
        // A refused or lost answer (a 429, the network): ask again, more slowly.
        window.setTimeout(ask, every * 3);
      });
  }

  window.setTimeout(ask, every);
})();
