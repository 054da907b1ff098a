// An independent wallet for the e-residence card, built from the OpenWallet Foundation's
// libraries (@openid4vc/openid4vci, @openid4vc/openid4vp, @sd-jwt/sd-jwt-vc) and Animo's
// @animo-id/mdoc, driven by tests/wallet/test_mdoc_node_wallet.py. Two commands, each reading
// one JSON job on stdin and printing one JSON object on stdout:
//
//   node wallet.mjs obtain   {offer, tx_code}
//     OpenID4VCI 1.0, pre-authorized code: resolves eid's offer and metadata, redeems the code
//     (DPoP), gets a nonce, signs a JWT proof (ES256) with a key made here, obtains the card in
//     the offer's configuration and verifies it: an mso_mdoc with @animo-id/mdoc (issuerAuth by
//     its x5chain to eid's root, every digest, validity), an SD-JWT VC with @sd-jwt/sd-jwt-vc.
//     Prints the credential and the holder key (private: the tests play the wallet's storage).
//
//   node wallet.mjs present  {wallet_url, issuer_signed, holder_jwk, reveal?, override?}
//     OpenID4VP 1.0: resolves eid's request (the signed request object, its x509_hash client
//     identifier), builds a DeviceResponse with @animo-id/mdoc releasing the elements the mdoc
//     query asks for (its first claim set, or `reveal`), signed by the holder's device key over
//     the session transcript of OpenID4VP 1.0 Appendix B.2.6.1, and posts it by direct_post.
//     override: {nonce?} builds the transcript with another nonce (a replayed response).
//     For direct_post.jwt the response is a JWE to the key in client_metadata.jwks, and that
//     key's RFC 7638 thumbprint goes into the transcript.
//
// @animo-id/mdoc 0.5.2 knows only the 18013-7 draft handover (with an mdoc-generated nonce),
// so the final 1.0 OpenID4VPHandover is built here from the spec with the library's own CBOR:
//   SessionTranscript = [null, null, ["OpenID4VPHandover", sha256(cbor([client_id, nonce,
//   jwk_thumbprint | null, response_uri]))]]
// The tests' servers are plain http://127.0.0.1:<port>: allowInsecureUrls is for that only.
import {
  X509Certificate,
  createCipheriv,
  createHash,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  randomBytes,
  sign as cryptoSign,
  verify as cryptoVerify,
  webcrypto,
} from "node:crypto";
import { setGlobalConfig } from "@openid4vc/utils";
import { Openid4vciClient } from "@openid4vc/openid4vci";
import { Openid4vpClient } from "@openid4vc/openid4vp";
import { clientAuthenticationAnonymous } from "@openid4vc/oauth2";
import {
  DataItem,
  DeviceResponse,
  MDoc,
  Verifier,
  cborEncode,
  parseIssuerSigned,
} from "@animo-id/mdoc";
import { SDJwtVcInstance } from "@sd-jwt/sd-jwt-vc";
import { digest as sdDigest } from "@sd-jwt/crypto-nodejs";

setGlobalConfig({ allowInsecureUrls: true });
const subtle = webcrypto.subtle;
const MDOC_DS_EKU = "1.0.18013.5.1.2";

const b64u = (bytes) => Buffer.from(bytes).toString("base64url");
const b64uJson = (value) => b64u(Buffer.from(JSON.stringify(value)));
const fromB64uJson = (text) => JSON.parse(Buffer.from(text, "base64url").toString());
const sha256 = (bytes) => new Uint8Array(createHash("sha256").update(bytes).digest());

function hashFor(alg) {
  return { "sha-256": "sha256", "sha-384": "sha384", "sha-512": "sha512" }[alg] || "sha256";
}

function verifyRaw(jwk, data, signature) {
  const key = createPublicKey({ key: jwk, format: "jwk" });
  return cryptoVerify("sha256", Buffer.from(data), { key, dsaEncoding: "ieee-p1363" }, Buffer.from(signature));
}

// -- OpenID4VCI ------------------------------------------------------------------------------

const keys = new Map(); // JSON of the public JWK -> CryptoKeyPair

async function newKey() {
  const pair = await subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
  const { kty, crv, x, y } = await subtle.exportKey("jwk", pair.publicKey);
  const publicJwk = { kty, crv, x, y };
  keys.set(JSON.stringify(publicJwk), pair);
  return { pair, publicJwk };
}

