// A third-party wallet built on the OpenWallet Foundation's libraries (@openid4vc/openid4vci,
// @openid4vc/oauth2, @sd-jwt/sd-jwt-vc): it resolves eid's credential offer, gets an access
// token with the pre-authorized code and the transaction code (DPoP-bound), gets a nonce, signs
// the proof, obtains the card and verifies it (signature, status list) as a wallet would.
//
//   node wallet.mjs '<openid-credential-offer://...>' <tx_code>
//
// Prints one JSON object: {ok: true, ...} or {ok: false, error, ...}. Keys are made with Node's
// WebCrypto (ES256, common.mjs); nothing is shared with the Python side but the offer and the
// code.

import { Openid4vciClient } from "@openid4vc/openid4vci";
import { clientAuthenticationAnonymous } from "@openid4vc/oauth2";
import { SDJwtVcInstance } from "@sd-jwt/sd-jwt-vc";
import { digest as sdDigest } from "@sd-jwt/crypto-nodejs";
import { callbacksWith, keys, newKey, verifierFor } from "./common.mjs";

const callbacks = callbacksWith(clientAuthenticationAnonymous());

async function main() {
  const [offerUri, txCode] = process.argv.slice(2);
  const steps = [];
  const client = new Openid4vciClient({ callbacks });

  const credentialOffer = await client.resolveCredentialOffer(offerUri);
  steps.push("offer");
  const issuerMetadata = await client.resolveIssuerMetadata(credentialOffer.credential_issuer);
  steps.push("metadata");
  const configurationId = credentialOffer.credential_configuration_ids[0];
  const configuration =
    issuerMetadata.credentialIssuer.credential_configurations_supported[configurationId];

  const dpopKey = await newKey();
  keys.set(JSON.stringify(dpopKey.publicJwk), dpopKey.pair);
  const { accessTokenResponse, dpop } = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({
    credentialOffer,
    issuerMetadata,
    txCode,
    dpop: { signer: { method: "jwk", alg: "ES256", publicJwk: dpopKey.publicJwk } },
  });
  steps.push("token");

  const { c_nonce } = await client.requestNonce({ issuerMetadata });
  steps.push("nonce");
  const holderKey = await newKey();
  keys.set(JSON.stringify(holderKey.publicJwk), holderKey.pair);
  const proof = await client.createCredentialRequestJwtProof({
    issuerMetadata,
    credentialConfigurationId: configurationId,
    signer: { method: "jwk", alg: "ES256", publicJwk: holderKey.publicJwk },
    nonce: c_nonce,
  });
  steps.push("proof");

  const response = await client.retrieveCredentials({
    issuerMetadata,
    accessToken: accessTokenResponse.access_token,
    credentialConfigurationId: configurationId,
    proofs: { jwt: [proof.jwt] },
    dpop,
  });
  steps.push("credential");
  const credential = response.credentialResponse.credentials[0].credential;

  const sdjwt = new SDJwtVcInstance({
    hasher: sdDigest,
    verifier: verifierFor(credentialOffer.credential_issuer),
  });
  const verified = await sdjwt.verify(credential);
  steps.push("verified");
  // A nonce answers once: the same proof again is refused with invalid_nonce.
  let replay = null;
  try {
    await client.retrieveCredentials({
      issuerMetadata,
      accessToken: accessTokenResponse.access_token,
      credentialConfigurationId: configurationId,
      proofs: { jwt: [proof.jwt] },
      dpop: { ...dpop, nonce: undefined },
    });
  } catch (error) {
    replay = error?.response?.credentialErrorResponseResult?.data?.error ?? String(error);
  }
  return {
    ok: true,
    // The configurations the library validated against its own schema of their format.
    known_configurations: Object.keys(issuerMetadata.knownCredentialConfigurations),
    steps,
    configuration_id: configurationId,
    format: configuration.format,
    token_type: accessTokenResponse.token_type,
    claims: verified.payload,
    header: verified.header,
    cnf_is_holder_key:
      JSON.stringify(verified.payload.cnf?.jwk) === JSON.stringify(holderKey.publicJwk),
    replay_error: replay,
  };
}

main()
  .then((result) => process.stdout.write(JSON.stringify(result)))
  .catch((error) => {
    process.stdout.write(
      JSON.stringify({
        ok: false,
        error: String(error?.message ?? error),
        detail: error?.response ?? error?.errorResponse ?? error?.cause ?? null,
      }),
    );
    process.exitCode = 1;
  });
