// The holder app's shared script: `eidApp.api` for JSON calls to eid's API in the page's
// language with the session's CSRF token, the live regions for results and errors, sign out,
// and the service worker. Loaded with `defer` by templates/app/layout.html.
"use strict";

(() => {
  const lang = document.documentElement.lang || "en";

  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : null;
  }

  function region(id) {
    return document.getElementById(id);
  }

  // A result for screen readers and eyes alike (role=status, polite).
  function announce(text) {
    const status = region("app-status");
    const error = region("app-error");
    if (error) error.textContent = "";
    if (status) status.textContent = text;
  }

  // An error (role=alert): the server's message, already in the page's language.
  function showError(text) {
    const status = region("app-status");
    const error = region("app-error");
    if (status) status.textContent = "";
    if (error) error.textContent = text;
  }

  function clearMessages() {
    for (const id of ["app-status", "app-error"]) {
      const el = region(id);
      if (el) el.textContent = "";
    }
  }

  class ApiError extends Error {
    constructor(status, code, message, details) {
      super(message);
      this.status = status;
      this.code = code;
      this.details = details || {};
    }
  }

  // fetch JSON from eid's API; on an error answer the message goes to the alert region and
  // the promise rejects with an ApiError (code, message, details) for the page to act on.
  async function api(method, path, body, options = {}) {
    const headers = { Accept: "application/json", "Accept-Language": lang };
    const token = csrfToken();
    if (token) headers["X-CSRF-Token"] = token;
    if (options.headers) Object.assign(headers, options.headers);
    const init = { method, headers, credentials: "same-origin", cache: "no-store" };
    if (body !== undefined && body !== null) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (failure) {
      const text = document.body.dataset.offlineMessage || failure.message;
      if (!options.quiet) showError(text);
      throw new ApiError(0, "NETWORK", text);
    }
    // A 204 has no body (whatever its content type says); anything not JSON is no data.
    const text = response.status === 204 ? "" : await response.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch (_) {
        data = null;
      }
    }
    if (!response.ok) {
      const error = (data && data.error) || {};
      const message = error.message || response.statusText || String(response.status);
      if (!options.quiet) showError(message);
      throw new ApiError(response.status, error.code || "HTTP_" + response.status, message,
        error.details);
    }
    return data;
  }

  // Moves focus to an element after an action (a heading or the result), so a screen reader
  // and a keyboard user continue from there.
  function focus(el) {
    if (!el) return;
    if (!el.hasAttribute("tabindex")) el.setAttribute("tabindex", "-1");
    el.focus();
  }

  async function signOut() {
    try {
      await api("DELETE", "/api/v1/identity/sessions/current");
    } catch (_) {
      // An expired session is signed out already.
    }
    window.location.assign("/app");
  }

  function registerServiceWorker() {
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker
      .register("/app/sw.js", { scope: "/app" })
      .then(() => navigator.serviceWorker.ready)
      .then((registration) => {
        // The worker shows its offline page in the language the holder reads now.
        const worker = navigator.serviceWorker.controller || registration.active;
        if (worker) worker.postMessage({ lang });
      })
      .catch(() => {
        // Without a worker the app still works online; nothing to tell the holder.
      });
  }

  document.addEventListener("click", (event) => {
    const target = event.target.closest("[data-sign-out]");
    if (target) {
      event.preventDefault();
      signOut();
    }
  });

  window.eidApp = { api, announce, showError, clearMessages, focus, ApiError, lang };
  registerServiceWorker();
})();
