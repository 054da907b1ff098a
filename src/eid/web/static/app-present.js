// /app/present: this app as the holder's wallet answering an OpenID4VP 1.0 request.
// The page (rendered from the server's read-only preview) already shows who asks, why and which
// claims; here:
//  - on load: the card kept in IndexedDB (app-wallet-core.js) and its state (expiry, status
//    list). Without a usable card the Share button stays off and the page says why.
//  - on the holder's press of Share (a deliberate press: the device key is a WebCrypto key, which
//    has no unlock prompt of its own): fetch the signed request object (once), check it (typ,
//    the x509_hash client id against its x5c leaf, the signature by that leaf, the response URI
//    on this origin), keep the disclosures of the required claims and of the optional ones left
//    ticked, sign the KB-JWT (typ kb+jwt: aud = client_id, nonce, iat, sd_hash) with the key the
//    card is bound to, and post the vp_token to the response URI: direct_post, or direct_post.jwt
//    (a JWE, ECDH-ES with A128GCM/A256GCM to the verifier's key from client_metadata).
//  - Decline: POST /api/v1/me/presentation-requests/decline.
"use strict";

(() => {
  const w = window.eidWallet;
  const section = document.getElementById("present");
  if (!section || !w) return;
  const texts = section.dataset;
  const shareButton = section.querySelector("[data-share]");
  const state = document.getElementById("present-card");
  let card = null;

  class Refusal extends Error {}

  function show(id) {
    const el = document.getElementById(id);
    el.hidden = false;
    return el;
  }

  function finish() {
    section.querySelectorAll("button, input").forEach((el) => {
      el.disabled = true;
    });
  }

  // -- the card kept here, before anything is asked of the holder ----------------------------

  async function checkCard() {
    if (!shareButton) return;
    card = await w.card().catch(() => null);
    if (!card) {
      state.textContent = texts.noCard;
      show("present-add-card");
      return;
    }
    const now = await w.cardState(card);
    state.dataset.state = now;
    if (now === "valid" || now === "unknown") {
      state.textContent = texts.cardReady;
      shareButton.disabled = false;
      return;
    }
    state.textContent = texts[`card${now[0].toUpperCase()}${now.slice(1)}`];
    state.setAttribute("role", "alert");
    if (now !== "suspended") show("present-add-card");
  }

  // -- the request object (RFC 9101, OpenID4VP §5) -------------------------------------------

  // Minimal DER reading: the certificate's SubjectPublicKeyInfo (tbsCertificate's 7th field,
  // or 6th without the explicit version).
  function derChildren(bytes, start, end) {
    const items = [];
    let at = start;
    while (at < end) {
      const tag = bytes[at];
      let length = bytes[at + 1];
      let header = 2;
      if (length & 0x80) {
        const count = length & 0x7f;
        length = 0;
        for (let i = 0; i < count; i += 1) length = length * 256 + bytes[at + 2 + i];
        header += count;
      }
      items.push({ tag, start: at, body: at + header, end: at + header + length });
      at += header + length;
    }
    return items;
  }

  function subjectPublicKeyInfo(der) {
    const [certificate] = derChildren(der, 0, der.length);
    const [tbs] = derChildren(der, certificate.body, certificate.end);
    const fields = derChildren(der, tbs.body, tbs.end);
    const spki = fields[fields[0].tag === 0xa0 ? 6 : 5];
    return der.slice(spki.start, spki.end);
  }

  // ECDSA signatures in JWS are r||s already (what WebCrypto verifies).
  async function verifiedRequest(walletUrl) {
    const params = new URL(walletUrl).searchParams;
    const requestUri = params.get("request_uri");
    if (!requestUri || new URL(requestUri).origin !== location.origin) throw new Refusal("foreign");
    const response = await fetch(requestUri, { cache: "no-store", credentials: "omit" });
    if (!response.ok) throw new Refusal("used");
    const jwt = (await response.text()).trim();
    const [h, p, s] = jwt.split(".");
    const header = w.jsonOf(h);
    const payload = w.jsonOf(p);
    const leaf = w.bytesOf(header.x5c[0]); // standard base64: bytesOf reads both alphabets
    const hash = w.b64u(await crypto.subtle.digest("SHA-256", leaf));
    const clientId = `x509_hash:${hash}`;
    if (
      header.typ !== "oauth-authz-req+jwt" ||
      header.alg !== "ES256" ||
      clientId !== params.get("client_id") ||
      clientId !== payload.client_id ||
      clientId !== texts.clientId
    ) {
      throw new Refusal("foreign");
    }
    const key = await crypto.subtle.importKey(
      "spki",
      subjectPublicKeyInfo(leaf),
      { name: "ECDSA", namedCurve: "P-256" },
      false,
      ["verify"],
    );
    const good = await crypto.subtle.verify(
      { name: "ECDSA", hash: "SHA-256" },
      key,
      w.bytesOf(s),
      w.enc.encode(`${h}.${p}`),
    );
    if (!good) throw new Refusal("foreign");
    if (payload.response_type !== "vp_token" || payload.exp * 1000 < Date.now()) {
      throw new Refusal("used");
    }
    if (new URL(payload.response_uri).origin !== location.origin) throw new Refusal("foreign");
    if (!["direct_post", "direct_post.jwt"].includes(payload.response_mode)) {
      throw new Refusal("newer");
    }
    return payload;
  }

  // -- the presentation (SD-JWT, RFC 9901 §4.3; KB-JWT §4.3.1) --------------------------------

  function sharedClaims(query, vct) {
    if (query.credentials.length !== 1) throw new Refusal("newer");
    const [cq] = query.credentials;
    if (cq.format !== "dc+sd-jwt" || !(cq.meta.vct_values || []).includes(vct)) {
      throw new Refusal("newer");
    }
    const names = cq.claims.map((c) => c.path[0]);
    const byId = Object.fromEntries(cq.claims.map((c) => [c.id, c.path[0]]));
    const sets = (cq.claim_sets || [cq.claims.map((c) => c.id)]).map((s) => s.map((i) => byId[i]));
    const required = sets.reduce((a, b) => (b.length < a.length ? b : a));
    const ticked = [...section.querySelectorAll("input[name=claims]:checked")].map((i) => i.value);
    const shared = names.filter((n) => required.includes(n) || ticked.includes(n));
    return { id: cq.id, shared };
  }

  async function presentation(request, pair) {
    const [issuerJwt, ...rest] = card.credential.split("~");
    const payload = w.jsonOf(issuerJwt.split(".")[1]);
    const mine = await w.publicJwk(pair);
    const bound = (payload.cnf || {}).jwk || {};
    if (bound.x !== mine.x || bound.y !== mine.y) throw new Refusal("otherKey");
    const { id, shared } = sharedClaims(request.dcql_query, payload.vct);
    const disclosures = rest.filter((d) => d && shared.includes(JSON.parse(w.fromB64u(d))[1]));
    const found = disclosures.map((d) => JSON.parse(w.fromB64u(d))[1]);
    if (found.length !== shared.length) throw new Refusal("newer");
    const sdJwt = `${[issuerJwt, ...disclosures].join("~")}~`;
    const kb = await w.signJwt(
      pair,
      { alg: "ES256", typ: "kb+jwt" },
      { iat: w.now(), aud: request.client_id, nonce: request.nonce, sd_hash: await w.sha256(sdJwt) },
    );
    return { vpToken: { [id]: [sdJwt + kb] }, shared };
  }

  // -- direct_post.jwt: JWE (RFC 7516) with ECDH-ES (RFC 7518 §4.6) and AES-GCM -------------

  function lengthPrefixed(bytes) {
    const out = new Uint8Array(4 + bytes.length);
    new DataView(out.buffer).setUint32(0, bytes.length);
    out.set(bytes, 4);
    return out;
  }

  async function concatKdf(secret, enc, bits) {
    const parts = [
      new Uint8Array([0, 0, 0, 1]),
      new Uint8Array(secret),
      lengthPrefixed(w.enc.encode(enc)),
      lengthPrefixed(new Uint8Array()),
      lengthPrefixed(new Uint8Array()),
      new Uint8Array([0, 0, bits >> 8, bits & 0xff]),
    ];
    const input = new Uint8Array(parts.reduce((n, x) => n + x.length, 0));
    let at = 0;
    for (const part of parts) {
      input.set(part, at);
      at += part.length;
    }
    return new Uint8Array(await crypto.subtle.digest("SHA-256", input)).slice(0, bits / 8);
  }

  async function encrypted(request, body) {
    const metadata = request.client_metadata || {};
    const jwk = ((metadata.jwks || {}).keys || []).find(
      (k) => k.kty === "EC" && k.crv === "P-256" && (k.alg || "ECDH-ES") === "ECDH-ES",
    );
    const offered = metadata.encrypted_response_enc_values_supported || ["A128GCM"];
    const enc = offered.find((e) => e === "A128GCM" || e === "A256GCM");
    if (!jwk || !enc) throw new Refusal("newer");
    const bits = enc === "A128GCM" ? 128 : 256;
    const verifier = await crypto.subtle.importKey(
      "jwk",
      { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y },
      { name: "ECDH", namedCurve: "P-256" },
      false,
      [],
    );
    const ephemeral = await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, false, [
      "deriveBits",
    ]);
    const secret = await crypto.subtle.deriveBits(
      { name: "ECDH", public: verifier },
      ephemeral.privateKey,
      256,
    );
    const cek = await crypto.subtle.importKey("raw", await concatKdf(secret, enc, bits), "AES-GCM", false, [
      "encrypt",
    ]);
    const epk = await w.publicJwk(ephemeral);
    const header = { alg: "ECDH-ES", enc, epk, ...(jwk.kid ? { kid: jwk.kid } : {}) };
    const protectedHeader = w.b64uJson(header);
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const sealed = new Uint8Array(
      await crypto.subtle.encrypt(
        { name: "AES-GCM", iv, additionalData: w.enc.encode(protectedHeader), tagLength: 128 },
        cek,
        w.enc.encode(JSON.stringify(body)),
      ),
    );
    const ciphertext = sealed.slice(0, sealed.length - 16);
    const tag = sealed.slice(sealed.length - 16);
    return `${protectedHeader}..${w.b64u(iv)}.${w.b64u(ciphertext)}.${w.b64u(tag)}`;
  }

  // -- sharing ----------------------------------------------------------------------------------

  const REASONS = {
    CREDENTIAL_SUSPENDED: "refusedSuspended",
    CREDENTIAL_REVOKED: "refusedRevoked",
    CREDENTIAL_EXPIRED: "refusedExpired",
    "the request has expired": "used",
    "this request was already answered": "used",
  };

  async function post(request, vpToken) {
    const fields =
      request.response_mode === "direct_post.jwt"
        ? { response: await encrypted(request, { vp_token: vpToken, state: request.state }) }
        : { vp_token: JSON.stringify(vpToken), state: request.state };
    const response = await fetch(request.response_uri, {
      method: "POST",
      cache: "no-store",
      credentials: "omit",
      headers: { Accept: "application/json" },
      body: new URLSearchParams(fields),
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) throw new Refusal(REASONS[answer.error_description] || "refused");
    return answer;
  }

  // The outcome replaces the question: a page of its own, naming the verifier.
  function showDone(shared, answer) {
    finish();
    section.hidden = true;
    const done = show("present-done");
    const list = done.querySelector("ul");
    for (const name of shared) {
      const item = document.createElement("li");
      item.textContent = section.querySelector(`[data-label="${CSS.escape(name)}"]`).textContent;
      list.append(item);
    }
    if (answer.redirect_uri) {
      const next = done.querySelector("[data-continue]");
      next.href = answer.redirect_uri;
      next.hidden = false;
    }
    eidApp.announce(texts.shared);
    eidApp.focus(done.querySelector("h2"));
  }

  function showFailed(reason) {
    section.hidden = true;
    const failed = show("present-failed");
    failed.querySelector("p").textContent = texts[reason] || texts.refused;
    eidApp.focus(failed.querySelector("h2"));
  }

  async function share() {
    shareButton.disabled = true;
    eidApp.announce(texts.sharing);
    let request = null;
    try {
      const pair = await w.holderKey(false);
      if (!pair) throw new Refusal("otherKey");
      request = await verifiedRequest(texts.walletUrl);
      const { vpToken, shared } = await presentation(request, pair);
      const answer = await post(request, vpToken);
      showDone(shared, answer);
    } catch (error) {
      finish();
      eidApp.announce("");
      showFailed(error instanceof Refusal ? error.message : "network");
    }
  }

  section.addEventListener("click", async (event) => {
    if (event.target.closest("[data-share]")) {
      share();
      return;
    }
    if (!event.target.closest("[data-decline]")) return;
    try {
      await eidApp.api("POST", "/api/v1/me/presentation-requests/decline", {
        wallet_url: texts.walletUrl,
      });
      finish();
      eidApp.announce(texts.declined);
    } catch (_) {
      // eidApp.api has shown the error in the page's alert region.
    }
  });

  if (!window.indexedDB || !window.crypto || !crypto.subtle) {
    if (state) state.textContent = texts.noCard;
    return;
  }
  checkCard();
})();
