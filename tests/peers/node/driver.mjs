// One step of a relying party's code flow, done by an independent library: panva's
// `openid-client` 6 or `oauth4webapi` 3 (versions pinned by package-lock.json). Driven by
// tests/identity/test_oidc_node_peers.py: reads one JSON request on stdin, prints one JSON answer.
//
//   {"lib": "openid-client"|"oauth4webapi", "step": "keys"|"authorize"|"callback"|"logout",
//    "issuer", "client_id", "client_secret"?, "redirect_uri", "scope", "params"?: {...},
//    "fapi"?: bool, "jar"?: bool, "state"?: {... what "authorize" answered ...}, "callback"?: url,
//    "max_age"?: int, "id_token"?: str}
//
// The Python side plays the holder's browser between "authorize" and "callback" and carries the
// state (PKCE verifier, state, nonce, and in the FAPI flow the client's and the DPoP private
// keys) from one step to the next. "jar": the client has keys (private_key_jwt) and sends its
// authorization request as a signed request object (RFC 9101), straight to the authorization
// endpoint, as the library builds it. Test only: the keys travel in the clear between processes.
//
// The issuer in the tests is plain http://127.0.0.1:<port>: both libraries refuse http unless
// told otherwise (`allowInsecureRequests`). That option is for these tests only; a relying party
// in production never sets it.
import { createHash, webcrypto } from "node:crypto";
import * as client from "openid-client";
import * as oauth from "oauth4webapi";

const subtle = webcrypto.subtle;
const ES256 = { name: "ECDSA", namedCurve: "P-256" };
const INSECURE = { [oauth.allowInsecureRequests]: true }; // tests only: http issuer

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

function atHash(accessToken) {
  const digest = createHash("sha256").update(accessToken, "ascii").digest();
  return digest.subarray(0, digest.length / 2).toString("base64url");
}

async function newKeyPair() {
  const pair = await subtle.generateKey(ES256, true, ["sign", "verify"]);
  return {
    privateJwk: await subtle.exportKey("jwk", pair.privateKey),
    publicJwk: await subtle.exportKey("jwk", pair.publicKey),
  };
}

async function importPair(saved) {
  return {
    privateKey: await subtle.importKey("jwk", saved.privateJwk, ES256, false, ["sign"]),
    publicKey: await subtle.importKey("jwk", saved.publicJwk, ES256, true, ["verify"]),
  };
}

function describe(error) {
  const out = { name: error?.name, message: error?.message, code: error?.code };
  if (error?.error) out.error = error.error;
  if (error?.error_description) out.error_description = error.error_description;
  if (error?.status) out.status = error.status;
  if (error?.cause && typeof error.cause === "object" && !(error.cause instanceof Response)) {
    try {
      out.cause = JSON.parse(JSON.stringify(error.cause));
    } catch {
      out.cause = String(error.cause);
    }
  }
  return out;
}

// ---------------------------------------------------------------- the FAPI client's own keys

async function stepKeys() {
  // The key a FAPI 2.0 client signs its private_key_jwt assertions with; its public half is
  // registered with the server (`eid client create --profile fapi2 --jwks FILE`).
  const clientKey = await newKeyPair();
  const kid = "rp-" + Date.now().toString(36);
  clientKey.privateJwk.kid = kid;
  clientKey.publicJwk.kid = kid;
  return {
    jwks: { keys: [{ ...clientKey.publicJwk, use: "sig", alg: "ES256" }] },
    client_key: clientKey,
  };
}

// ---------------------------------------------------------------- openid-client 6

async function oidcConfig(req, clientKey) {
  let auth;
  if (req.fapi || req.jar) {
    const { privateKey } = await importPair(clientKey);
    auth = client.PrivateKeyJwt({ key: privateKey, kid: clientKey.privateJwk.kid });
  } else {
    auth = client.ClientSecretBasic(req.client_secret);
  }
  const config = await client.discovery(
    new URL(req.issuer),
    req.client_id,
    req.fapi ? { id_token_signed_response_alg: "ES256" } : undefined,
    auth,
    { execute: [client.allowInsecureRequests] }, // tests only: the issuer is http
  );
  // Verify the ID token's signature against the published JWKS too (the library's default
  // trusts TLS to the token endpoint for it).
  client.enableNonRepudiationChecks(config);
  return config;
}