async function signJwt(signer, { header, payload }) {
  if (signer.method !== "jwk" || signer.alg !== "ES256") {
    throw new Error(`unsupported signer ${signer.method} ${signer.alg}`);
  }
  const pair = keys.get(JSON.stringify(signer.publicJwk));
  const input = `${b64uJson(header)}.${b64uJson(payload)}`;
  const signature = await subtle.sign({ name: "ECDSA", hash: "SHA-256" }, pair.privateKey, Buffer.from(input));
  return { jwt: `${input}.${b64u(new Uint8Array(signature))}`, signerJwk: signer.publicJwk };
}

const vciCallbacks = {
  signJwt,
  hash: (data, alg) => new Uint8Array(createHash(hashFor(alg)).update(data).digest()),
  generateRandom: (n) => webcrypto.getRandomValues(new Uint8Array(n)),
  clientAuthentication: clientAuthenticationAnonymous(),
  fetch,
};

// Each certificate issued and signed by the next, the last by the pinned root, all valid now;
// the leaf an mdoc document signer.
function checkChain(ders, rootPem) {
  const chain = ders.map((der) => new X509Certificate(Buffer.from(der)));
  const root = new X509Certificate(rootPem);
  const now = new Date();
  const parents = [...chain.slice(1), root];
  chain.forEach((cert, i) => {
    if (new Date(cert.validFrom) > now || new Date(cert.validTo) < now) throw new Error("certificate not valid now");
    if (!cert.checkIssued(parents[i]) || !cert.verify(parents[i].publicKey)) throw new Error("chain does not verify");
  });
  if (!(chain[0].keyUsage || []).includes(MDOC_DS_EKU)) throw new Error("leaf is no mdoc document signer");
}

function mdocContext(rootPem) {
  const x509 = {
    getIssuerNameField: ({ certificate, field }) =>
      new X509Certificate(Buffer.from(certificate)).issuer
        .split("\n")
        .filter((line) => line.startsWith(`${field}=`))
        .map((line) => line.slice(field.length + 1)),
    getPublicKey: ({ certificate }) => new X509Certificate(Buffer.from(certificate)).publicKey.export({ format: "jwk" }),
    validateCertificateChain: ({ x5chain }) => checkChain(x5chain, rootPem),
    getCertificateData: ({ certificate }) => {
      const cert = new X509Certificate(Buffer.from(certificate));
      return {
        issuerName: cert.issuer,
        subjectName: cert.subject,
        serialNumber: cert.serialNumber,
        thumbprint: cert.fingerprint256,
        notBefore: new Date(cert.validFrom),
        notAfter: new Date(cert.validTo),
        pem: cert.toString(),
      };
    },
  };
  return { x509, cose: coseContext, crypto: cryptoContext };
}

const cryptoContext = {
  random: (length) => webcrypto.getRandomValues(new Uint8Array(length)),
  digest: ({ digestAlgorithm, bytes }) =>
    new Uint8Array(createHash(digestAlgorithm.replace("-", "").toLowerCase()).update(bytes).digest()),
  calculateEphemeralMacKeyJwk: () => {
    throw new Error("OpenID4VP has no reader key: device signature only");
  },
};

const coseContext = {
  sign1: {
    sign: ({ sign1, jwk }) => {
      const { data } = sign1.getRawSigningData();
      const key = createPrivateKey({ key: jwk, format: "jwk" });
      return new Uint8Array(cryptoSign("sha256", Buffer.from(data), { key, dsaEncoding: "ieee-p1363" }));
    },
    verify: ({ sign1, jwk, options }) => {
      const { data, signature } = sign1.getRawVerificationData(options);
      return verifyRaw(jwk, data, signature);
    },
  },
  mac0: {
    sign: () => {
      throw new Error("unused");
    },
    verify: () => {
      throw new Error("unused");
    },
  },
};

async function verifyMdoc(issuerSigned, docType, rootPem) {
  const checks = [];
  const onCheckG = (check) => checks.push(check);
  const document = parseIssuerSigned(new Uint8Array(Buffer.from(issuerSigned, "base64url")), docType);
  const context = mdocContext(rootPem);
  const verifier = new Verifier();
  await verifier.verifyIssuerSignature(
    {
      trustedCertificates: [new Uint8Array(new X509Certificate(rootPem).raw)],
      issuerAuth: document.issuerSigned.issuerAuth,
      disableCertificateChainValidation: false,
      onCheckG,
    },
    context,
  );
  await verifier.verifyData({ mdoc: document, onCheckG }, context);
  const failed = checks.filter((c) => c.status === "FAILED");
  const mso = document.issuerSigned.issuerAuth.decodedPayload;
  const elements = {};
  for (const [ns, items] of document.issuerSigned.nameSpaces.entries()) {
    elements[ns] = Object.fromEntries(items.map((item) => [item.elementIdentifier, String(item.elementValue)]));
  }
  return {
    ok: failed.length === 0 && checks.length > 0,
    failed: failed.map((c) => `${c.check}${c.reason ? `: ${c.reason}` : ""}`),
    docType: mso.docType,
    elements,
    deviceKey: mso.deviceKeyInfo?.deviceKey ? "present" : "missing",
  };
}

