// What both drivers of this wallet share (wallet.mjs: the pre-authorized code;
// wallet-authorization-code.mjs: the authorization code flow): keys made with Node's WebCrypto
// (ES256), the signing and hashing callbacks of @openid4vc, and the check of the issuer's
// signature on the card. The tests' issuer is plain http on 127.0.0.1: `allowInsecureUrls`
// (tests only).

import { webcrypto, X509Certificate, createPublicKey, verify as nodeVerify } from "node:crypto";
import { setGlobalConfig } from "@openid4vc/utils";

setGlobalConfig({ allowInsecureUrls: true });
const subtle = webcrypto.subtle;

export const b64u = (bytes) => Buffer.from(bytes).toString("base64url");
export const b64uJson = (value) => b64u(Buffer.from(JSON.stringify(value)));
export const fromB64uJson = (text) => JSON.parse(Buffer.from(text, "base64url").toString());

export async function newKey() {
  const pair = await subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ]);
  const { kty, crv, x, y } = await subtle.exportKey("jwk", pair.publicKey);
  return { pair, publicJwk: { kty, crv, x, y } };
}

export const keys = new Map(); // thumbprint-less lookup: JSON of the public JWK -> key pair

export async function signJwt(signer, { header, payload }) {
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

export async function hash(data, alg) {
  const name = { "sha-256": "SHA-256", "sha-384": "SHA-384", "sha-512": "SHA-512" }[alg];
  return new Uint8Array(await subtle.digest(name, data));
}

export function callbacksWith(clientAuthentication) {
  return {
    signJwt,
    hash,
    generateRandom: (n) => webcrypto.getRandomValues(new Uint8Array(n)),
    clientAuthentication,
    fetch,
  };
}

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

export function verifierFor(issuer) {
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

