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
  const w = window.eidWallet;
  const lang = document.documentElement.lang || "en";

  async function dpop(pair, jwk, url, accessToken) {
    const payload = { htm: "POST", htu: url, iat: w.now(), jti: w.b64u(crypto.getRandomValues(new Uint8Array(16))) };
    if (accessToken) {
      payload.ath = w.b64u(await crypto.subtle.digest("SHA-256", w.enc.encode(accessToken)));
    }
    return w.signJwt(pair, { typ: "dpop+jwt", alg: "ES256", jwk }, payload);
  }

  async function post(url, init) {
    const response = await fetch(url, { method: "POST", cache: "no-store", ...init });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.error_description || data.error || response.status);
    return data;
  }

  // A claim in words: dates in the page's language, the nationality as a country's name.
  function claimText(name, value) {
    if (value === undefined || value === null) return "—";
    if (name === "birthdate" || name.endsWith("_expiry")) return w.dateText(value, lang);
    if (name === "nationality") return w.countryName(value, lang);
    const words = document.getElementById("kept-claims").dataset;
    if (name === "sex") return { M: words.sexM, F: words.sexF }[value] || words.sexX;
    if (name === "residence_card_kind") return { TRC: words.trc, PRC: words.prc }[value] || value;
    return String(value);
  }

  async function showKept(section, card) {
    const kept = document.getElementById("kept");
    for (const dd of kept.querySelectorAll("[data-claim]")) {
      dd.textContent = claimText(dd.dataset.claim, card.claims[dd.dataset.claim]);
    }
    const when = document.getElementById("kept-when");
    const received = new Intl.DateTimeFormat(lang, { dateStyle: "long", timeStyle: "short" });
    when.textContent = `${when.dataset.text} ${received.format(new Date(card.received_at))}`;
    kept.hidden = false;
    const state = document.getElementById("kept-state");
    state.textContent = "";
    const now = await w.cardState(card);
    state.dataset.state = now;
    state.textContent = state.dataset[now];
  }

  async function addHere(section, button) {
    button.disabled = true;
    try {
      const pair = await w.holderKey();
      const jwk = await w.publicJwk(pair);
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
      const proof = await w.signJwt(
        pair,
        { typ: "openid4vci-proof+jwt", alg: "ES256", jwk },
        { aud: issuer, iat: w.now(), nonce: c_nonce },
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
        ...w.claimsOf(credential),
      };
      await w.keepCard(card);
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
    await w.forgetCard();
    document.getElementById("kept").hidden = true;
  });
  w.card()
    .then((card) => {
      if (card) showKept(here, card);
    })
    .catch(() => {});
})();
