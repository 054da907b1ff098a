// /oauth2/login: "Sign in with a passkey". Asks the server for a login ceremony, lets the
// browser's passkey answer it, and posts the answer with the page's own form (the server then
// sets the session cookie and continues the authorization). Results go to a live region.
(function () {
  "use strict";

  var button = document.getElementById("passkey-signin");
  var form = document.getElementById("passkey-form");
  var status = document.getElementById("passkey-status");
  if (!button || !form || !status) {
    return;
  }
  if (!window.eidPasskey || !window.eidPasskey.supported()) {
    status.textContent = status.dataset.unsupported;
    button.disabled = true;
    return;
  }

  function say(text) {
    status.textContent = text;
  }

  button.addEventListener("click", function () {
    button.disabled = true;
    say(status.dataset.working);
    fetch("/api/v1/identity/passkeys/options", {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "Accept-Language": document.documentElement.lang || "en",
      },
      body: JSON.stringify({ purpose: "login" }),
    })
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) {
            var refused = new Error(body.error ? body.error.message : status.dataset.failed);
            refused.name = "ServerRefusal";
            throw refused;
          }
          return body;
        });
      })
      .then(function (options) {
        form.elements.ceremony_id.value = options.ceremony_id;
        return window.eidPasskey.get(options.public_key);
      })
      .then(function (credential) {
        form.elements.credential.value = JSON.stringify(credential);
        form.submit();
      })
      .catch(function (error) {
        if (error.name === "ServerRefusal") {
          say(error.message);
        } else if (error.name === "NotAllowedError" || error.name === "AbortError") {
          say(status.dataset.cancelled);
        } else {
          say(status.dataset.failed);
        }
        button.disabled = false;
      });
  });
})();
