"""OIDC signing keys: ES256 (P-256), kept in a table with the private part sealed.

Every key is in the JWKS from the moment it is made. A rotation makes a *next* key that signs
only from `signs_from`, later than the JWKS' `Cache-Control` max-age (`NEXT_KEY_LEAD` >
`JWKS_MAX_AGE`): a verifier that cached the JWKS before the rotation refetches it before any token
carries the new `kid`. The previous key signs until then, and stays published until its last
id_token has expired (`PUBLISH_AFTER_RETIRE`). The first key is made before anything reads the
JWKS (start-up, or the first read), under an advisory lock and a one-current-key index, so two
processes starting at once make one key.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

from cryptography.exceptions import InvalidTag
from joserfc.jwk import ECKey
from sqlalchemy import or_, select, text
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

# `Cache-Control: public, max-age` of the JWKS and discovery: how long a verifier may hold them.
JWKS_MAX_AGE = 300
CACHE_CONTROL = f"public, max-age={JWKS_MAX_AGE}"
# A next key is published this long before it signs: longer than a cached JWKS lives.
NEXT_KEY_LEAD = dt.timedelta(seconds=3 * JWKS_MAX_AGE)
_FIRST_KEY_LOCK = 0x0E1D_0001  # pg_advisory_xact_lock id: making the first key

_private_cache: dict[str, ECKey] = {}
# Which key signs is re-read at most this often (and when the cached one's time is up): a rotation
# reaches every process within it, and the retired key stays published far longer
# (PUBLISH_AFTER_RETIRE), so nothing breaks.
ACTIVE_KEY_RECHECK = 30.0
_active: tuple[float, str, dt.datetime | None] | None = None


class NextKeyTooNew(EidError):
    code = "NEXT_KEY_TOO_NEW"
    status = 409


def _aad(kid: str) -> bytes:
    return f"oidc-signing-key:{kid}".encode()


def create_signing_key(
    session: Session, *, signs_from: dt.datetime | None = None
) -> OidcSigningKey:
    key = ECKey.generate_key("P-256", auto_kid=True)
    kid = str(key.kid)
    row = OidcSigningKey(
        kid=kid,
        alg=ALG,
        public_jwk={**key.as_dict(private=False), "kid": kid, "alg": ALG, "use": "sig"},
        private_jwk=seal(json.dumps(key.as_dict(private=True)).encode(), aad=_aad(kid)),
        active=True,
        signs_from=signs_from or clock.now(),
    )
    session.add(row)
    session.flush()
    return row


def _current(session: Session, *, lock: bool = False) -> OidcSigningKey | None:
    """The newest key: the one without a successor (signing already, or next)."""
    query = select(OidcSigningKey).where(OidcSigningKey.retired_at.is_(None))
    return session.execute(query.with_for_update() if lock else query).scalar_one_or_none()


def _signing_row(session: Session) -> OidcSigningKey | None:
    now = clock.now()
    return session.execute(
        select(OidcSigningKey)
        .where(
            OidcSigningKey.signs_from <= now,
            or_(OidcSigningKey.retired_at.is_(None), OidcSigningKey.retired_at > now),
        )
        .order_by(OidcSigningKey.signs_from.desc())
        .limit(1)
    ).scalar_one_or_none()


def _missing() -> EidError:
    return EidError(
        "key %(name)s is missing from the key store", code="KEY_MISSING", params={"name": KEY_NAME}
    )


def ensure_signing_key(session: Session) -> OidcSigningKey:
    """The current key, made now if there is none (outside production, where the operator makes
    it: `eid oidc rotate-key`, and the server does not start without it). Two processes racing
    here make one: the advisory lock serialises them, the second then sees the first's key."""
    row = _current(session)
    if row is not None:
        return row
    if get_settings().env == "production":
        raise _missing()
    session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _FIRST_KEY_LOCK})
    return _current(session) or create_signing_key(session)


