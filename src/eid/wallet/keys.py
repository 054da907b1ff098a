"""The credential issuer's EdDSA keys (the `wallet-issuer` signing ring in the key store) and
their published JWKS. Each key's JWK `kid` is its RFC 7638 thumbprint, as on the first cards."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from joserfc.jwk import KeySet, OKPKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from eid.core import clock
from eid.core.crypto import get_keystore
from eid.core.errors import EidError
from eid.core.keyset import in_use, key_use
from eid.wallet.models import IssuedCredential

KEY_NAME = "wallet-issuer"
EDDSA_FORMAT = "eddsa+sd-jwt"


@lru_cache(maxsize=16)
def _jwk(raw: bytes) -> OKPKey:
    pem = Ed25519PrivateKey.from_private_bytes(raw).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    key = OKPKey.import_key(pem)
    key.ensure_kid()
    return key


def issuer_key() -> OKPKey:
    """The ring's current key (follows `eid keys rotate --ring wallet-issuer`)."""
    ring = get_keystore().signing_ring(KEY_NAME)
    return _jwk(ring.key(ring.current))


def issuer_keys() -> KeySet:
    """Every live key: a card verifies with the one its `kid` names, while it is not retired."""
    ring = get_keystore().signing_ring(KEY_NAME)
    return KeySet([_jwk(raw) for raw in ring.keys.values()])


def issuer_kid() -> str:
    return str(issuer_key().kid)


def _public(key: OKPKey) -> dict[str, Any]:
    return {**key.as_dict(private=False), "kid": str(key.kid), "alg": "EdDSA", "use": "sig"}


def issuer_public_jwk() -> dict[str, Any]:
    return _public(issuer_key())


def issuer_public_jwks() -> list[dict[str, Any]]:
    """The live keys' public JWKs, the current one first."""
    ring = get_keystore().signing_ring(KEY_NAME)
    order = [ring.current, *(kid for kid in ring.keys if kid != ring.current)]
    return [_public(_jwk(ring.key(kid))) for kid in order]


@key_use(KEY_NAME)
def _cards_signed(session: Session, kid: str) -> EidError | None:
    """The EdDSA cards record no key (they predate key ids in the database): while one has
    not expired nor been revoked, no key of the ring is retired."""
    live = session.execute(
        select(func.count())
        .select_from(IssuedCredential)
        .where(
            IssuedCredential.format == EDDSA_FORMAT,
            IssuedCredential.revoked_status == 0,
            IssuedCredential.expires_at > clock.now(),
        )
    ).scalar_one()
    return in_use(
        "%(count)s EdDSA cards are still valid and which key signed each is not recorded: "
        "retire key %(key)s once they have expired",
        params={"key": kid, "count": live},
    )