async function openidClientAuthorize(req) {
  const state = {
    code_verifier: client.randomPKCECodeVerifier(),
    state: client.randomState(),
    nonce: client.randomNonce(),
  };
  const params = {
    redirect_uri: req.redirect_uri,
    scope: req.scope,
    code_challenge: await client.calculatePKCECodeChallenge(state.code_verifier),
    code_challenge_method: "S256",
    state: state.state,
    nonce: state.nonce,
    ...(req.params ?? {}),
  };
  if (req.jar) {
    state.client_key = req.state.client_key;
    const config = await oidcConfig(req, state.client_key);
    const { privateKey } = await importPair(state.client_key);
    const url = await client.buildAuthorizationUrlWithJAR(config, params, {
      key: privateKey,
      kid: state.client_key.privateJwk.kid,
    });
    return { url: url.href, state };
  }
  if (!req.fapi) {
    const config = await oidcConfig(req);
    return { url: client.buildAuthorizationUrl(config, params).href, state };
  }
  state.client_key = req.state.client_key;
  state.dpop_key = await newKeyPair();
  const config = await oidcConfig(req, state.client_key);
  const DPoP = client.getDPoPHandle(config, await importPair(state.dpop_key));
  const url = await client.buildAuthorizationUrlWithPAR(config, params, { DPoP });
  return { url: url.href, state };
}

async function openidClientCallback(req) {
  const s = req.state;
  const config = await oidcConfig(req, s.client_key);
  const DPoP = s.dpop_key ? client.getDPoPHandle(config, await importPair(s.dpop_key)) : undefined;
  const tokens = await client.authorizationCodeGrant(
    config,
    new URL(req.callback),
    {
      pkceCodeVerifier: s.code_verifier,
      expectedState: s.state,
      expectedNonce: s.nonce,
      idTokenExpected: true,
      ...(req.max_age !== undefined ? { maxAge: req.max_age } : {}),
    },
    undefined,
    DPoP ? { DPoP } : undefined,
  );
  const claims = tokens.claims();
  const out = {
    token_type: tokens.token_type,
    claims,
    id_token: tokens.id_token,
    at_hash_ok: claims.at_hash === atHash(tokens.access_token),
    access_token: tokens.access_token,
    signature_ok: true, // enableNonRepudiationChecks: the library refuses a bad signature
  };
  out.userinfo = await client.fetchUserInfo(
    config,
    tokens.access_token,
    claims.sub,
    DPoP ? { DPoP } : undefined,
  );
  if (DPoP) {
    // A DPoP-bound token used as a plain bearer token must be refused.
    const bearer = await fetch(config.serverMetadata().userinfo_endpoint, {
      headers: { Authorization: `Bearer ${tokens.access_token}` },
    });
    out.bearer_use_status = bearer.status;
  }
  const refreshed = await client.refreshTokenGrant(
    config,
    tokens.refresh_token,
    undefined,
    DPoP ? { DPoP } : undefined,
  );
  out.refresh = {
    rotated: refreshed.refresh_token !== tokens.refresh_token,
    new_access_token: refreshed.access_token !== tokens.access_token,
    claims: refreshed.id_token ? refreshed.claims() : null,
  };
  // The old refresh token is dead after rotation (and its reuse ends the family).
  if (req.check_reuse === false) out.reuse = null;
  else try {
    await client.refreshTokenGrant(config, tokens.refresh_token, undefined, DPoP ? { DPoP } : undefined);
    out.reuse = { refused: false };
  } catch (error) {
    out.reuse = { refused: true, ...describe(error) };
  }
  out.refresh_token = refreshed.refresh_token;
  out.rotated_access_token = refreshed.access_token;
  return out;
}

async function openidClientRevoke(req) {
  const config = await oidcConfig(req);
  await client.tokenRevocation(config, req.token, { token_type_hint: req.token_type_hint });
  return { revoked: true };
}

