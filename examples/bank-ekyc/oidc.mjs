// The bank's side of the e-ID login, all of it done by panva's OpenID-certified `openid-client`:
// discovery, the authorization request (pushed with PAR in FAPI 2.0), the code exchange with
// private_key_jwt and DPoP, ID-token validation (signature, iss, aud, nonce, at_hash), userinfo,
// and the end-session URL. Nothing here parses a token by hand.
import * as client from "openid-client";

// Level 2: the holder was verified in person against the immigration record (see docs/).
export const ACR_LEVEL2 = "urn:eid:vn:level2";

export async function connect({ issuer, clientId, clientSecret, profile, key, insecure }) {
  const auth =
    profile === "fapi2"
      ? client.PrivateKeyJwt({ key: key.privateKey, kid: key.kid })
      : client.ClientSecretBasic(clientSecret);
  const config = await client.discovery(
    issuer,
    clientId,
    { id_token_signed_response_alg: "ES256" },
    auth,
    // eid on plain http is only allowed on loopback (bank.mjs refuses it elsewhere).
    insecure ? { execute: [client.allowInsecureRequests] } : undefined,
  );
  // The ID token's signature is checked against eid's published JWKS too (the library would
  // otherwise trust TLS to the token endpoint for it; a bank keeps the signed evidence).
  client.enableNonRepudiationChecks(config);
  return { config, profile };
}

/** A new login: what the bank keeps server-side, and where the browser goes. */
export async function beginLogin(rp, { redirectUri, scope, language }) {
  const login = {
    codeVerifier: client.randomPKCECodeVerifier(),
    state: client.randomState(),
    nonce: client.randomNonce(),
    // A DPoP key per login, never extractable: the tokens eid issues are bound to it.
    dpopKeys: rp.profile === "fapi2" ? await client.randomDPoPKeyPair("ES256") : null,
  };
  const params = {
    redirect_uri: redirectUri,
    scope,
    code_challenge: await client.calculatePKCECodeChallenge(login.codeVerifier),
    code_challenge_method: "S256",
    state: login.state,
    nonce: login.nonce,
    acr_values: ACR_LEVEL2,
    ui_locales: language,
  };
  const url =
    rp.profile === "fapi2"
      ? await client.buildAuthorizationUrlWithPAR(rp.config, params, { DPoP: dpop(rp, login) })
      : client.buildAuthorizationUrl(rp.config, params);
  return { login, url: url.href };
}

function dpop(rp, login) {
  return login.dpopKeys ? client.getDPoPHandle(rp.config, login.dpopKeys) : undefined;
}

/** The callback: the code exchanged, the ID token checked, the eKYC claims fetched. */
export async function finishLogin(rp, login, callbackUrl) {
  const DPoP = dpop(rp, login);
  const tokens = await client.authorizationCodeGrant(
    rp.config,
    callbackUrl,
    {
      pkceCodeVerifier: login.codeVerifier,
      expectedState: login.state,
      expectedNonce: login.nonce,
      idTokenExpected: true,
    },
    undefined,
    DPoP ? { DPoP } : undefined,
  );
  const idClaims = tokens.claims();
  if (idClaims.acr !== ACR_LEVEL2) {
    const error = new Error(`the e-ID login was at ${idClaims.acr}, the bank needs ${ACR_LEVEL2}`);
    error.code = "BANK_LEVEL2_REQUIRED";
    throw error;
  }
  const userinfo = await client.fetchUserInfo(rp.config, tokens.access_token, idClaims.sub, DPoP ? { DPoP } : undefined);
  return {
    subject: idClaims.sub,
    acr: idClaims.acr,
    authTime: idClaims.auth_time,
    idToken: tokens.id_token,
    tokenType: tokens.token_type,
    claims: { ...userinfo },
  };
}

export function logoutUrl(rp, { idToken, postLogoutRedirectUri, state, language }) {
  return client
    .buildEndSessionUrl(rp.config, {
      id_token_hint: idToken,
      post_logout_redirect_uri: postLogoutRedirectUri,
      state,
      ui_locales: language,
    })
    .href;
}

/** What went wrong, in words for the bank's error page (no tokens, no personal data). */
export function describeError(error) {
  if (error instanceof client.AuthorizationResponseError) return { code: error.error, detail: error.error_description };
  if (error instanceof client.ResponseBodyError) return { code: error.error, detail: error.error_description };
  return { code: error?.code ?? "error", detail: error?.message };
}
