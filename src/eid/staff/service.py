"""Officer accounts and login: password (Argon2id) plus TOTP, lockout with backoff."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from eid.core import audit, clock
from eid.core.audit import Actor
from eid.core.crypto import get_keystore, hash_token, seal, unseal
from eid.core.errors import Conflict, Unauthorized, ValidationFailed
from eid.core.settings import get_settings
from eid.core.throttle import lockout_wait
from eid.staff.models import ROLES, Office, Officer, OfficerSession

# A used session's last_seen_at is written at most this often: one UPDATE a minute per session
# instead of one per request (a page polling a job would otherwise queue on the row's lock).
TOUCH_EVERY = timedelta(seconds=60)

_hasher = PasswordHasher()
# Verifying against a dummy hash for unknown usernames keeps login time equal for both cases.
_DUMMY_HASH = _hasher.hash("not-a-real-password-0!")


@dataclass(frozen=True)
class NewOfficer:
    id: str
    username: str
    office: str
    role: str
    totp_secret: str
    totp_uri: str


def totp_aad(username: str) -> bytes:
    """The one definition of the additional data binding a TOTP secret to its officer."""
    return f"totp:{username}".encode()


def ensure_office(session: Session, code: str, name: str | None = None, province: str = "") -> None:
    if session.get(Office, code) is None:
        session.add(Office(code=code, name=name or code, province=province))
        session.flush()


def create_officer(
    session: Session, *, username: str, password: str, office: str, role: str, actor: Actor
) -> NewOfficer:
    if role not in ROLES:
        raise ValidationFailed(
            "role must be one of %(allowed)s",
            code="INVALID_ROLE",
            details={"role": role},
            params={"allowed": ", ".join(ROLES)},
        )
    # NIST SP 800-63B: a minimum length, no composition rules; TOTP is the second factor.
    if len(password) < 8:
        raise ValidationFailed("officer passwords have at least 8 characters", code="WEAK_PASSWORD")
    if session.execute(select(Officer.id).where(Officer.username == username)).first():
        raise Conflict(
            "username %(username)s is taken", code="USERNAME_TAKEN", params={"username": username}
        )
    ensure_office(session, office)
    secret = pyotp.random_base32()
    officer = Officer(
        username=username,
        password_hash=_hasher.hash(password),
        totp_secret=seal(secret.encode(), aad=totp_aad(username)),
        office_code=office,
        role=role,
    )
    session.add(officer)
    session.flush()
    audit.record(session, actor, "officer.created", "officer", officer.id, details={"role": role})
    return NewOfficer(
        id=str(officer.id),
        username=username,
        office=office,
        role=role,
        totp_secret=secret,
        totp_uri=pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name="eid"),
    )


FREE_LOGIN_ATTEMPTS = 5
MAX_LOGIN_WAIT = timedelta(days=1)


def _login_failed(*, keep_writes: bool = False) -> Unauthorized:
    """The one answer to an unknown username, a wrong password or code, a disabled account and
    one in its backoff. No-oracle design: the lockout is enforced but never named, so the
    answers (and, with the dummy hash, their timing) are the same for real and made-up
    usernames; the message tells a real officer in the backoff to wait."""
    return Unauthorized(
        "wrong username, password or code, or too many attempts: wait and try again",
        code="LOGIN_FAILED",
        keep_writes=keep_writes,
    )


def _verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except VerificationError:
        return False


def login(
    session: Session, *, username: str, password: str, totp: str, ttl_seconds: int
) -> tuple[str, int]:
    """Password and TOTP. Every path verifies exactly one Argon2 hash (the dummy one for an
    unknown username or an account in its backoff) and answers `_login_failed` on any failure."""
    officer = session.execute(
        select(Officer).where(Officer.username == username)
    ).scalar_one_or_none()
    now = clock.now()
    if officer is None:
        _verify_password(_DUMMY_HASH, password)
        audit.record(
            session,
            Actor(kind="officer", id="unknown"),
            "officer.login_failed",
            "officer",
            "unknown",
            details={"why": "unknown_username"},
        )
        raise _login_failed(keep_writes=True)
    who = Actor(kind="officer", id=str(officer.id), role=officer.role, office=officer.office_code)
    if officer.locked_until and officer.locked_until > now:
        _verify_password(_DUMMY_HASH, password)
        audit.record(
            session, who, "officer.login_refused", "officer", officer.id, details={"why": "backoff"}
        )
        raise _login_failed(keep_writes=True)
    secret = unseal(officer.totp_secret, aad=totp_aad(username)).decode()
    totp_ok, step = _check_totp(secret, totp, officer.last_totp_step)
    password_ok = _verify_password(officer.password_hash, password)
    if not (password_ok and totp_ok):
        _record_failed_login(session, officer.id, who)
        raise _login_failed(keep_writes=True)
    if not officer.active:
        # Only someone with the password and code learns why; the attempt is audited.
        audit.record(
            session,
            who,
            "officer.login_refused",
            "officer",
            officer.id,
            details={"why": "disabled"},
        )
        raise Unauthorized(
            "this officer account is disabled", code="ACCOUNT_DISABLED", keep_writes=True
        )
    officer.failed_logins = 0
    officer.locked_until = None
    officer.last_totp_step = step
    token = secrets.token_urlsafe(32)
    session.add(
        OfficerSession(
            token_hash=hash_token(token),
            officer_id=officer.id,
            expires_at=now + timedelta(seconds=ttl_seconds),
            last_seen_at=now,
        )
    )
    audit.record(session, who, "officer.login", "officer", officer.id)
    return token, ttl_seconds


def _record_failed_login(session: Session, officer_id: object, who: Actor) -> None:
    """The failure count and its audit event: the refusal keeps them (`keep_writes`), so they
    survive the error response, which rolls back anything else."""
    officer = session.execute(
        select(Officer)
        .where(Officer.id == officer_id)
        .with_for_update()
        .execution_options(populate_existing=True)  # the count as it is now, not as first read
    ).scalar_one()
    officer.failed_logins += 1
    # Backoff doubles with every failure past the fifth: 1, 2, 4 ... minutes, max 1 day.
    wait = lockout_wait(officer.failed_logins, free=FREE_LOGIN_ATTEMPTS, cap=MAX_LOGIN_WAIT)
    if wait is not None:
        officer.locked_until = clock.now() + wait
    audit.record(session, who, "officer.login_failed", "officer", officer.id)


def _check_totp(secret: str, code: str, last_step: int) -> tuple[bool, int]:
    """Accept the current step or one either side, never a step already used (replay)."""
    totp = pyotp.TOTP(secret)
    now_step = int(clock.now().timestamp()) // totp.interval
    for step in (now_step - 1, now_step, now_step + 1):
        if step > last_step and secrets.compare_digest(totp.generate_otp(step), code.strip()):
            return True, step
    return False, last_step


def current_totp(secret: str) -> str:
    """The code an authenticator app shows now (CLI demo and tests)."""
    return pyotp.TOTP(secret).at(int(clock.now().timestamp()))


@dataclass(frozen=True)
class SignedIn:
    """The officer behind a session, as a page shows them."""

    actor: Actor
    username: str


def signed_in(session: Session, token: str, *, idle_timeout_seconds: int | None = None) -> SignedIn:
    """The officer of a live session, which this use keeps alive; else 401 (`INVALID_TOKEN`,
    `TOKEN_REVOKED` after sign-out, `TOKEN_EXPIRED` past its lifetime, `SESSION_IDLE` unused for
    `idle_timeout_seconds`)."""
    row = session.execute(
        select(OfficerSession, Officer)
        .join(Officer, Officer.id == OfficerSession.officer_id)
        .where(OfficerSession.token_hash == hash_token(token))
    ).first()
    if row is None:
        raise Unauthorized("missing or unknown bearer token", code="INVALID_TOKEN")
    officer_session, officer = row
    if officer_session.revoked_at is not None:
        raise Unauthorized("this session was signed out; log in again", code="TOKEN_REVOKED")
    now = clock.now()
    if officer_session.expires_at <= now or not officer.active:
        raise Unauthorized("the session has expired; log in again", code="TOKEN_EXPIRED")
    idle = idle_timeout_seconds or get_settings().officer_idle_timeout_seconds
    if now - officer_session.last_seen_at > timedelta(seconds=idle):
        raise Unauthorized(
            "the session was left unused too long; log in again", code="SESSION_IDLE"
        )
    if now - officer_session.last_seen_at >= TOUCH_EVERY:
        officer_session.last_seen_at = now
    actor = Actor(kind="officer", id=str(officer.id), role=officer.role, office=officer.office_code)
    return SignedIn(actor=actor, username=officer.username)


def actor_for_token(
    session: Session, token: str, *, idle_timeout_seconds: int | None = None
) -> Actor:
    return signed_in(session, token, idle_timeout_seconds=idle_timeout_seconds).actor


def sign_out(session: Session, token: str, *, actor: Actor) -> None:
    """Revoke the session server-side: the token is worthless from now on, wherever a copy is."""
    officer_session = session.get(OfficerSession, hash_token(token))
    if officer_session is not None and officer_session.revoked_at is None:
        officer_session.revoked_at = clock.now()
        session.flush()
    audit.record(session, actor, "officer.logout", "officer", actor.id)


def csrf_token(token: str) -> str:
    """The page's anti-forgery token for a cookie session: bound to that session (a keyed hash
    of it), so it needs no storage and dies with the session. Another site can make the browser
    send the cookie, never read this value."""
    key = get_keystore().secret("officer-csrf")
    return hmac.new(key, hash_token(token).encode(), hashlib.sha256).hexdigest()


def csrf_matches(token: str, presented: str | None) -> bool:
    return presented is not None and hmac.compare_digest(csrf_token(token), presented)
