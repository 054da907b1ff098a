// /app/wallet: add the card to a wallet (OpenID4VCI 1.0).
// - Another wallet: POST /api/v1/me/wallet/offers; the answer's QR (SVG, drawn by the server)
//   carries `openid-credential-offer://?credential_offer_uri=...`; the 6-digit code went to
//   the holder's phone (and e-mail).
// - This app as the wallet: an ES256 key made by WebCrypto, NOT extractable, kept in IndexedDB
//   (the browser keeps the CryptoKey; its private half never reaches script); the offer with its
//   codes (for_this_app), the token (pre-authorized code + tx_code, DPoP with that key), a
//   nonce, the proof JWT, the credential; the card is kept in IndexedDB on this device only.
//   Nothing here goes through the service worker's cache (it never stores /api/, /oauth2/ or
//   /oid4vci/ answers: it caches versioned static files only).
"use strict";

(() => {
  const DB_NAME = "eid-wallet";
  const KEYS = "keys";
  const CARDS = "credentials";
  const CARD_ID = "residence_card";

  const enc = new TextEncoder();
  const b64u = (bytes) =>
    btoa(String.fromCharCode(...new Uint8Array(bytes)))
      .replace(/\+/g, "-")
      .replace(/\//g, "_")
      .replace(/=+$/, "");
  const b64uJson = (value) => b64u(enc.encode(JSON.stringify(value)));
  const fromB64u = (text) => {
    const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    return new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
  };

  function openDb() {
    return new Promise((resolve, reject) => {
      const request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = () => {
        request.result.createObjectStore(KEYS);
        request.result.createObjectStore(CARDS);
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }

  async function store(name, mode, work) {
    const db = await openDb();
    return new Promise((resolve, reject) => {
      const tx = db.transaction(name, mode);
      const request = work(tx.objectStore(name));
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = () => reject(tx.error);
    });
  }

  const get = (name, key) => store(name, "readonly", (s) => s.get(key));
  const put = (name, key, value) => store(name, "readwrite", (s) => s.put(value, key));
  const remove = (name, key) => store(name, "readwrite", (s) => s.delete(key));

  // The device's key: made once, private half not extractable.
  async function holderKey() {
    const kept = await get(KEYS, "holder");
    if (kept) return kept;
    const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, [
      "sign",
      "verify",
    ]);
    await put(KEYS, "holder", pair);
    return pair;
  }

  async function publicJwk(pair) {
    const { kty, crv, x, y } = await crypto.subtle.exportKey("jwk", pair.publicKey);
    return { kty, crv, x, y };
  }

  async function signJwt(pair, header, payload) {
    const input = `${b64uJson(header)}.${b64uJson(payload)}`;
    const signature = await crypto.subtle.sign(
      { name: "ECDSA", hash: "SHA-256" },
      pair.privateKey,
      enc.encode(input),
    );
    return `${input}.${b64u(signature)}`;
  }

  const now = () => Math.floor(Date.now() / 1000);
  const jti = () => b64u(crypto.getRandomValues(new Uint8Array(16)));

  async function dpop(pair, jwk, url, accessToken) {
    const payload = { htm: "POST", htu: url, iat: now(), jti: jti() };
    if (accessToken) {
      payload.ath = b64u(await crypto.subtle.digest("SHA-256", enc.encode(accessToken)));
    }
    return signJwt(pair, { typ: "dpop+jwt", alg: "ES256", jwk }, payload);
  }

  async function post(url, init) {
    const response = await fetch(url, { method: "POST", cache: "no-store", ...init });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.error_description || data.error || response.status);
    return data;
  }

  function claimsOf(credential) {
    const [jwt, ...disclosures] = credential.split("~");
    const claims = {};
    for (const d of disclosures) {
      if (!d) continue;
      const [, name, value] = JSON.parse(fromB64u(d));
      claims[name] = value;
    }
    const payload = JSON.parse(fromB64u(jwt.split(".")[1]));
    return { claims, exp: payload.exp };
  }

  function showKept(section, card) {
    const kept = document.getElementById("kept");
    for (const dd of kept.querySelectorAll("[data-claim]")) {
      const value = card.claims[dd.dataset.claim];
      dd.textContent = value === undefined || value === null ? "—" : String(value);
    }
    const when = document.getElementById("kept-when");
    const received = new Date(card.received_at);
    when.textContent = `${when.dataset.text} ${received.toLocaleString(document.documentElement.lang)}`;
    kept.hidden = false;
  }

  async function addHere(section, button) {
    button.disabled = true;
    try {
      const pair = await holderKey();
      const jwk = await publicJwk(pair);
      const offer = await eidApp.api("POST", "/api/v1/me/wallet/offers", { for_this_app: true });
      const issuer = offer.credential_offer.credential_issuer;
      const grant =
        offer.credential_offer.grants["urn:ietf:params:oauth:grant-type:pre-authorized_code"];
      const tokenUrl = `${issuer}/oauth2/token`;
      const token = await post(tokenUrl, {
        headers: {
          "Content-Type": "application/x-www-form-urlencoded",
          DPoP: await dpop(pair, jwk, tokenUrl),
        },
        body: new URLSearchParams({
          grant_type: "urn:ietf:params:oauth:grant-type:pre-authorized_code",
          "pre-authorized_code": grant["pre-authorized_code"],
          tx_code: offer.tx_code,
        }),
      });
      const { c_nonce } = await post(`${issuer}/oid4vci/nonce`, {});
      const proof = await signJwt(
        pair,
        { typ: "openid4vci-proof+jwt", alg: "ES256", jwk },
        { aud: issuer, iat: now(), nonce: c_nonce },
      );
      const credentialUrl = `${issuer}/oid4vci/credential`;
      const configuration = offer.credential_offer.credential_configuration_ids[0];
      const answer = await post(credentialUrl, {
        headers: {
          "Content-Type": "application/json",
          Authorization: `DPoP ${token.access_token}`,
          DPoP: await dpop(pair, jwk, credentialUrl, token.access_token),
        },
        body: JSON.stringify({
          credential_configuration_id: configuration,
          proofs: { jwt: [proof] },
        }),
      });
      const credential = answer.credentials[0].credential;
      const card = {
        credential,
        configuration,
        received_at: new Date().toISOString(),
        ...claimsOf(credential),
      };
      await put(CARDS, CARD_ID, card);
      showKept(section, card);
      eidApp.announce(section.dataset.kept);
      eidApp.focus(document.getElementById("kept-heading"));
    } catch (error) {
      if (!(error instanceof eidApp.ApiError)) {
        eidApp.showError(String(error.message || error));
      }
    } finally {
      button.disabled = false;
    }
  }

  async function showOffer(section, button) {
    button.disabled = true;
    try {
      const offer = await eidApp.api("POST", "/api/v1/me/wallet/offers", {});
      const svg = new DOMParser().parseFromString(offer.qr_svg, "image/svg+xml").documentElement;
      svg.setAttribute("aria-hidden", "true");
      svg.setAttribute("focusable", "false");
      const box = document.getElementById("offer-qr");
      box.replaceChildren(document.importNode(svg, true));
      box.dataset.link = offer.deep_link;
      const both = offer.tx_code_sent_to.includes("email");
      const caption = both ? section.dataset.sentBoth : section.dataset.sentSms;
      document.getElementById("offer-caption").textContent = caption;
      const expiry = document.getElementById("offer-expiry");
      expiry.textContent = expiry.dataset.text;
      expiry.hidden = false;
      document.getElementById("offer-figure").hidden = false;
      eidApp.announce(caption);
    } catch (_) {
      // eidApp.api already showed the server's message
    } finally {
      button.disabled = false;
    }
  }

  const other = document.getElementById("other-wallet");
  const here = document.getElementById("this-app");
  if (!other || !here) return;
  other.querySelector("[data-offer]").addEventListener("click", (event) => {
    showOffer(other, event.currentTarget);
  });
  const addButton = here.querySelector("[data-add-here]");
  if (!window.indexedDB || !window.crypto || !crypto.subtle) {
    addButton.disabled = true;
    eidApp.showError(here.dataset.unsupported);
    return;
  }
  addButton.addEventListener("click", (event) => addHere(here, event.currentTarget));
  here.querySelector("[data-remove]").addEventListener("click", async () => {
    await remove(CARDS, CARD_ID);
    document.getElementById("kept").hidden = true;
  });
  get(CARDS, CARD_ID)
    .then((card) => {
      if (card) showKept(here, card);
    })
    .catch(() => {});
})();