async function openidClientLogout(req) {
  const config = await oidcConfig(req);
  const url = client.buildEndSessionUrl(config, {
    id_token_hint: req.id_token,
    post_logout_redirect_uri: req.post_logout_redirect_uri,
    state: req.logout_state,
  });
  return { url: url.href };
}

// ---------------------------------------------------------------- oauth4webapi 3

async function verifyIdTokenSignature(as, idToken) {
  // oauth4webapi trusts TLS to the token endpoint for the ID token's signature (OpenID Connect
  // Core 3.1.3.7 allows it); the test checks it against the published JWKS as well.
  const [header, payload, signature] = idToken.split(".");
  const { alg, kid } = JSON.parse(Buffer.from(header, "base64url").toString("utf8"));
  if (alg !== "ES256") throw new Error(`unexpected ID token alg ${alg}`);
  const jwks = await (await fetch(as.jwks_uri)).json();
  const jwk = jwks.keys.find((k) => k.kid === kid);
  if (!jwk) throw new Error(`kid ${kid} not in the JWKS`);
  const key = await subtle.importKey("jwk", jwk, ES256, false, ["verify"]);
  return subtle.verify(
    { name: "ECDSA", hash: "SHA-256" },
    key,
    Buffer.from(signature, "base64url"),
    Buffer.from(`${header}.${payload}`, "ascii"),
  );
}

async function authorizationServer(req) {
  const issuer = new URL(req.issuer);
  const response = await oauth.discoveryRequest(issuer, { algorithm: "oidc", ...INSECURE });
  return oauth.processDiscoveryResponse(issuer, response);
}

async function o4wClientAuth(req, clientKey) {
  if (req.fapi || req.jar) {
    const { privateKey } = await importPair(clientKey);
    return oauth.PrivateKeyJwt({ key: privateKey, kid: clientKey.privateJwk.kid });
  }
  return oauth.ClientSecretBasic(req.client_secret);
}

async function o4wAuthorize(req) {
  const as = await authorizationServer(req);
  const state = {
    code_verifier: oauth.generateRandomCodeVerifier(),
    state: oauth.generateRandomState(),
    nonce: oauth.generateRandomNonce(),
  };
  const params = new URLSearchParams({
    client_id: req.client_id,
    redirect_uri: req.redirect_uri,
    response_type: "code",
    scope: req.scope,
    code_challenge: await oauth.calculatePKCECodeChallenge(state.code_verifier),
    code_challenge_method: "S256",
    state: state.state,
    nonce: state.nonce,
  });
  for (const [k, v] of Object.entries(req.params ?? {})) params.set(k, String(v));
  const url = new URL(as.authorization_endpoint);
  if (req.jar) {
    state.client_key = req.state.client_key;
    const { privateKey } = await importPair(state.client_key);
    const request = await oauth.issueRequestObject(as, { client_id: req.client_id }, params, {
      key: privateKey,
      kid: state.client_key.privateJwk.kid,
    });
    url.search = new URLSearchParams({ client_id: req.client_id, request }).toString();
    return { url: url.href, state };
  }
  if (!req.fapi) {
    url.search = params.toString();
    return { url: url.href, state };
  }
  state.client_key = req.state.client_key;
  state.dpop_key = await newKeyPair();
  const c = { client_id: req.client_id };
  const DPoP = oauth.DPoP(c, await importPair(state.dpop_key));
  const auth = await o4wClientAuth(req, state.client_key);
  const result = await withDpopRetry(DPoP, async () =>
    oauth.processPushedAuthorizationResponse(
      as, c,
      await oauth.pushedAuthorizationRequest(as, c, auth, params, { DPoP, ...INSECURE }),
    ),
  );
  url.search = new URLSearchParams({ client_id: req.client_id, request_uri: result.request_uri }).toString();
  return { url: url.href, state };
}

async function withDpopRetry(DPoP, call) {
  // A server may ask for a DPoP nonce first; the library remembers it, the call is repeated.
  try {
    return await call();
  } catch (error) {
    if (DPoP && oauth.isDPoPNonceError(error)) return await call();
    throw error;
  }
}

