// A third-party OpenID4VP 1.0 wallet built from the OpenWallet Foundation's libraries
// (@openid4vc/openid4vp for the protocol, @sd-jwt/core for the presentation), driven by
// tests/wallet/test_oid4vp_node_wallet.py. Reads one JSON job on stdin:
//   { wallet_url, credential, holder_jwk, reveal?, override?: { nonce?, aud? } }
// resolves eid's request (fetches the request object, verifies its ES256 signature with the
// x5c leaf and the x509_hash client identifier), presents the card with the disclosures the
// DCQL query asks for (the first claim set, or `reveal`), binds it to the holder's key, posts
// it by direct_post, and prints what happened as JSON on stdout.
//
// The tests' verifier is plain http://127.0.0.1:<port>: allowInsecureUrls is for that only.
import {
  X509Certificate,
  createCipheriv,
  createHash,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  randomBytes,
  verify as cryptoVerify,
} from "node:crypto";
import { setGlobalConfig } from "@openid4vc/utils";
import { Openid4vpClient } from "@openid4vc/openid4vp";
import { SDJwtInstance } from "@sd-jwt/core";
import { ES256, digest, generateSalt } from "@sd-jwt/crypto-nodejs";

setGlobalConfig({ allowInsecureUrls: true });

function sanNames(certificate) {
  const cert = new X509Certificate(Buffer.from(certificate, "base64"));
  const san = cert.subjectAltName || "";
  const parts = san.split(/,\s*/).filter(Boolean);
  return {
    sanDnsNames: parts.filter((p) => p.startsWith("DNS:")).map((p) => p.slice(4)),
    sanUriNames: parts.filter((p) => p.startsWith("URI:")).map((p) => p.slice(4)),
  };
}

// Verifies a compact JWS signed ES256 by the x5c leaf (what the client identifier pins).
async function verifyJwt(signer, { header, compact }) {
  if (signer.method !== "x5c" || header.alg !== "ES256") {
    return { verified: false };
  }
  const cert = new X509Certificate(Buffer.from(signer.x5c[0], "base64"));
  const key = cert.publicKey;
  const [h, p, s] = compact.split(".");
  const ok = cryptoVerify(
    "sha256",
    Buffer.from(`${h}.${p}`),
    { key, dsaEncoding: "ieee-p1363" },
    Buffer.from(s, "base64url"),
  );
  const jwk = key.export({ format: "jwk" });
  return ok ? { verified: true, signerJwk: jwk } : { verified: false, signerJwk: jwk };
}

function hash(data, alg) {
  const name = { "sha-256": "sha256", "sha-384": "sha384", "sha-512": "sha512" }[alg] || "sha256";
  return new Uint8Array(createHash(name).update(data).digest());
}

// direct_post.jwt (§8.3): the response as a JWE, ECDH-ES (direct key agreement, RFC 7518
// §4.6 with its Concat KDF) and AES-GCM, to the verifier's key from client_metadata.jwks.
function concatKdf(z, enc, apu, apv, bits) {
  const part = (buf) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(buf.length);
    return Buffer.concat([len, buf]);
  };
  const supp = Buffer.alloc(4);
  supp.writeUInt32BE(bits);
  const counter = Buffer.from([0, 0, 0, 1]);
  const other = Buffer.concat([part(Buffer.from(enc)), part(apu), part(apv), supp]);
  return createHash("sha256").update(Buffer.concat([counter, z, other])).digest().subarray(0, bits / 8);
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
  const cek = concatKdf(
    z,
    encryptor.enc,
    Buffer.from(encryptor.apu || "", "base64url"),
    Buffer.from(encryptor.apv || "", "base64url"),
    bits,
  );
  const protectedHeader = Buffer.from(JSON.stringify(header)).toString("base64url");
  const iv = randomBytes(12);
  const cipher = createCipheriv(`aes-${bits}-gcm`, cek, iv);
  cipher.setAAD(Buffer.from(protectedHeader, "ascii"));
  const ciphertext = Buffer.concat([cipher.update(Buffer.from(data, "utf8")), cipher.final()]);
  const tag = cipher.getAuthTag();
  const jwe = [protectedHeader, "", iv.toString("base64url"), ciphertext.toString("base64url"), tag.toString("base64url")].join(".");
  return { encryptionJwk: encryptor.publicJwk, jwe };
}

const callbacks = {
  fetch: (url, init) => fetch(url, init),
  hash,
  verifyJwt,
  getX509CertificateMetadata: sanNames,
  signJwt: async () => {
    throw new Error("this wallet signs no JARM response");
  },
  decryptJwe: async () => {
    throw new Error("no encrypted request expected");
  },
  encryptJwe,
};

async function main() {
  const job = JSON.parse(await new Promise((resolve) => {
    let text = "";
    process.stdin.on("data", (chunk) => (text += chunk));
    process.stdin.on("end", () => resolve(text));
  }));
  const client = new Openid4vpClient({ callbacks });
  const parsed = client.parseOpenid4vpAuthorizationRequest({ authorizationRequest: job.wallet_url });
  let resolved;
  try {
    resolved = await client.resolveOpenId4vpAuthorizationRequest({
      authorizationRequestPayload: parsed.params,
    });
  } catch (error) {
    process.stdout.write(JSON.stringify({ step: "resolve", error: String(error?.message || error) }));
    return;
  }
  const request = resolved.authorizationRequestPayload;
  const query = resolved.dcql.query.credentials[0];
  const byId = Object.fromEntries(query.claims.map((c) => [c.id, c.path[0]]));
  const wanted = job.reveal
    ?? (query.claim_sets ? query.claim_sets[0].map((id) => byId[id]) : query.claims.map((c) => c.path[0]));

  const holderJwk = job.holder_jwk;
  const sdjwt = new SDJwtInstance({
    hasher: digest,
    saltGenerator: generateSalt,
    kbSigner: await ES256.getSigner(holderJwk),
    kbSignAlg: "ES256",
  });
  const frame = Object.fromEntries(wanted.map((name) => [name, true]));
  const override = job.override || {};
  const presentation = await sdjwt.present(job.credential, frame, {
    kb: {
      payload: {
        iat: Math.floor(Date.now() / 1000),
        aud: override.aud ?? resolved.client.effective,
        nonce: override.nonce ?? request.nonce,
      },
    },
  });

  const encrypted = request.response_mode === "direct_post.jwt";
  const response = await client.createOpenid4vpAuthorizationResponse({
    authorizationRequestPayload: request,
    authorizationResponsePayload: { vp_token: { [query.id]: [presentation] } },
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
  process.stdout.write(
    JSON.stringify({
      step: "submitted",
      client: {
        prefix: resolved.client.prefix,
        identifier: resolved.client.identifier,
        effective: resolved.client.effective,
        san: resolved.client.x5c ? sanNames(resolved.client.x5c[0]) : null,
      },
      version: resolved.version,
      jar_typ: resolved.jar?.jwt?.header?.typ ?? null,
      response_mode: submitted.responseMode,
      revealed: wanted,
      status: submitted.response.status,
      body: text ? JSON.parse(text) : null,
      verifier: request.eid_relying_party ?? null,
    }),
  );
}

main().catch((error) => {
  process.stdout.write(JSON.stringify({ step: "crash", error: String(error?.stack || error) }));
  process.exitCode = 1;
});
