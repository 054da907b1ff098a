"""Device keys: what a bound device registers, and how its signature over a challenge is checked.

A device proves possession by a compact JWS (EdDSA or ES256) whose payload is the server's nonce:
standard tooling on phones can produce it, and the same key later binds credentials (`cnf`).
"""

from __future__ import annotations

import secrets
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, OKPKey

from eid.core.errors import Unauthorized, ValidationFailed

# "EdDSA" is the name most wallets still send; RFC 9864 renames it "Ed25519".
DEVICE_ALGORITHMS = ["EdDSA", "Ed25519", "ES256"]


def public_device_key(jwk: dict[str, Any]) -> OKPKey | ECKey:
    """Accept only public Ed25519 or P-256 keys; strip anything beyond the public members."""
    kty, crv = jwk.get("kty"), jwk.get("crv")
    try:
        if kty == "OKP" and crv == "Ed25519" and "d" not in jwk:
            return OKPKey.import_key({"kty": "OKP", "crv": "Ed25519", "x": jwk["x"]})
        if kty == "EC" and crv == "P-256" and "d" not in jwk:
            return ECKey.import_key({"kty": "EC", "crv": "P-256", "x": jwk["x"], "y": jwk["y"]})
    except (KeyError, ValueError, JoseError):
        pass
    raise ValidationFailed(
        "the device key must be a public Ed25519 or P-256 JWK", code="INVALID_DEVICE_KEY"
    )


def clean_public_jwk(jwk: dict[str, Any]) -> dict[str, Any]:
    key = public_device_key(jwk)
    return dict(key.as_dict(private=False))


def new_nonce() -> str:
    return secrets.token_urlsafe(32)


def verify_proof(public_jwk: dict[str, Any], proof: str, nonce: str) -> None:
    """Raise unless `proof` is a JWS by this device key over exactly `nonce`."""
    key = public_device_key(public_jwk)
    try:
        obj = jws.deserialize_compact(proof, key, algorithms=DEVICE_ALGORITHMS)
    except (JoseError, ValueError):
        raise Unauthorized(
            "the device signature does not verify", code="DEVICE_PROOF_INVALID"
        ) from None
    if obj.payload != nonce.encode():
        raise Unauthorized("the device signed another challenge", code="DEVICE_PROOF_INVALID")
