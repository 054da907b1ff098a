// Level-1 registration in the app, one step at a time, on /api/v1/registrations (see
// eid.enrolment.registration). The registration's id and one-time token stay in this tab's
// sessionStorage; every result is announced in the layout's live regions and an error names
// the field to fix (its label, in the page's language) and moves the focus there.
"use strict";

(() => {
  const root = document.getElementById("register");
  if (!root || !window.eidApp) return;
  const app = window.eidApp;
  const text = root.dataset;
  const KEY = "eid.registration";
  const STEPS = ["details", "phone", "consent", "selfie", "submit", "status"];
  let pollTimer = null;

  function saved() {
    try {
      return JSON.parse(sessionStorage.getItem(KEY) || "null");
    } catch (_) {
      return null;
    }
  }

  function headers() {
    const reg = saved();
    return reg ? { "X-Registration-Token": reg.token } : {};
  }

  function show(step) {
    for (const name of STEPS) {
      document.getElementById(`step-${name}`).hidden = name !== step;
    }
    app.focus(document.querySelector(`#step-${step} h2`));
  }

  function clearInvalid() {
    for (const el of root.querySelectorAll("[aria-invalid]")) {
      el.removeAttribute("aria-invalid");
      el.removeAttribute("aria-describedby");
    }
  }

  // The field an error is about: from the server's details (a body path, or a name in it).
  function fieldOf(error) {
    const details = error.details || {};
    if (Array.isArray(details.errors) && details.errors.length) {
      return details.errors[0].field;
    }
    const byCode = {
      MRZ_INVALID: "passport.mrz.1",
      PASSPORT_EXPIRED: "passport.expiry_date",
      PASSPORT_ISSUE_DATE_INVALID: "passport.issue_date",
      PASSPORT_NOT_IN_REGISTRY: "passport.number",
      RESIDENCE_CARD_EXPIRED: "residence_card.expiry_date",
      DATE_OF_BIRTH_INVALID: "date_of_birth",
      EMAIL_INVALID: "email",
      GUARDIAN_REQUIRED: "has_guardian",
      GUARDIAN_PHONE_REQUIRED: "phone",
      GUARDIAN_CONSENT_REQUIRED: "agree",
      PHONE_CODE_WRONG: "code",
      PHONE_CODE_EXPIRED: "code",
      PHONE_CODE_LOCKED: "code",
      SELFIE_REUSED: "selfie",
      IMAGE_FORMAT: "selfie",
      IMAGE_TOO_LARGE: "selfie",
      UNREADABLE_IMAGE: "selfie",
    };
    if (error.code === "MRZ_MISMATCH" && details.field) {
      const top = ["date_of_birth", "nationality"];
      return top.includes(details.field) ? details.field : `passport.${details.field}`;
    }
    if (details.field && error.code && error.code.startsWith("PHONE")) return details.field;
    return byCode[error.code] || null;
  }

  function findField(path) {
    if (!path) return null;
    const exact = root.querySelector(`[data-field="${CSS.escape(path)}"]`);
    if (exact) return exact;
    if (path === "has_guardian" || path.startsWith("guardian.")) {
      return document.getElementById("has_guardian");
    }
    // "passport.mrz" (the list itself) or a deeper path: the closest field that exists.
    const parts = path.split(".");
    while (parts.length > 1) {
      parts.pop();
      const near = root.querySelector(`[data-field^="${CSS.escape(parts.join("."))}"]`);
      if (near) return near;
    }
    return null;
  }

  function labelOf(field) {
    const label = field.labels && field.labels[0];
    if (!label) return "";
    const hint = label.querySelector(".hint");
    const words = label.cloneNode(true);
    if (hint) words.querySelector(".hint").remove();
    return words.textContent.trim();
  }

  // The server's message (already in the page's language), led by the label of the field.
  function fail(error) {
    clearInvalid();
    const field = findField(fieldOf(error));
    if (!field) {
      app.showError(error.message);
      return;
    }
    const label = labelOf(field);
    app.showError(label ? `${label}: ${error.message}` : error.message);
    field.setAttribute("aria-invalid", "true");
    field.setAttribute("aria-describedby", "app-error");
    const section = field.closest("section");
    if (section && section.hidden) show(section.id.replace("step-", ""));
    field.focus();
  }

  async function call(method, path, body) {
    try {
      return await app.api(method, path, body, { headers: headers(), quiet: true });
    } catch (error) {
      fail(error);
      throw error;
    }
  }

  function value(id) {
    return document.getElementById(id).value.trim();
  }

  function detailsBody() {
    const body = {
      full_name: value("full_name"),
      date_of_birth: value("date_of_birth"),
      sex: value("sex"),
      nationality: value("nationality").toUpperCase(),
      passport: {
        number: value("passport_number").toUpperCase(),
        type: value("passport_type").toUpperCase() || "P",
        issuing_state: value("issuing_state").toUpperCase(),
        issue_date: value("issue_date"),
        expiry_date: value("expiry_date"),
        mrz: [value("mrz1").toUpperCase(), value("mrz2").toUpperCase()],
      },
      residence_card: {
        number: value("card_number").toUpperCase(),
        kind: value("card_kind"),
        expiry_date: value("card_expiry"),
      },
      phone: value("phone"),
      language: text.lang,
    };
    if (value("address")) body.address = value("address");
    if (value("email")) body.email = value("email");
    if (document.getElementById("has_guardian").checked) {
      body.guardian = {
        full_name: value("g_name"),
        relation: value("g_relation"),
        document_number: value("g_document"),
        phone: value("phone"),
      };
    }
    return body;
  }

  async function sendCode(reg) {
    const sent = await call("POST", `/api/v1/registrations/${reg.id}/phone-verification`);
    app.announce(text.msgCodeSent.replace("%(phone)s", sent.sent_to));
  }

  // Where to continue from, after a reload of the page, by what the registration holds.
  function stepOf(view) {
    if (view.submitted || !["draft", "captured"].includes(view.status)) return "status";
    if (!view.phone_verified) return "phone";
    if (!view.consented) return "consent";
    if (!view.selfie_acceptable) return "selfie";
    return "submit";
  }

  function renderStatus(view) {
    document.getElementById("status-text").textContent =
      text[`status${view.status.replace(/(^|_)(\w)/g, (_, __, c) => c.toUpperCase())}`] ||
      view.status;
    document.getElementById("deadline").textContent = view.legal_deadline
      ? new Date(`${view.legal_deadline}T00:00:00`).toLocaleDateString(text.lang, {
          year: "numeric", month: "long", day: "numeric",
        })
      : "";
    const issued = Boolean(view.eid_number);
    for (const id of ["eid-label", "eid-number", "activate-link"]) {
      document.getElementById(id).hidden = !issued;
    }
    document.getElementById("eid-number").textContent = view.eid_number || "";
    const refused = Boolean(view.rejection_reason);
    for (const id of ["reason-label", "reason"]) {
      document.getElementById(id).hidden = !refused;
    }
    document.getElementById("reason").textContent = view.rejection_reason || "";
    root.dataset.status = view.status;
  }

  async function poll() {
    const reg = saved();
    if (!reg) return;
    try {
      const view = await app.api("GET", `/api/v1/registrations/${reg.id}`, null, {
        headers: headers(), quiet: true,
      });
      renderStatus(view);
      if (["issued", "rejected", "cancelled"].includes(view.status)) return;
    } catch (_) {
      // A lost connection: the next poll tries again.
    }
    pollTimer = window.setTimeout(poll, 5000);
  }

  function statusView() {
    show("status");
    if (pollTimer) window.clearTimeout(pollTimer);
    poll();
  }

  document.getElementById("has_guardian").addEventListener("change", (event) => {
    document.getElementById("guardian-fields").hidden = !event.target.checked;
  });

  document.getElementById("details-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    clearInvalid();
    const created = await call("POST", "/api/v1/registrations", detailsBody());
    sessionStorage.setItem(KEY, JSON.stringify({ id: created.id, token: created.registration_token }));
    await sendCode(saved());
    show("phone");
  });

  document.getElementById("resend").addEventListener("click", () => sendCode(saved()));

  document.getElementById("phone-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    clearInvalid();
    const reg = saved();
    await call("POST", `/api/v1/registrations/${reg.id}/phone-verification/confirmation`, {
      code: value("code"),
    });
    show("consent");
    app.announce(text.msgPhoneOk);
  });

  document.getElementById("consent-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    clearInvalid();
    const agree = document.getElementById("agree");
    if (!agree.checked) {
      agree.setAttribute("aria-invalid", "true");
      app.showError(`${labelOf(agree)}: ${text.msgAgree}`);
      agree.focus();
      return;
    }
    const reg = saved();
    const guardian = document.getElementById("has_guardian").checked;
    await call("POST", `/api/v1/registrations/${reg.id}/consent`, {
      by: guardian ? "guardian" : "applicant",
      text_version: root.dataset.consentVersion,
      language: text.lang,
    });
    show("selfie");
    app.announce(text.msgConsentOk);
  });

  document.getElementById("selfie-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    clearInvalid();
    const input = document.getElementById("selfie");
    const advice = document.getElementById("selfie-advice");
    advice.replaceChildren();
    const file = input.files && input.files[0];
    if (!file) {
      input.setAttribute("aria-invalid", "true");
      app.showError(`${labelOf(input)}: ${text.msgChoosePhoto}`);
      input.focus();
      return;
    }
    const reg = saved();
    let response;
    try {
      response = await fetch(`/api/v1/registrations/${reg.id}/selfie`, {
        method: "PUT",
        headers: Object.assign(
          { "Accept-Language": text.lang, Accept: "application/json",
            "Content-Type": file.type || "application/octet-stream" },
          headers(),
        ),
        body: file,
        cache: "no-store",
      });
    } catch (failure) {
      app.showError(failure.message);
      return;
    }
    const data = await response.json();
    if (!response.ok) {
      fail(Object.assign({ details: {} }, data.error));
      return;
    }
    if (!data.acceptable) {
      for (const issue of data.issues) {
        const item = document.createElement("li");
        item.textContent = issue.message;
        advice.append(item);
      }
      input.setAttribute("aria-invalid", "true");
      app.showError(
        `${labelOf(input)}: ${text.msgSelfieRetake} ${data.issues.map((i) => i.message).join("; ")}`,
      );
      input.focus();
      return;
    }
    show("submit");
    app.announce(text.msgSelfieOk);
  });

  document.getElementById("send").addEventListener("click", async () => {
    const reg = saved();
    await call("POST", `/api/v1/registrations/${reg.id}/submission`);
    app.announce(text.msgSubmitted);
    statusView();
  });

  // Back on the page (a reload, a return from the camera app): continue where it stopped.
  (async () => {
    const reg = saved();
    if (!reg) return;
    try {
      const view = await app.api("GET", `/api/v1/registrations/${reg.id}`, null, {
        headers: headers(), quiet: true,
      });
      const step = stepOf(view);
      if (step === "status") statusView();
      else show(step);
    } catch (_) {
      sessionStorage.removeItem(KEY); // an expired or finished registration: start afresh
    }
  })();
})();
