"""Holder authentication: activation, password and passcode, bound device, lockout, sessions.

Every attempt, good or bad, is written to the audit log (without the secrets). Accounts are read
through `eid.authority.service` only.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from eid.authority import service as authority
from eid.authority.schemas import AccountView
from eid.core import audit, clock
from eid.core.audit import Actor
from eid.core.crypto import hash_token
from eid.core.errors import EidError, Unauthorized
from eid.identity import devices

# Re-exported: `eid client create` calls identity.service.create_client.
from eid.identity.clients import create_client as create_client
from eid.identity.models import Device, DeviceChallenge, HolderCredential, HolderSession
from eid.identity.passwords import check_new_credentials, hash_secret, verify_secret

ACR_LEVEL2 = "urn:eid:vn:level2"
ACR_LEVEL1 = "urn:eid:vn:level1"
SESSION_TTL = dt.timedelta(hours=1)
CHALLENGE_TTL = dt.timedelta(minutes=5)
FREE_ATTEMPTS = 5  # wrong passwords allowed before the backoff starts
MAX_BACKOFF = dt.timedelta(hours=24)

# A dummy hash verified when the e-ID number is unknown, so timing does not reveal which
# numbers exist.
_DUMMY_HASH = hash_secret(secrets.token_urlsafe(16))


class AccountUnusable(EidError):
    code = "ACCOUNT_LOCKED"
    status = 403


class TemporarilyLocked(EidError):
    code = "TOO_MANY_ATTEMPTS"
    status = 429


@dataclass(frozen=True)
class IssuedSession:
    token: str
    account_id: uuid.UUID
    acr: str
    expires_at: dt.datetime


def holder_actor(account_id: uuid.UUID) -> Actor:
    return Actor(kind="holder", id=str(account_id), role="holder")


def acr_for(account: AccountView) -> str:
    return ACR_LEVEL2 if account.level >= 2 else ACR_LEVEL1


def require_usable(account: AccountView, *, keep_writes: bool = False) -> None:
    """A locked, unactivated or closed account authenticates nowhere."""
    if not account.usable:
        raise AccountUnusable(
            "the account cannot be used",
            details={"status": account.status},
            keep_writes=keep_writes,
        )


# --- activation ---


def activate(
    session: Session,
    *,
    eid_number: str,
    activation_code: str,
    password: str,
    passcode: str,
    device_jwk: dict[str, Any],
    device_label: str,
) -> IssuedSession:
    """The activation code (sent to the verified phone at issuance) sets the credentials and binds
    the first device in one transaction: a failure leaves the account as it was."""
    check_new_credentials(password, passcode)
    public_jwk = devices.clean_public_jwk(device_jwk)
    account = authority.activate(session, eid_number, activation_code)
    session.add(
        HolderCredential(
            account_id=account.id,
            password_hash=hash_secret(password),
            passcode_hash=hash_secret(passcode),
            failed_attempts=0,
        )
    )
    session.add(Device(account_id=account.id, label=device_label, public_jwk=public_jwk))
    session.flush()
    actor = holder_actor(account.id)
    audit.record(session, actor, "holder.credentials_set", "account", account.id)
    audit.record(
        session, actor, "holder.device_bound", "account", account.id, details={"first": True}
    )
    # Activated while a lock ground holds: the activation stands (credentials, device), only
    # the session is refused until the account unlocks.
    require_usable(account, keep_writes=True)
    return open_session(session, account, amr=["otp", "pwd", "hwk"])


# --- login ---


def _credential_row(session: Session, account_id: uuid.UUID) -> HolderCredential | None:
    return session.execute(
        select(HolderCredential).where(HolderCredential.account_id == account_id).with_for_update()
    ).scalar_one_or_none()


def check_password(session: Session, eid_number: str, password: str) -> AccountView:
    """First factor, with lockout: after FREE_ATTEMPTS failures each further failure doubles the
    wait (1 min, 2 min, 4 min ... 24 h). The refused request must still keep the counter and
    the audit event: its errors say so with `keep_writes`, which the request's boundary
    honours (`core.database.unit_of_work`)."""
    account = authority.find_by_eid_number(session, eid_number)
    credential = _credential_row(session, account.id) if account else None
    if account is None or credential is None:
        verify_secret(_DUMMY_HASH, password)
        audit.record(
            session,
            Actor(kind="holder", id="unknown"),
            "holder.login_failed",
            "account",
            "unknown",
            details={"why": "unknown_account"},
        )
        raise Unauthorized("wrong e-ID number or password", code="LOGIN_FAILED", keep_writes=True)
    now = clock.now()
    if credential.locked_until and credential.locked_until > now:
        audit.record(
            session,
            holder_actor(account.id),
            "holder.login_refused",
            "account",
            account.id,
            details={"why": "backoff"},
        )
        raise TemporarilyLocked(
            "too many failed attempts; try again later",
            details={"retry_after": int((credential.locked_until - now).total_seconds()) + 1},
            keep_writes=True,
        )
    if not verify_secret(credential.password_hash, password):
        register_failure(session, credential, "password")
        raise Unauthorized("wrong e-ID number or password", code="LOGIN_FAILED", keep_writes=True)
    return account


def register_failure(session: Session, credential: HolderCredential, factor: str) -> None:
    credential.failed_attempts += 1
    over = credential.failed_attempts - FREE_ATTEMPTS
    if over >= 0:
        wait = min(dt.timedelta(minutes=2**over), MAX_BACKOFF)
        credential.locked_until = clock.now() + wait
    audit.record(
        session,
        holder_actor(credential.account_id),
        "holder.login_failed",
        "account",
        credential.account_id,
        details={"factor": factor, "failures": credential.failed_attempts},
    )


def _succeeded(session: Session, account_id: uuid.UUID) -> None:
    session.execute(
        update(HolderCredential)
        .where(HolderCredential.account_id == account_id)
        .values(failed_attempts=0, locked_until=None)
    )


def login_with_passcode(
    session: Session, *, eid_number: str, password: str, passcode: str
) -> IssuedSession:
    account = check_password(session, eid_number, password)
    credential = _credential_row(session, account.id)
    assert credential is not None
    if not verify_secret(credential.passcode_hash, passcode):
        register_failure(session, credential, "passcode")
        raise Unauthorized("wrong passcode", code="LOGIN_FAILED", keep_writes=True)
    require_usable_audited(session, account)
    _succeeded(session, account.id)
    return open_session(session, account, amr=["pwd", "pin"])


def new_login_challenge(session: Session, eid_number: str) -> DeviceChallenge:
    account = authority.find_by_eid_number(session, eid_number)
    # An unknown number still gets a challenge, so the answer reveals nothing.
    challenge = DeviceChallenge(
        account_id=account.id if account else uuid.uuid4(),
        purpose="login",
        nonce=devices.new_nonce(),
        expires_at=clock.now() + CHALLENGE_TTL,
    )
    session.add(challenge)
    session.flush()
    return challenge


def take_challenge(
    session: Session, challenge_id: uuid.UUID, account_id: uuid.UUID, purpose: str
) -> DeviceChallenge:
    challenge = session.execute(
        select(DeviceChallenge).where(DeviceChallenge.id == challenge_id).with_for_update()
    ).scalar_one_or_none()
    if (
        challenge is None
        or challenge.account_id != account_id
        or challenge.purpose != purpose
        or challenge.used_at is not None
        or challenge.expires_at < clock.now()
    ):
        raise Unauthorized("unknown or expired challenge", code="CHALLENGE_INVALID")
    challenge.used_at = clock.now()
    return challenge


def bound_device(session: Session, account_id: uuid.UUID) -> Device | None:
    return session.execute(
        select(Device).where(Device.account_id == account_id, Device.status == "bound")
    ).scalar_one_or_none()


def login_with_device(
    session: Session, *, eid_number: str, password: str, challenge_id: uuid.UUID, proof: str
) -> IssuedSession:
    """Level 2 in the app: the password plus the bound device's signature over our nonce."""
    account = check_password(session, eid_number, password)
    challenge = take_challenge(session, challenge_id, account.id, "login")
    device = bound_device(session, account.id)
    credential = _credential_row(session, account.id)
    assert credential is not None
    try:
        if device is None:
            raise Unauthorized("no device is bound to this account", code="NO_BOUND_DEVICE")
        devices.verify_proof(device.public_jwk, proof, challenge.nonce)
    except Unauthorized as refused:
        register_failure(session, credential, "device")
        refused.keep_writes = True  # the failure counts, and the challenge stays used
        raise
    require_usable_audited(session, account)
    _succeeded(session, account.id)
    return open_session(session, account, amr=["pwd", "hwk"])


