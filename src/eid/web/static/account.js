// The holder's account pages (templates/app/activate, sign_in, device, security): each form
// calls the identity API through eidApp.api (page language, CSRF token, errors into the alert
// region) and, where a device is bound, window.eidPasskey. A refusal names the field to fix
// (aria-invalid, focus); every result is announced in the live regions of the layout.
"use strict";

(() => {
  const texts = document.getElementById("account-texts");
  const text = (name) => (texts ? texts.dataset[name] || "" : "");

  // The API's error codes, and the field of each form they are about.
  const FIELD_OF = {
    WEAK_PASSWORD: ["password", "new_password"],
    INVALID_PASSCODE: ["passcode", "new_passcode"],
    WRONG_PASSWORD: ["current_password", "password"],
    TOO_MANY_ATTEMPTS: ["current_password", "password"],
    ACTIVATION_FAILED: ["activation_code"],
    OTP_INVALID: ["otp"],
    FACE_MISMATCH: ["selfie"],
    INVALID_IMAGE: ["selfie"],
    BIOMETRIC_UNUSABLE: ["selfie"],
    CHALLENGE_INVALID: ["otp"],
  };

  function clearInvalid(form) {
    for (const input of form.querySelectorAll("[aria-invalid]")) {
      input.removeAttribute("aria-invalid");
    }
  }

  function markInvalid(form, names) {
    for (const name of names || []) {
      const input = form.elements[name];
      if (input) {
        input.setAttribute("aria-invalid", "true");
        input.focus();
        return;
      }
    }
  }

  function labelOf(input) {
    const label = input.id ? document.querySelector(`label[for="${input.id}"]`) : null;
    return label ? label.textContent.trim() : input.name;
  }

  // Required fields first, on the page: the message names the field in the page's language.
  function missing(form) {
    for (const input of form.querySelectorAll("[required]")) {
      const empty = input.type === "file" ? input.files.length === 0 : !input.value.trim();
      if (empty) {
        input.setAttribute("aria-invalid", "true");
        eidApp.showError(`${text("missing")} ${labelOf(input)}`);
        input.focus();
        return true;
      }
    }
    return false;
  }

  // Numbers as people write them ("1234 5678 9012", "123-456"): digits only.
  const DIGITS_ONLY = new Set(["eid_number", "activation_code", "otp", "passcode", "new_passcode"]);

  function values(form) {
    const out = {};
    for (const input of form.elements) {
      if (!input.name || input.type === "file") continue;
      const value = input.value.trim();
      out[input.name] = DIGITS_ONLY.has(input.name) ? value.replace(/[\s-]/g, "") : value;
    }
    return out;
  }

  function passkeyProblem(error, kind) {
    if (error instanceof eidApp.ApiError) return; // already shown by eidApp.api
    if (error && error.name === "NotSupportedError") {
      eidApp.showError(text(kind === "get" ? "noPasskeyGet" : "noPasskeyCreate"));
    } else if (error && (error.name === "NotAllowedError" || error.name === "AbortError")) {
      eidApp.showError(text(kind === "get" ? "cancelledGet" : "cancelledCreate"));
    } else {
      eidApp.showError(text("passkeyFailed"));
    }
  }

  function busy(form, on) {
    for (const button of form.querySelectorAll("button")) button.disabled = on;
  }

  // A button disabled while its request runs loses the focus (to the page's body): it takes it
  // back when enabled again, unless something else (a field to correct) has it by then.
  function regain(el) {
    const lost = !document.activeElement || document.activeElement === document.body;
    if (lost && el && el !== document.body && el.isConnected && el.getClientRects().length) {
      el.focus();
    }
  }

  function submitting(form, run) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearInvalid(form);
      eidApp.clearMessages();
      if (missing(form)) return;
      const pressed = document.activeElement;
      busy(form, true);
      try {
        await run(values(form));
      } catch (error) {
        if (error instanceof eidApp.ApiError) {
          markInvalid(form, FIELD_OF[error.code]);
        }
      } finally {
        busy(form, false);
        regain(pressed);
      }
    });
  }

  async function createPasskey(purpose, extra) {
    const options = await eidApp.api("POST", "/api/v1/identity/passkeys/options",
      Object.assign({ purpose }, extra));
    eidApp.announce(text("working"));
    let credential;
    try {
      credential = await window.eidPasskey.create(options.public_key);
    } catch (error) {
      passkeyProblem(error, "create");
      throw error;
    }
    return { ceremony_id: options.ceremony_id, credential, label: text("deviceLabel") };
  }

  function go(path) {
    window.location.assign(path);
  }

  // --- /app/activate ---
  const activate = document.getElementById("activate-form");
  if (activate) {
    submitting(activate, async (v) => {
      const passkey = await createPasskey("activation", { eid_number: v.eid_number });
      await eidApp.api("POST", "/api/v1/identity/activation", {
        eid_number: v.eid_number,
        activation_code: v.activation_code,
        password: v.password,
        passcode: v.passcode,
        passkey,
        cookie: true,
      });
      eidApp.announce(text("activated"));
      go(activate.dataset.home);
    });
  }

  // --- /app/sign-in ---
  const passkeyButton = document.getElementById("passkey-sign-in");
  if (passkeyButton) {
    passkeyButton.addEventListener("click", async () => {
      eidApp.clearMessages();
      passkeyButton.disabled = true;
      try {
        const options = await eidApp.api("POST", "/api/v1/identity/passkeys/options",
          { purpose: "login" });
        eidApp.announce(text("working"));
        let credential;
        try {
          credential = await window.eidPasskey.get(options.public_key);
        } catch (error) {
          passkeyProblem(error, "get");
          return;
        }
        await eidApp.api("POST", "/api/v1/identity/sessions", {
          passkey: { ceremony_id: options.ceremony_id, credential },
          cookie: true,
        });
        go(passkeyButton.dataset.next);
      } catch (_) {
        // eidApp.api has shown the server's message.
      } finally {
        passkeyButton.disabled = false;
        regain(passkeyButton);
      }
    });
  }
  const passwordSignIn = document.getElementById("password-sign-in");
  if (passwordSignIn) {
    submitting(passwordSignIn, async (v) => {
      await eidApp.api("POST", "/api/v1/identity/sessions", {
        eid_number: v.eid_number,
        password: v.password,
        passcode: v.passcode,
        cookie: true,
      });
      go(passwordSignIn.dataset.next);
    });
  }

  // --- /app/device: password -> SMS code -> selfie -> new passkey ---
  const rebindStart = document.getElementById("rebind-start");
  const rebindComplete = document.getElementById("rebind-complete");
  let rebind = null;
  if (rebindStart && rebindComplete) {
    submitting(rebindStart, async (v) => {
      const eidNumber = rebindStart.dataset.eidNumber || v.eid_number;
      const started = await eidApp.api("POST", "/api/v1/identity/devices/rebind",
        { eid_number: eidNumber, password: v.password });
      rebind = { eid_number: eidNumber, challenge_id: started.challenge_id };
      rebindStart.hidden = true;
      rebindComplete.hidden = false;
      eidApp.announce(text("codeSent"));
      eidApp.focus(rebindComplete.elements.otp);
    });
    submitting(rebindComplete, async (v) => {
      const selfie = await photo(rebindComplete.elements.selfie.files[0]);
      const passkey = await createPasskey("rebind", rebind);
      await eidApp.api("POST", "/api/v1/identity/devices/rebind/complete", {
        eid_number: rebind.eid_number,
        challenge_id: rebind.challenge_id,
        otp: v.otp,
        selfie,
        passkey,
        cookie: true,
      });
      rebindComplete.hidden = true;
      eidApp.announce(text("bound"));
      go(`/app/device?bound=1`);
    });
  }

  // The selfie as base64 JPEG, scaled down to at most 960 px (a phone photo is several MB).
  async function photo(file) {
    if (window.createImageBitmap) {
      try {
        const bitmap = await createImageBitmap(file);
        const scale = Math.min(1, 960 / Math.max(bitmap.width, bitmap.height));
        const canvas = document.createElement("canvas");
        canvas.width = Math.round(bitmap.width * scale);
        canvas.height = Math.round(bitmap.height * scale);
        canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
        return canvas.toDataURL("image/jpeg", 0.92).split(",", 2)[1];
      } catch (_) {
        // Not an image this browser decodes: send it as it is, the server says what is wrong.
      }
    }
    const buffer = new Uint8Array(await file.arrayBuffer());
    let raw = "";
    for (let i = 0; i < buffer.length; i += 0x8000) {
      raw += String.fromCharCode.apply(null, buffer.subarray(i, i + 0x8000));
    }
    return btoa(raw);
  }

  if (new URLSearchParams(window.location.search).get("bound") === "1" && texts) {
    eidApp.announce(text("bound"));
  }

  // --- /app/security ---
  const passwordChange = document.getElementById("password-change");
  if (passwordChange) {
    submitting(passwordChange, async (v) => {
      await eidApp.api("POST", "/api/v1/me/password", v);
      passwordChange.reset();
      eidApp.announce(text("passwordChanged"));
    });
  }
  const passcodeChange = document.getElementById("passcode-change");
  if (passcodeChange) {
    submitting(passcodeChange, async (v) => {
      await eidApp.api("POST", "/api/v1/me/passcode", v);
      passcodeChange.reset();
      eidApp.announce(text("passcodeChanged"));
    });
  }
})();