function sdJwtVerifier(issuer) {
  return async (data, signature) => {
    const header = fromB64uJson(data.split(".")[0]);
    if (!Array.isArray(header.x5c) || header.alg !== "ES256") throw new Error("expected an ES256 x5c card");
    checkChainPlain(header.x5c, await rootPemOf(issuer));
    const key = new X509Certificate(Buffer.from(header.x5c[0], "base64")).publicKey;
    return cryptoVerify("sha256", Buffer.from(data), { key, dsaEncoding: "ieee-p1363" }, Buffer.from(signature, "base64url"));
  };
}

function checkChainPlain(x5c, rootPem) {
  const chain = x5c.map((c) => new X509Certificate(Buffer.from(c, "base64")));
  const parents = [...chain.slice(1), new X509Certificate(rootPem)];
  chain.forEach((cert, i) => {
    if (!cert.checkIssued(parents[i]) || !cert.verify(parents[i].publicKey)) throw new Error("chain does not verify");
  });
}

async function rootPemOf(issuer) {
  const answer = await fetch(`${issuer}/api/v1/wallet/issuer/root.pem`);
  if (!answer.ok) throw new Error(`root.pem: ${answer.status}`);
  return answer.text();
}

async function obtain({ offer, tx_code: txCode }) {
  const steps = [];
  const client = new Openid4vciClient({ callbacks: vciCallbacks });
  const credentialOffer = await client.resolveCredentialOffer(offer);
  const issuerMetadata = await client.resolveIssuerMetadata(credentialOffer.credential_issuer);
  steps.push("metadata");
  const configurationId = credentialOffer.credential_configuration_ids[0];
  const configuration = issuerMetadata.credentialIssuer.credential_configurations_supported[configurationId];
  const dpopKey = await newKey();
  const { accessTokenResponse, dpop } = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({
    credentialOffer,
    issuerMetadata,
    txCode,
    dpop: { signer: { method: "jwk", alg: "ES256", publicJwk: dpopKey.publicJwk } },
  });
  steps.push("token");
  const { c_nonce } = await client.requestNonce({ issuerMetadata });
  const holder = await newKey();
  const proof = await client.createCredentialRequestJwtProof({
    issuerMetadata,
    credentialConfigurationId: configurationId,
    signer: { method: "jwk", alg: "ES256", publicJwk: holder.publicJwk },
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
  let verified;
  if (configuration.format === "mso_mdoc") {
    verified = await verifyMdoc(credential, configuration.doctype, await rootPemOf(credentialOffer.credential_issuer));
  } else {
    const sdjwt = new SDJwtVcInstance({ hasher: sdDigest, verifier: sdJwtVerifier(credentialOffer.credential_issuer) });
    const result = await sdjwt.verify(credential);
    verified = { ok: true, claims: result.payload, cnfIsHolderKey: JSON.stringify(result.payload.cnf?.jwk) === JSON.stringify(holder.publicJwk) };
  }
  if (verified.ok) steps.push("verified");
  const privateJwk = await subtle.exportKey("jwk", holder.pair.privateKey);
  return {
    ok: verified.ok,
    steps,
    configuration_id: configurationId,
    configuration,
    known_configurations: Object.keys(issuerMetadata.knownCredentialConfigurations),
    token_type: accessTokenResponse.token_type,
    credential,
    verified,
    holder_jwk: { kty: privateJwk.kty, crv: privateJwk.crv, x: privateJwk.x, y: privateJwk.y, d: privateJwk.d },
  };
}

// -- OpenID4VP -------------------------------------------------------------------------------

function sanNames(certificate) {
  const cert = new X509Certificate(Buffer.from(certificate, "base64"));
  const parts = (cert.subjectAltName || "").split(/,\s*/).filter(Boolean);
  return {
    sanDnsNames: parts.filter((p) => p.startsWith("DNS:")).map((p) => p.slice(4)),
    sanUriNames: parts.filter((p) => p.startsWith("URI:")).map((p) => p.slice(4)),
  };
}

// The request object, signed ES256 by the x5c leaf (what the x509_hash client identifier pins).
async function verifyRequestJwt(signer, { header, compact }) {
  if (signer.method !== "x5c" || header.alg !== "ES256") return { verified: false };
  const key = new X509Certificate(Buffer.from(signer.x5c[0], "base64")).publicKey;
  const [h, p, s] = compact.split(".");
  const ok = cryptoVerify("sha256", Buffer.from(`${h}.${p}`), { key, dsaEncoding: "ieee-p1363" }, Buffer.from(s, "base64url"));
  return { verified: ok, signerJwk: key.export({ format: "jwk" }) };
}

// direct_post.jwt (§8.3): the response as a JWE, ECDH-ES (RFC 7518 §4.6, Concat KDF) and
// AES-GCM, to the verifier's key from client_metadata.jwks.
function concatKdf(z, enc, apu, apv, bits) {
  const part = (buf) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(buf.length);
    return Buffer.concat([len, buf]);
  };
  const supp = Buffer.alloc(4);
  supp.writeUInt32BE(bits);
  const other = Buffer.concat([part(Buffer.from(enc)), part(apu), part(apv), supp]);
  return createHash("sha256").update(Buffer.concat([Buffer.from([0, 0, 0, 1]), z, other])).digest().subarray(0, bits / 8);
}

async function encryptJwe(encryptor, data) {
  if (encryptor.alg !== "ECDH-ES" || !["A128GCM", "A256GCM"].includes(encryptor.enc)) {
    throw new Error(`unsupported JWE ${encryptor.alg} ${encryptor.enc}`);
  }
  const recipient = createPublicKey({ key: encryptor.publicJwk, format: "jwk" });
  const eph = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const z = diffieHellman({ privateKey: eph.privateKey, publicKey: recipient });
  const { kty, crv, x, y } = eph.publicKey.export({ format: "jwk" });
  const header = { alg: "ECDH-ES", enc: encryptor.enc, kid: encryptor.publicJwk.kid, epk: { kty, crv, x, y } };
  if (encryptor.apu) header.apu = encryptor.apu;
  if (encryptor.apv) header.apv = encryptor.apv;
  const bits = encryptor.enc === "A128GCM" ? 128 : 256;
  const cek = concatKdf(z, encryptor.enc, Buffer.from(encryptor.apu || "", "base64url"), Buffer.from(encryptor.apv || "", "base64url"), bits);
  const protectedHeader = Buffer.from(JSON.stringify(header)).toString("base64url");
  const iv = randomBytes(12);
  const cipher = createCipheriv(`aes-${bits}-gcm`, cek, iv);
  cipher.setAAD(Buffer.from(protectedHeader, "ascii"));
  const ciphertext = Buffer.concat([cipher.update(Buffer.from(data, "utf8")), cipher.final()]);
  const jwe = [protectedHeader, "", b64u(iv), b64u(ciphertext), b64u(cipher.getAuthTag())].join(".");
  return { encryptionJwk: encryptor.publicJwk, jwe };
}

// RFC 7638: the SHA-256 thumbprint of an EC public key (the required members, sorted).
function jwkThumbprint({ crv, kty, x, y }) {
  return sha256(Buffer.from(JSON.stringify({ crv, kty, x, y })));
}

const vpCallbacks = {
  fetch: (url, init) => fetch(url, init),
  hash: (data, alg) => new Uint8Array(createHash(hashFor(alg)).update(data).digest()),
  verifyJwt: verifyRequestJwt,
  getX509CertificateMetadata: sanNames,
  signJwt: async () => {
    throw new Error("this wallet signs no JARM response");
  },
  decryptJwe: async () => {
    throw new Error("no encrypted request expected");
  },
  encryptJwe,
};

// OpenID4VP 1.0 (final) Appendix B.2.6.1.
function sessionTranscriptBytes({ clientId, nonce, responseUri, jwkThumbprint = null }) {
  const info = cborEncode([clientId, nonce, jwkThumbprint, responseUri]);
  return cborEncode(DataItem.fromData([null, null, ["OpenID4VPHandover", sha256(info)]]));
}

async function present(job) {
  const client = new Openid4vpClient({ callbacks: vpCallbacks });
  const parsed = client.parseOpenid4vpAuthorizationRequest({ authorizationRequest: job.wallet_url });
  let resolved;
  try {
    resolved = await client.resolveOpenId4vpAuthorizationRequest({ authorizationRequestPayload: parsed.params });
  } catch (error) {
    return { step: "resolve", error: String(error?.message || error) };
  }
  const request = resolved.authorizationRequestPayload;
  const query = resolved.dcql.query.credentials.find((q) => q.format === "mso_mdoc");
  if (!query) return { step: "query", error: "no mso_mdoc credential query" };
  const docType = query.meta.doctype_value;
  const byId = Object.fromEntries(query.claims.map((c) => [c.id, c.path]));
  const paths = job.reveal
    ? job.reveal.map((name) => [query.claims[0].path[0], name])
    : query.claim_sets
      ? query.claim_sets[0].map((id) => byId[id])
      : query.claims.map((c) => c.path);

  const encrypted = request.response_mode === "direct_post.jwt";
  const encryptionJwk = encrypted ? request.client_metadata.jwks.keys.find((k) => k.use === "enc") : null;
  const document = parseIssuerSigned(new Uint8Array(Buffer.from(job.issuer_signed, "base64url")), docType);
  const override = job.override || {};
  const deviceResponse = await DeviceResponse.from(new MDoc([document]))
    .usingPresentationDefinition({
      id: "eid",
      input_descriptors: [
        {
          id: docType,
          format: { mso_mdoc: { alg: ["ES256"] } },
          constraints: {
            limit_disclosure: "required",
            fields: paths.map(([ns, name]) => ({ path: [`$['${ns}']['${name}']`], intent_to_retain: false })),
          },
        },
      ],
    })
    .usingSessionTranscriptBytes(
      sessionTranscriptBytes({
        clientId: resolved.client.effective,
        nonce: override.nonce ?? request.nonce,
        responseUri: request.response_uri,
        jwkThumbprint: encryptionJwk ? jwkThumbprint(encryptionJwk) : null,
      }),
    )
    .authenticateWithSignature(job.holder_jwk, "ES256")
    .sign({ crypto: cryptoContext, cose: coseContext });
  const encoded = b64u(deviceResponse.encode());
  const released = deviceResponse.documents[0].issuerSigned.nameSpaces;
  const elements = Object.fromEntries(
    [...released.entries()].map(([ns, items]) => [ns, items.map((item) => item.elementIdentifier)]),
  );

  const response = await client.createOpenid4vpAuthorizationResponse({
    authorizationRequestPayload: request,
    authorizationResponsePayload: { vp_token: { [query.id]: [encoded] } },
    jarm: encrypted
      ? {
          encryption: { nonce: randomBytes(16).toString("base64url") },
          serverMetadata: {
            authorization_signing_alg_values_supported: ["ES256"],
            authorization_encryption_alg_values_supported: ["ECDH-ES"],
            authorization_encryption_enc_values_supported: ["A128GCM", "A256GCM"],
          },
        }
      : undefined,
  });
  const submitted = await client.submitOpenid4vpAuthorizationResponse({
    authorizationRequestPayload: request,
    authorizationResponsePayload: response.authorizationResponsePayload,
    jarm: response.jarm ? { responseJwt: response.jarm.responseJwt } : undefined,
  });
  const text = await submitted.response.text();
  return {
    step: "submitted",
    client: { prefix: resolved.client.prefix, effective: resolved.client.effective },
    version: resolved.version,
    query_id: query.id,
    credential_sets: resolved.dcql.query.credential_sets ?? null,
    mdoc_formats: request.client_metadata?.vp_formats_supported?.mso_mdoc ?? null,
    response_mode: submitted.responseMode,
    released: elements,
    status: submitted.response.status,
    body: text ? JSON.parse(text) : null,
  };
}

async function main() {
  const command = process.argv[2];
  const job = JSON.parse(
    await new Promise((resolve) => {
      let text = "";
      process.stdin.on("data", (chunk) => (text += chunk));
      process.stdin.on("end", () => resolve(text));
    }),
  );
  if (command === "obtain") return obtain(job);
  if (command === "present") return present(job);
  return { ok: false, error: `unknown command ${command}` };
}

main()
  .then((answer) => process.stdout.write(JSON.stringify(answer)))
  .catch((error) => {
    process.stdout.write(
      JSON.stringify({
        ok: false,
        step: "crash",
        error: String(error?.stack || error),
        detail: error?.response ?? error?.errorResponse ?? null,
      }),
    );
    process.exitCode = 1;
  });
