// The bank's own ES256 key: it signs the bank's private_key_jwt client assertions (FAPI 2.0).
// Made on first run; the private half stays in the state dir (mode 0600, git-ignored), the public
// half is the JWKS registered with eid (`eid client create --profile fapi2 --jwks FILE`).
//
// Rotation: make a new key beside the old one, register a JWKS with both (or serve it at the
// URL given as --jwks-uri), then sign with the new one; drop the old key from the JWKS later.
import { createHash, webcrypto } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const ES256 = { name: "ECDSA", namedCurve: "P-256" };

// RFC 7638 thumbprint as the key id: the same key always has the same kid.
function thumbprint(jwk) {
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  return createHash("sha256").update(canonical).digest("base64url");
}

export async function ensureBankKey(stateDir) {
  const privateFile = join(stateDir, "bank-key.private.jwk.json");
  const jwksFile = join(stateDir, "bank-jwks.json");
  if (!existsSync(privateFile)) {
    const pair = await webcrypto.subtle.generateKey(ES256, true, ["sign", "verify"]);
    const privateJwk = await webcrypto.subtle.exportKey("jwk", pair.privateKey);
    const publicJwk = await webcrypto.subtle.exportKey("jwk", pair.publicKey);
    const kid = thumbprint(publicJwk);
    writeFileSync(privateFile, JSON.stringify({ ...privateJwk, kid, alg: "ES256" }), { mode: 0o600 });
    const jwks = { keys: [{ kty: "EC", crv: "P-256", x: publicJwk.x, y: publicJwk.y, kid, use: "sig", alg: "ES256" }] };
    writeFileSync(jwksFile, JSON.stringify(jwks, null, 2) + "\n");
    process.stderr.write(`bank-ekyc: made the bank's signing key ${kid} (public JWKS: ${jwksFile})\n`);
  }
  const saved = JSON.parse(readFileSync(privateFile, "utf8"));
  // Not extractable once loaded: the running bank can sign with it, never read it back.
  const privateKey = await webcrypto.subtle.importKey("jwk", saved, ES256, false, ["sign"]);
  return { privateKey, kid: saved.kid, jwksFile };
}
