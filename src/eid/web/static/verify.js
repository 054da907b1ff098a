// /verify/{id}: while the request is open, asks every two seconds how it stands; when a wallet
// opens it or answers, reloads the page, which shows the outcome in the reader's language.
(function () {
  "use strict";

  var status = document.getElementById("verify-status");
  if (!status) {
    return;
  }
  var shown = status.dataset.status;
  var every = 2000;

  function ask() {
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
        if (body.status !== shown) {
          window.location.reload();
          return;
        }
        window.setTimeout(ask, every);
      })
      .catch(function () {
        window.setTimeout(ask, every * 3);
      });
  }

  window.setTimeout(ask, every);
})();
