// WebAuthn for eid's pages: window.eidPasskey.create(publicKeyJSON) / .get(publicKeyJSON) take
// the server's JSON options (POST /api/v1/identity/passkeys/options -> public_key) and resolve
// to the JSON the server expects back (RegistrationResponseJSON / AuthenticationResponseJSON).
// Base64url handling stays in here. A refusal rejects with the browser's DOMException (its
// `name`: NotAllowedError when the person cancelled, InvalidStateError, SecurityError ...).
(function () {
  "use strict";

  function fromB64url(value) {
    var b64 = value.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) {
      b64 += "=";
    }
    var raw = atob(b64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i += 1) {
      bytes[i] = raw.charCodeAt(i);
    }
    return bytes.buffer;
  }

  function toB64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var raw = "";
    for (var i = 0; i < bytes.length; i += 1) {
      raw += String.fromCharCode(bytes[i]);
    }
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (d) {
      return { type: d.type, id: fromB64url(d.id), transports: d.transports };
    });
  }

  function creationOptions(json) {
    var options = Object.assign({}, json);
    options.challenge = fromB64url(json.challenge);
    options.user = Object.assign({}, json.user, { id: fromB64url(json.user.id) });
    options.excludeCredentials = descriptors(json.excludeCredentials);
    return options;
  }

  function requestOptions(json) {
    var options = Object.assign({}, json);
    options.challenge = fromB64url(json.challenge);
    options.allowCredentials = descriptors(json.allowCredentials);
    return options;
  }

  function common(credential) {
    return {
      id: credential.id,
      rawId: toB64url(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults
        ? credential.getClientExtensionResults()
        : {},
    };
  }

  function registrationJSON(credential) {
    var response = credential.response;
    var out = common(credential);
    out.response = {
      clientDataJSON: toB64url(response.clientDataJSON),
      attestationObject: toB64url(response.attestationObject),
      transports: response.getTransports ? response.getTransports() : [],
    };
    return out;
  }

  function authenticationJSON(credential) {
    var response = credential.response;
    var out = common(credential);
    out.response = {
      clientDataJSON: toB64url(response.clientDataJSON),
      authenticatorData: toB64url(response.authenticatorData),
      signature: toB64url(response.signature),
      userHandle: response.userHandle ? toB64url(response.userHandle) : null,
    };
    return out;
  }

  function supported() {
    return Boolean(window.PublicKeyCredential && navigator.credentials);
  }

  function unsupported() {
    return Promise.reject(new DOMException("WebAuthn is not available", "NotSupportedError"));
  }

  window.eidPasskey = {
    supported: supported,
    create: function (publicKeyJSON) {
      if (!supported()) {
        return unsupported();
      }
      return navigator.credentials
        .create({ publicKey: creationOptions(publicKeyJSON) })
        .then(registrationJSON);
    },
    get: function (publicKeyJSON) {
      if (!supported()) {
        return unsupported();
      }
      return navigator.credentials
        .get({ publicKey: requestOptions(publicKeyJSON) })
        .then(authenticationJSON);
    },
  };
})();