async function o4wCallback(req) {
  const s = req.state;
  const as = await authorizationServer(req);
  const c = { client_id: req.client_id, ...(s.client_key ? { id_token_signed_response_alg: "ES256" } : {}) };
  const auth = await o4wClientAuth(req, s.client_key);
  const DPoP = s.dpop_key ? oauth.DPoP(c, await importPair(s.dpop_key)) : undefined;
  const opts = { ...INSECURE, ...(DPoP ? { DPoP } : {}) };
  const params = oauth.validateAuthResponse(as, c, new URL(req.callback), s.state);
  const result = await withDpopRetry(DPoP, async () => {
    const response = await oauth.authorizationCodeGrantRequest(
      as, c, auth, params, req.redirect_uri, s.code_verifier, opts,
    );
    return oauth.processAuthorizationCodeResponse(as, c, response, {
      expectedNonce: s.nonce,
      requireIdToken: true,
      ...(req.max_age !== undefined ? { maxAge: req.max_age } : {}),
    });
  });
  const claims = oauth.getValidatedIdTokenClaims(result);
  const out = {
    token_type: result.token_type,
    claims,
    id_token: result.id_token,
    at_hash_ok: claims.at_hash === atHash(result.access_token),
    access_token: result.access_token,
    signature_ok: await verifyIdTokenSignature(as, result.id_token),
  };
  const ui = await withDpopRetry(DPoP, async () =>
    oauth.processUserInfoResponse(
      as, c, claims.sub,
      await oauth.userInfoRequest(as, c, result.access_token, opts),
    ),
  );
  out.userinfo = ui;
  if (DPoP) {
    const bearer = await fetch(as.userinfo_endpoint, {
      headers: { Authorization: `Bearer ${result.access_token}` },
    });
    out.bearer_use_status = bearer.status;
  }
  const refreshed = await withDpopRetry(DPoP, async () =>
    oauth.processRefreshTokenResponse(
      as, c,
      await oauth.refreshTokenGrantRequest(as, c, auth, result.refresh_token, opts),
    ),
  );
  out.refresh = {
    rotated: refreshed.refresh_token !== result.refresh_token,
    new_access_token: refreshed.access_token !== result.access_token,
    claims: refreshed.id_token ? oauth.getValidatedIdTokenClaims(refreshed) : null,
  };
  if (req.check_reuse === false) out.reuse = null;
  else try {
    await oauth.processRefreshTokenResponse(
      as, c,
      await oauth.refreshTokenGrantRequest(as, c, auth, result.refresh_token, opts),
    );
    out.reuse = { refused: false };
  } catch (error) {
    out.reuse = { refused: true, ...describe(error) };
  }
  out.refresh_token = refreshed.refresh_token;
  out.rotated_access_token = refreshed.access_token;
  return out;
}

async function o4wRevoke(req) {
  const as = await authorizationServer(req);
  const c = { client_id: req.client_id };
  const response = await oauth.revocationRequest(
    as, c, await o4wClientAuth(req), req.token,
    { ...INSECURE, additionalParameters: { token_type_hint: req.token_type_hint } },
  );
  await oauth.processRevocationResponse(response);
  return { revoked: true };
}

async function o4wLogout(req) {
  const as = await authorizationServer(req);
  if (!as.end_session_endpoint) throw new Error("discovery has no end_session_endpoint");
  const url = new URL(as.end_session_endpoint);
  url.search = new URLSearchParams({
    client_id: req.client_id,
    id_token_hint: req.id_token,
    post_logout_redirect_uri: req.post_logout_redirect_uri,
    state: req.logout_state,
  }).toString();
  return { url: url.href };
}

// ---------------------------------------------------------------- dispatch

const STEPS = {
  "openid-client": {
    keys: stepKeys,
    authorize: openidClientAuthorize,
    callback: openidClientCallback,
    revoke: openidClientRevoke,
    logout: openidClientLogout,
  },
  oauth4webapi: {
    keys: stepKeys,
    authorize: o4wAuthorize,
    callback: o4wCallback,
    revoke: o4wRevoke,
    logout: o4wLogout,
  },
};

const req = await readStdin();
try {
  const result = await STEPS[req.lib][req.step](req);
  process.stdout.write(JSON.stringify({ ok: true, result }));
} catch (error) {
  process.stdout.write(JSON.stringify({ ok: false, error: describe(error) }));
}