def require_usable_audited(session: Session, account: AccountView) -> None:
    if not account.usable:
        audit.record(
            session,
            holder_actor(account.id),
            "holder.login_refused",
            "account",
            account.id,
            details={"why": "account_" + account.status},
        )
    require_usable(account, keep_writes=True)


# --- sessions ---


def open_session(session: Session, account: AccountView, *, amr: list[str]) -> IssuedSession:
    token = secrets.token_urlsafe(32)
    expires = clock.now() + SESSION_TTL
    acr = acr_for(account)
    session.add(
        HolderSession(
            token_hash=hash_token(token),
            account_id=account.id,
            acr=acr,
            amr=amr,
            expires_at=expires,
        )
    )
    audit.record(
        session,
        holder_actor(account.id),
        "holder.login",
        "account",
        account.id,
        details={"amr": amr, "acr": acr},
    )
    return IssuedSession(token=token, account_id=account.id, acr=acr, expires_at=expires)


def session_for_token(session: Session, token: str) -> tuple[HolderSession, AccountView]:
    """The holder behind a token, refused if the session ended or the account became unusable."""
    row = session.get(HolderSession, hash_token(token))
    if row is None or row.revoked_at is not None or row.expires_at < clock.now():
        raise Unauthorized("the session is not valid", code="INVALID_SESSION")
    account = authority.get_account(session, row.account_id)
    return row, account


def end_session(session: Session, token: str) -> None:
    row = session.get(HolderSession, hash_token(token))
    if row is not None and row.revoked_at is None:
        row.revoked_at = clock.now()
        audit.record(
            session, holder_actor(row.account_id), "holder.logout", "account", row.account_id
        )
