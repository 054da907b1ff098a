// A third-party wallet built on the OpenWallet Foundation's libraries (@openid4vc/openid4vci,
// @openid4vc/oauth2, @sd-jwt/sd-jwt-vc): it resolves eid's credential offer, gets an access
// token with the pre-authorized code and the transaction code (DPoP-bound), gets a nonce, signs
// the proof, obtains the card and verifies it (signature, status list) as a wallet would.
//
//   node wallet.mjs '<openid-credential-offer://...>' <tx_code>
//
// Prints one JSON object: {ok: true, ...} or {ok: false, error, ...}. Keys are made here with
// Node's WebCrypto (ES256); nothing is shared with the Python side but the offer and the code.
// The tests' issuer is plain http on 127.0.0.1: `allowInsecureUrls` (tests only).

import { webcrypto, X509Certificate, createPublicKey, verify as nodeVerify } from "node:crypto";
import { setGlobalConfig } from "@openid4vc/utils";
import { Openid4vciClient } from "@openid4vc/openid4vci";
import { clientAuthenticationAnonymous } from "@openid4vc/oauth2";
import { SDJwtVcInstance } from "@sd-jwt/sd-jwt-vc";
import { digest as sdDigest } from "@sd-jwt/crypto-nodejs";

setGlobalConfig({ allowInsecureUrls: true });
const subtle = webcrypto.subtle;

const b64u = (bytes) => Buffer.from(bytes).toString("base64url");
const b64uJson = (value) => b64u(Buffer.from(JSON.stringify(value)));
const fromB64uJson = (text) => JSON.parse(Buffer.from(text, "base64url").toString());

async function newKey() {
  const pair = await subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ]);
  const { kty, crv, x, y } = await subtle.exportKey("jwk", pair.publicKey);
  return { pair, publicJwk: { kty, crv, x, y } };
}

const keys = new Map(); // thumbprint-less lookup: JSON of the public JWK -> key pair

async function signJwt(signer, { header, payload }) {
  if (signer.method !== "jwk" || signer.alg !== "ES256") {
    throw new Error(`unsupported signer ${signer.method} ${signer.alg}`);
  }
  const pair = keys.get(JSON.stringify(signer.publicJwk));
  const input = `${b64uJson(header)}.${b64uJson(payload)}`;
  const signature = await subtle.sign(
    { name: "ECDSA", hash: "SHA-256" },
    pair.privateKey,
    Buffer.from(input),
  );
  return { jwt: `${input}.${b64u(new Uint8Array(signature))}`, signerJwk: signer.publicJwk };
}

async function hash(data, alg) {
  const name = { "sha-256": "SHA-256", "sha-384": "SHA-384", "sha-512": "SHA-512" }[alg];
  return new Uint8Array(await subtle.digest(name, data));
}

const callbacks = {
  signJwt,
  hash,
  generateRandom: (n) => webcrypto.getRandomValues(new Uint8Array(n)),
  clientAuthentication: clientAuthenticationAnonymous(),
  fetch,
};

// The issuer's key for a JWT: its x5c leaf certificate when it has one, else its `kid` in the
// issuer's published JWKS.
async function issuerKey(issuer, header) {
  if (Array.isArray(header.x5c) && header.x5c.length) {
    return new X509Certificate(Buffer.from(header.x5c[0], "base64")).publicKey;
  }
  const jwks = await (await fetch(`${issuer}/api/v1/wallet/issuer/jwks`)).json();
  const jwk = jwks.keys.find((k) => !header.kid || k.kid === header.kid);
  if (!jwk) throw new Error(`no issuer key for kid ${header.kid}`);
  return createPublicKey({ key: jwk, format: "jwk" });
}

function verifierFor(issuer) {
  return async (data, signature) => {
    const header = fromB64uJson(data.split(".")[0]);
    const key = await issuerKey(issuer, header);
    const sig = Buffer.from(signature, "base64url");
    if (header.alg === "EdDSA" || header.alg === "Ed25519") {
      return nodeVerify(null, Buffer.from(data), key, sig);
    }
    if (header.alg === "ES256") {
      return nodeVerify("sha256", Buffer.from(data), { key, dsaEncoding: "ieee-p1363" }, sig);
    }
    throw new Error(`unexpected issuer alg ${header.alg}`);
  };
}

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
