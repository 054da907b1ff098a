// The same third-party wallet (@openid4vc/openid4vci, @openid4vc/oauth2, @sd-jwt/sd-jwt-vc) in
// the authorization code flow of OpenID4VCI 1.0 as a client registered with eid (a public
// client): it resolves an offer with the `authorization_code` grant, asks for the card by
// `authorization_details` (§5.1.1, RFC 9396) with the offer's `issuer_state` (§5.1.3), pushed
// (PAR, DPoP-bound, PKCE S256) as the library does when the server has a PAR endpoint; the
// holder signs in and consents in the browser (the Python test plays the holder); the wallet
// redeems the code, reads the `credential_identifiers` of the token response (§6.2), checks that
// the credential endpoint refuses the configuration id for such a token, asks with the
// identifier (§8.2) and verifies the card.
//
//   node wallet-authorization-code.mjs '<openid-credential-offer://...>' <client_id> <redirect_uri>
//
// Talks in JSON lines: first {"authorization_request_url": ...} on stdout, then it reads the
// URL the browser was sent back to (one line on stdin), then prints {ok: true, ...} or
// {ok: false, error, ...}.

import { createInterface } from "node:readline";
import { Openid4vciClient } from "@openid4vc/openid4vci";
import { clientAuthenticationNone, resourceRequest } from "@openid4vc/oauth2";
import { SDJwtVcInstance } from "@sd-jwt/sd-jwt-vc";
import { digest as sdDigest } from "@sd-jwt/crypto-nodejs";
import { callbacksWith, keys, newKey, verifierFor } from "./common.mjs";

const [offerUri, clientId, redirectUri] = process.argv.slice(2);
const callbacks = callbacksWith(clientAuthenticationNone({ clientId }));
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

async function browserReturn(authorizationRequestUrl) {
  process.stdout.write(JSON.stringify({ authorization_request_url: authorizationRequestUrl }) + "\n");
  const { value, done } = await lines.next();
  if (done) throw new Error("no redirect URL on stdin");
  return value.trim();
}

async function main() {
  const steps = [];
  const client = new Openid4vciClient({ callbacks });

  const credentialOffer = await client.resolveCredentialOffer(offerUri);
  steps.push("offer");
  const issuerMetadata = await client.resolveIssuerMetadata(credentialOffer.credential_issuer);
  steps.push("metadata");
  const [authorizationServer] = issuerMetadata.authorizationServers;
  const configurationId = credentialOffer.credential_configuration_ids[0];
  const issuer = credentialOffer.credential_issuer;

  const dpopKey = await newKey();
  keys.set(JSON.stringify(dpopKey.publicJwk), dpopKey.pair);
  const authorizationDetails = [
    { type: "openid_credential", credential_configuration_id: configurationId, locations: [issuer] },
  ];
  // The library adds the offer's issuer_state itself, and pushes the request (PAR).
  const { authorizationRequestUrl, pkce, dpop } = await client.initiateAuthorization({
    clientId,
    credentialOffer,
    issuerMetadata,
    redirectUri,
    additionalRequestPayload: { authorization_details: authorizationDetails },
    dpop: { signer: { method: "jwk", alg: "ES256", publicJwk: dpopKey.publicJwk } },
  });
  steps.push("authorization_request");

  const returned = await browserReturn(authorizationRequestUrl);
  const authorizationResponse = client.parseAndVerifyAuthorizationResponseRedirectUrl({
    url: returned,
    authorizationServerMetadata: authorizationServer,
  });
  if (!authorizationResponse.code) {
    return { ok: false, steps, error: authorizationResponse.error, detail: authorizationResponse };
  }
  steps.push("authorization_response");

  const token = await client.retrieveAuthorizationCodeAccessTokenFromOffer({
    issuerMetadata,
    credentialOffer,
    authorizationCode: authorizationResponse.code,
    pkceCodeVerifier: pkce?.codeVerifier,
    redirectUri,
    dpop,
  });
  const { accessTokenResponse } = token;
  steps.push("token");
  const granted = accessTokenResponse.authorization_details ?? [];
  const entry = granted.find((d) => d.credential_configuration_id === configurationId);
  const credentialIdentifier = entry?.credential_identifiers?.[0];
  if (!credentialIdentifier) throw new Error("no credential_identifiers in the token response");

  const { c_nonce } = await client.requestNonce({ issuerMetadata });
  steps.push("nonce");
  const holderKey = await newKey();
  keys.set(JSON.stringify(holderKey.publicJwk), holderKey.pair);
  const proof = await client.createCredentialRequestJwtProof({
    issuerMetadata,
    credentialConfigurationId: configurationId,
    signer: { method: "jwk", alg: "ES256", publicJwk: holderKey.publicJwk },
    nonce: c_nonce,
    clientId,
  });
  steps.push("proof");

  // §8.2: identifiers were issued, so the configuration id is refused (the nonce is not spent).
  let byConfigurationId = null;
  try {
    await client.retrieveCredentials({
      issuerMetadata,
      accessToken: accessTokenResponse.access_token,
      credentialConfigurationId: configurationId,
      proofs: { jwt: [proof.jwt] },
      dpop: token.dpop,
    });
  } catch (error) {
    byConfigurationId =
      error?.response?.credentialErrorResponseResult?.data?.error ?? String(error);
  }

  // The library's credential request always names a configuration id, so the request with the
  // identifier goes through its resource request (DPoP proof with `ath`).
  const response = await resourceRequest({
    callbacks,
    accessToken: accessTokenResponse.access_token,
    dpop: token.dpop,
    url: issuerMetadata.credentialIssuer.credential_endpoint,
    requestOptions: {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        credential_identifier: credentialIdentifier,
        proofs: { jwt: [proof.jwt] },
      }),
    },
  });
  const answer = await response.response.json();
  if (!response.ok) return { ok: false, steps, error: answer.error, detail: answer };
  steps.push("credential");
  const credential = answer.credentials[0].credential;

  const sdjwt = new SDJwtVcInstance({ hasher: sdDigest, verifier: verifierFor(issuer) });
  const verified = await sdjwt.verify(credential);
  steps.push("verified");
  return {
    ok: true,
    steps,
    authorization_details_types_supported:
      authorizationServer.authorization_details_types_supported ?? null,
    issuer_state_sent: Boolean(credentialOffer.grants?.authorization_code?.issuer_state),
    pushed: authorizationRequestUrl.includes("request_uri="),
    token_type: accessTokenResponse.token_type,
    token_authorization_details: granted,
    by_configuration_id_error: byConfigurationId,
    claims: verified.payload,
    cnf_is_holder_key:
      JSON.stringify(verified.payload.cnf?.jwk) === JSON.stringify(holderKey.publicJwk),
  };
}

main()
  .then((result) => {
    process.stdout.write(JSON.stringify(result) + "\n");
    process.exit(result.ok ? 0 : 1);
  })
  .catch((error) => {
    process.stdout.write(
      JSON.stringify({
        ok: false,
        error: String(error?.message ?? error),
        detail: error?.response ?? error?.errorResponse ?? error?.cause ?? null,
      }) + "\n",
    );
    process.exit(1);
  });