def _retire(row: OidcSigningKey, at: dt.datetime) -> None:
    row.active = False
    row.retired_at = at
    row.publish_until = at + PUBLISH_AFTER_RETIRE


def rotate(session: Session, *, actor: Actor) -> OidcSigningKey:
    """Publish a next key now; it signs from `NEXT_KEY_LEAD` on, the current key until then.
    With no key yet, the first one signs at once."""
    session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _FIRST_KEY_LOCK})
    now = clock.now()
    previous = _current(session, lock=True)
    signs_from = now + NEXT_KEY_LEAD if previous is not None else now
    if previous is not None:
        _retire(previous, signs_from)
        session.flush()  # the one-current-key index: the old row first
    new = create_signing_key(session, signs_from=signs_from)
    forget_active_key()
    audit.record(
        session,
        actor,
        "oidc.key_rotated",
        "oidc_key",
        new.kid,
        details={"signs_from": signs_from.isoformat()},
    )
    return new


def activate_next(session: Session, *, actor: Actor) -> OidcSigningKey:
    """Let the published next key sign now, once it has been in the JWKS for longer than a
    verifier may cache it; refused before."""
    now = clock.now()
    current = _current(session, lock=True)
    if current is None or current.signs_from <= now:
        raise NextKeyTooNew("there is no next key waiting to sign", code="NO_NEXT_KEY")
    if current.created_at + dt.timedelta(seconds=JWKS_MAX_AGE) > now:
        raise NextKeyTooNew(
            "the next key has been published for less than %(seconds)s seconds",
            params={"seconds": JWKS_MAX_AGE},
        )
    for older in session.execute(
        select(OidcSigningKey)
        .where(OidcSigningKey.retired_at == current.signs_from)
        .with_for_update()
    ).scalars():
        _retire(older, now)
    current.signs_from = now
    forget_active_key()
    audit.record(session, actor, "oidc.key_activated", "oidc_key", current.kid)
    return current


def active_key(session: Session) -> tuple[str, ECKey]:
    """The key that signs now: the newest whose `signs_from` has come (a next key waits)."""
    found = existing_active_key(session)
    if found is not None:
        return found
    ensure_signing_key(session)
    found = existing_active_key(session)
    if found is None:
        raise _missing()
    return found


def existing_active_key(session: Session) -> tuple[str, ECKey] | None:
    """`active_key` without making the first key (None when there is none): for a caller not in
    a transaction (autocommit), where the advisory lock that serialises the making would not
    hold."""
    global _active
    now = time.monotonic()
    if (
        _active is not None
        and now - _active[0] < ACTIVE_KEY_RECHECK
        and _active[1] in _private_cache
        and (_active[2] is None or clock.now() < _active[2])
    ):
        return _active[1], _private_cache[_active[1]]
    row = _signing_row(session)
    if row is None:
        return None
    cached = _private_cache.get(row.kid)
    if cached is None:
        data = json.loads(unseal(row.private_jwk, aad=_aad(row.kid)))
        cached = ECKey.import_key(data)
        _private_cache[row.kid] = cached
    _active = (now, row.kid, row.retired_at)
    return row.kid, cached


def active_key_problem(session: Session) -> str | None:
    """Why the provider could not sign (no key, or one the data key cannot unseal: the key
    folder is not the one this database was sealed with); None when it can."""
    row = _signing_row(session)
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
    """Every key that signs, will sign (next) or signed a token that may still be checked; never
    empty: the first read makes the first key if start-up has not (outside production)."""
    ensure_signing_key(session)
    now = clock.now()
    rows = session.execute(
        select(OidcSigningKey)
        .where(or_(OidcSigningKey.retired_at.is_(None), OidcSigningKey.publish_until > now))
        .order_by(OidcSigningKey.created_at.desc())
    ).scalars()
    return {"keys": [row.public_jwk for row in rows]}
