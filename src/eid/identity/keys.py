"""OIDC signing keys: ES256 (P-256), kept in a table with the private part sealed.

Rotation makes a new active key and retires the old one; a retired key stays in the JWKS until
every token it signed has expired, so relying parties never meet an unknown `kid`.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

from cryptography.exceptions import InvalidTag
from joserfc.jwk import ECKey
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from eid.core import audit, clock
from eid.core.audit import Actor
from eid.core.crypto import seal, unseal
from eid.core.errors import EidError
from eid.core.settings import get_settings
from eid.identity.models import OidcSigningKey

KEY_NAME = "oidc-signing"
ALG = "ES256"
ID_TOKEN_TTL = dt.timedelta(hours=1)
# Longest-lived thing a key signs (the id_token) plus clock skew relying parties tolerate.
PUBLISH_AFTER_RETIRE = ID_TOKEN_TTL + dt.timedelta(minutes=10)

_private_cache: dict[str, ECKey] = {}
# Which key is active is re-read at most this often: a rotation reaches every process within it,
# and the retired key stays published far longer (PUBLISH_AFTER_RETIRE), so nothing breaks.
ACTIVE_KEY_RECHECK = 30.0
_active: tuple[float, str] | None = None


def _aad(kid: str) -> bytes:
    return f"oidc-signing-key:{kid}".encode()


def create_signing_key(session: Session) -> OidcSigningKey:
    key = ECKey.generate_key("P-256", auto_kid=True)
    kid = str(key.kid)
    row = OidcSigningKey(
        kid=kid,
        alg=ALG,
        public_jwk={**key.as_dict(private=False), "kid": kid, "alg": ALG, "use": "sig"},
        private_jwk=seal(json.dumps(key.as_dict(private=True)).encode(), aad=_aad(kid)),
        active=True,
    )
    session.add(row)
    session.flush()
    return row


def rotate(session: Session, *, actor: Actor) -> OidcSigningKey:
    now = clock.now()
    for old in session.execute(
        select(OidcSigningKey).where(OidcSigningKey.active.is_(True)).with_for_update()
    ).scalars():
        old.active = False
        old.retired_at = now
        old.publish_until = now + PUBLISH_AFTER_RETIRE
    new = create_signing_key(session)
    forget_active_key()
    audit.record(session, actor, "oidc.key_rotated", "oidc_key", new.kid)
    return new


def active_key(session: Session) -> tuple[str, ECKey]:
    global _active
    now = time.monotonic()
    if (
        _active is not None
        and now - _active[0] < ACTIVE_KEY_RECHECK
        and _active[1] in _private_cache
    ):
        return _active[1], _private_cache[_active[1]]
    row = session.execute(
        select(OidcSigningKey)
        .where(OidcSigningKey.active.is_(True))
        .order_by(OidcSigningKey.created_at.desc())
        .limit(1)
    ).scalar_one_or_none()
    if row is None:
        if get_settings().env == "production":
            # Never made behind the operator's back: `eid oidc rotate-key` makes the first, and
            # production does not start without it (eid.bootstrap.require_keys).
            raise EidError(
                "key %(name)s is missing from the key store",
                code="KEY_MISSING",
                params={"name": KEY_NAME},
            )
        row = create_signing_key(session)
    cached = _private_cache.get(row.kid)
    if cached is None:
        data = json.loads(unseal(row.private_jwk, aad=_aad(row.kid)))
        cached = ECKey.import_key(data)
        _private_cache[row.kid] = cached
    _active = (now, row.kid)
    return row.kid, cached


def active_key_problem(session: Session) -> str | None:
    """Why the provider could not sign (no active key, or one the data key cannot unseal:
    the key folder is not the one this database was sealed with); None when it can."""
    row = session.execute(
        select(OidcSigningKey)
        .where(OidcSigningKey.active.is_(True))
        .order_by(OidcSigningKey.created_at.desc())
        .limit(1)
    ).scalar_one_or_none()
    if row is None:
        return f"{KEY_NAME} (none active in the database: run eid oidc rotate-key)"
    try:
        unseal(row.private_jwk, aad=_aad(row.kid))
    except (InvalidTag, EidError):  # a wrong key, or a key id this data ring does not hold
        return f"{KEY_NAME} (does not unseal with this data key: another key folder?)"
    return None


def forget_active_key() -> None:
    """After a rotation in this process (and in tests): read the active key again."""
    global _active
    _active = None


def published_jwks(session: Session) -> dict[str, Any]:
    now = clock.now()
    rows = session.execute(
        select(OidcSigningKey)
        .where(or_(OidcSigningKey.active.is_(True), OidcSigningKey.publish_until > now))
        .order_by(OidcSigningKey.created_at.desc())
    ).scalars()
    return {"keys": [row.public_jwk for row in rows]}
