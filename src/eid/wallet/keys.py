"""The credential issuer's key (Ed25519, from the key store) and its published JWKS."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives import serialization
from joserfc.jwk import OKPKey

from eid.core.crypto import get_keystore

KEY_NAME = "wallet-issuer"


@lru_cache(maxsize=1)
def issuer_key() -> OKPKey:
    private = get_keystore().signing_key(KEY_NAME)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    key = OKPKey.import_key(pem)
    key.ensure_kid()
    return key


def issuer_kid() -> str:
    return str(issuer_key().kid)


def issuer_public_jwk() -> dict[str, Any]:
    return {
        **issuer_key().as_dict(private=False),
        "kid": issuer_kid(),
        "alg": "EdDSA",
        "use": "sig",
    }
