"""Holder authentication: activation, password and passcode, bound device, lockout, sessions.

Every attempt, good or bad, is written to the audit log (without the secrets). Accounts are read
through `eid.authority.service` only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql import Subquery

from eid.authority import service as authority
from eid.authority.schemas import AccountView
from eid.core import audit, clock
from eid.core.audit import Actor
from eid.core.crypto import get_keystore, hash_token
from eid.core.errors import EidError, Unauthorized, ValidationFailed
from eid.core.throttle import lockout_wait
from eid.identity import devices, passkeys

# Re-exported: `eid client create` calls identity.service.create_client.
from eid.identity.clients import create_client as create_client
from eid.identity.models import Device, DeviceChallenge, HolderCredential, HolderSession
from eid.identity.passwords import (
    check_new_credentials,
    check_new_passcode,
    check_new_password,
    hash_secret,
    verify_secret,
)

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


@dataclass(frozen=True)
class IssuedSession:
    token: str
    account_id: uuid.UUID
    acr: str
    expires_at: dt.datetime
    amr: tuple[str, ...] = ()


@dataclass(frozen=True)
class PasskeyAnswer:
    """What the browser answered to a ceremony (`POST /passkeys/options`)."""

    ceremony_id: uuid.UUID
    credential: dict[str, Any]


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
    device_jwk: dict[str, Any] | None = None,
    device_label: str = "phone",
    passkey: PasskeyAnswer | None = None,
) -> IssuedSession:
    """The activation code (sent to the verified phone at issuance) sets the credentials and binds
    the first device, a JWS device key or a passkey, in one transaction: a failure leaves the
    account as it was (a passkey's ceremony stays used)."""
    check_new_credentials(password, passcode)
    if passkey is not None:
        known = authority.find_by_eid_number(session, eid_number)
        ceremony = passkeys.take(
            session, passkey.ceremony_id, "activation", known.id if known else None
        )
        new_passkey: passkeys.NewPasskey | None = passkeys.register(ceremony, passkey.credential)
        public_jwk: dict[str, Any] | None = None
    elif device_jwk is not None:
        new_passkey = None
        public_jwk = devices.clean_public_jwk(device_jwk)
    else:
        raise ValidationFailed("give a device key or a passkey", code="DEVICE_REQUIRED")
    account = authority.activate(session, eid_number, activation_code)
    session.add(
        HolderCredential(
            account_id=account.id,
            password_hash=hash_secret(password),
            passcode_hash=hash_secret(passcode),
            failed_attempts=0,
            passkey_user_handle=new_passkey.user_handle if new_passkey else None,
        )
    )
    if new_passkey is not None:
        session.add(passkeys.device_row(account.id, device_label, new_passkey))
        amr = ["otp", "pwd", "hwk", "user"]
    else:
        assert public_jwk is not None
        session.add(Device(account_id=account.id, label=device_label, public_jwk=public_jwk))
        amr = ["otp", "pwd", "hwk"]
    session.flush()
    actor = holder_actor(account.id)
    audit.record(session, actor, "holder.credentials_set", "account", account.id)
    audit.record(
        session,
        actor,
        "holder.device_bound",
        "account",
        account.id,
        details={"first": True, "kind": "passkey" if new_passkey else "jws"},
    )
    # Activated while a lock ground holds: the activation stands (credentials, device), only
    # the session is refused until the account unlocks.
    require_usable(account, keep_writes=True)
    return open_session(session, account, amr=amr)


# --- login ---


def _credential_row(session: Session, account_id: uuid.UUID) -> HolderCredential | None:
    return session.execute(
        select(HolderCredential).where(HolderCredential.account_id == account_id).with_for_update()
    ).scalar_one_or_none()


def login_failed() -> Unauthorized:
    """The one answer to every wrong credential: unknown number, wrong password, wrong passcode,
    OTP or device proof, and an account in its backoff. It tells an attacker nothing about which
    part was right or whether the number exists (the lockout is not revealed: a holder in it
    reads the same words, which say to wait). Every such refusal keeps its bookkeeping."""
    return Unauthorized(
        "wrong e-ID number or credentials, or too many attempts: wait and try again",
        code="LOGIN_FAILED",
        keep_writes=True,
    )


def check_password(
    session: Session, eid_number: str, password: str, *, passcode: str | None = None
) -> AccountView:
    """The knowledge factors, with lockout: after FREE_ATTEMPTS failures each further failure
    doubles the wait (1 min, 2 min, 4 min ... 24 h); success resets it. With `passcode`, both
    are checked whatever the password's outcome, and every path verifies as many Argon2 hashes
    (a dummy one for an unknown number or during the backoff), so neither the answer nor its
    time tells a right password from a wrong one, or a known number from an unknown one."""
    account = authority.find_by_eid_number(session, eid_number)
    credential = _credential_row(session, account.id) if account else None
    secrets_given = [password] if passcode is None else [password, passcode]
    if account is None or credential is None:
        for secret in secrets_given:
            verify_secret(_DUMMY_HASH, secret)
        audit.record(
            session,
            Actor(kind="holder", id="unknown"),
            "holder.login_failed",
            "account",
            "unknown",
            details={"why": "unknown_account"},
        )
        raise login_failed()
    now = clock.now()
    if credential.locked_until and credential.locked_until > now:
        for secret in secrets_given:
            verify_secret(_DUMMY_HASH, secret)
        audit.record(
            session,
            holder_actor(account.id),
            "holder.login_refused",
            "account",
            account.id,
            details={"why": "backoff"},
        )
        raise login_failed()
    password_ok = verify_secret(credential.password_hash, password)
    passcode_ok = passcode is None or verify_secret(credential.passcode_hash, passcode)
    if not password_ok or not passcode_ok:
        register_failure(session, credential, "password" if not password_ok else "passcode")
        raise login_failed()
    return account


def register_failure(session: Session, credential: HolderCredential, factor: str) -> None:
    credential.failed_attempts += 1
    wait = lockout_wait(credential.failed_attempts, free=FREE_ATTEMPTS, cap=MAX_BACKOFF)
    if wait is not None:
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
    account = check_password(session, eid_number, password, passcode=passcode)
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


def bound_devices() -> Subquery:
    """(account_id, id) of every bound device, to join in a query over many accounts."""
    return select(Device.account_id, Device.id).where(Device.status == "bound").subquery()


def login_with_device(
    session: Session, *, eid_number: str, password: str, challenge_id: uuid.UUID, proof: str
) -> IssuedSession:
    """Level 2 in the app: the password plus the bound device's signature over our nonce."""
    account = check_password(session, eid_number, password)
    credential = _credential_row(session, account.id)
    assert credential is not None
    try:
        challenge = take_challenge(session, challenge_id, account.id, "login")
        device = bound_device(session, account.id)
        if device is None:
            raise Unauthorized("no device is bound to this account", code="NO_BOUND_DEVICE")
        devices.verify_proof(device.public_jwk, proof, challenge.nonce)
    except Unauthorized:
        # The same answer as a wrong password: a refused challenge or proof must not confirm
        # that the password was right. The failure counts, and the challenge stays used.
        register_failure(session, credential, "device")
        raise login_failed() from None
    require_usable_audited(session, account)
    _succeeded(session, account.id)
    return open_session(session, account, amr=["pwd", "hwk"])


def login_with_passkey(session: Session, answer: PasskeyAnswer) -> IssuedSession:
    """A discoverable passkey, user-verified: possession and the holder's own unlock (amr `hwk`,
    `user`). The same lockout, backoff and answer as the password paths; every attempt is
    audited (the credential id is not: it is an identifier of the holder's authenticator)."""
    unknown = Actor(kind="holder", id="unknown")
    try:
        ceremony = passkeys.take(session, answer.ceremony_id, "login", None)
    except Unauthorized:
        audit.record(
            session,
            unknown,
            "holder.login_failed",
            "account",
            "unknown",
            details={"why": "ceremony", "factor": "passkey"},
        )
        raise login_failed() from None
    try:
        assertion = passkeys.parse_assertion(answer.credential)
    except Unauthorized:
        audit.record(
            session,
            unknown,
            "holder.login_failed",
            "account",
            "unknown",
            details={"why": "malformed", "factor": "passkey"},
        )
        raise login_failed() from None
    device = passkeys.device_for(session, assertion)
    credential = _credential_row(session, device.account_id) if device else None
    if (
        device is None
        or credential is None
        or (ceremony.account_id is not None and ceremony.account_id != device.account_id)
    ):
        audit.record(
            session,
            unknown,
            "holder.login_failed",
            "account",
            "unknown",
            details={"why": "unknown_passkey", "factor": "passkey"},
        )
        raise login_failed()
    if credential.locked_until and credential.locked_until > clock.now():
        audit.record(
            session,
            holder_actor(device.account_id),
            "holder.login_refused",
            "account",
            device.account_id,
            details={"why": "backoff", "factor": "passkey"},
        )
        raise login_failed()
    handle = passkeys.user_handle_of(assertion)
    try:
        if handle is not None and handle != credential.passkey_user_handle:
            raise passkeys.refused()
        device.sign_count = passkeys.authenticate(ceremony, assertion, device)
    except passkeys.ClonedAuthenticator:
        audit.record(
            session,
            holder_actor(device.account_id),
            "holder.passkey_clone_suspected",
            "account",
            device.account_id,
            details={"device": str(device.id), "stored_count": device.sign_count},
        )
        register_failure(session, credential, "passkey")
        raise login_failed() from None
    except Unauthorized:
        register_failure(session, credential, "passkey")
        raise login_failed() from None
    account = authority.get_account(session, device.account_id)
    require_usable_audited(session, account)
    _succeeded(session, account.id)
    return open_session(session, account, amr=["hwk", "user"])


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


# --- passkey ceremonies ---


def passkey_options(
    session: Session,
    *,
    purpose: str,
    eid_number: str | None,
    challenge_id: uuid.UUID | None,
) -> passkeys.Options:
    """Options for a ceremony, the same shape whether or not the number exists: an unknown
    number gets a ceremony bound to no account, which no answer can complete."""
    account = authority.find_by_eid_number(session, eid_number.strip()) if eid_number else None
    bound_to: uuid.UUID | None = account.id if account else None
    if eid_number and account is None and purpose != "activation":
        bound_to = uuid.uuid4()
    handle = None
    if purpose == "activation" and eid_number:
        # The same handle at every try for one number (a keyed hash, never the number itself):
        # a passkey made for a try the server then refused (a wrong code) is replaced on the
        # authenticator by the next try's, not left beside it.
        key = get_keystore().secret("passkey-user")
        digest = hmac.new(key, b"activation:" + eid_number.strip().encode(), hashlib.sha256)
        handle = passkeys.encode_handle(digest.digest())
    if purpose == "rebind":
        # Only after the password (a live rebind challenge of this account) is the ceremony the
        # account's, with the account's own user handle.
        challenge = session.get(DeviceChallenge, challenge_id) if challenge_id else None
        if (
            account is None
            or challenge is None
            or challenge.account_id != account.id
            or challenge.purpose != "rebind"
            or challenge.used_at is not None
            or challenge.expires_at < clock.now()
        ):
            bound_to = uuid.uuid4()
        else:
            credential = session.get(HolderCredential, account.id)
            handle = credential.passkey_user_handle if credential else None
    return passkeys.begin(
        session,
        purpose=purpose,
        account_id=bound_to,
        user_name=(eid_number or "").strip()[:32],
        user_handle=handle,
    )


# --- sessions ---


def open_session(
    session: Session,
    account: AccountView,
    *,
    amr: list[str],
    authenticated_at: dt.datetime | None = None,
) -> IssuedSession:
    """A new session; `authenticated_at` (its `auth_time`) when the holder authenticated
    before the session is opened (an approval on the bound device), else now."""
    token = secrets.token_urlsafe(32)
    expires = clock.now() + SESSION_TTL
    acr = acr_for(account)
    row = HolderSession(
        token_hash=hash_token(token),
        account_id=account.id,
        acr=acr,
        amr=amr,
        expires_at=expires,
    )
    if authenticated_at is not None:
        row.created_at = authenticated_at
    session.add(row)
    audit.record(
        session,
        holder_actor(account.id),
        "holder.login",
        "account",
        account.id,
        details={"amr": amr, "acr": acr},
    )
    return IssuedSession(
        token=token, account_id=account.id, acr=acr, expires_at=expires, amr=tuple(amr)
    )


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


def holder_csrf_token(session_token: str) -> str:
    """The anti-forgery token of a browser session: a keyed hash of the session, so it needs no
    storage and dies with it. Another site can make the browser send the cookie, never read
    this value; pages get it server-side or from `GET /sessions/current`."""
    key = get_keystore().secret("holder-csrf")
    return hmac.new(key, hash_token(session_token).encode(), hashlib.sha256).hexdigest()


def csrf_matches(session_token: str, presented: str | None) -> bool:
    return presented is not None and hmac.compare_digest(
        holder_csrf_token(session_token), presented
    )


# --- credential changes (signed in) ---


class WrongPassword(EidError):
    code = "WRONG_PASSWORD"
    status = 403


def _confirm_password(session: Session, account: AccountView, password: str) -> HolderCredential:
    """The current password again, under the same lockout as a login: a stolen session alone
    cannot change the credentials, nor guess the password faster than the login could."""
    credential = _credential_row(session, account.id)
    if credential is None:
        raise WrongPassword("the current password is not right", keep_writes=True)
    if credential.locked_until and credential.locked_until > clock.now():
        verify_secret(_DUMMY_HASH, password)
        audit.record(
            session,
            holder_actor(account.id),
            "holder.credentials_change_refused",
            "account",
            account.id,
            details={"why": "backoff"},
        )
        raise WrongPassword(
            "too many wrong passwords: wait and try again",
            code="TOO_MANY_ATTEMPTS",
            keep_writes=True,
        )
    if not verify_secret(credential.password_hash, password):
        register_failure(session, credential, "password")
        raise WrongPassword("the current password is not right", keep_writes=True)
    return credential


def _notify_changed(session: Session, account: AccountView, template: str) -> None:
    from eid.notify.service import notify

    notify(
        session,
        recipient_type="account",
        recipient_id=account.id,
        channels={"app": None, "sms": account.phone, "email": account.email},
        language=account.language,
        template=template,
        params={"eid_number": account.eid_number},
        key=f"{template}:{account.id}:{secrets.token_hex(8)}",
    )


def change_password(
    session: Session, account: AccountView, *, current_password: str, new_password: str
) -> None:
    check_new_password(new_password)
    credential = _confirm_password(session, account, current_password)
    credential.password_hash = hash_secret(new_password)
    _credential_changed(session, account, credential, "password")


def change_passcode(
    session: Session, account: AccountView, *, password: str, new_passcode: str
) -> None:
    check_new_passcode(new_passcode)
    credential = _confirm_password(session, account, password)
    credential.passcode_hash = hash_secret(new_passcode)
    _credential_changed(session, account, credential, "passcode")


def _credential_changed(
    session: Session, account: AccountView, credential: HolderCredential, what: str
) -> None:
    """After a password or passcode change: the backoff is reset, the change audited, and the
    holder told by every channel (`password_changed` / `passcode_changed`)."""
    credential.failed_attempts = 0
    credential.locked_until = None
    audit.record(
        session,
        holder_actor(account.id),
        "holder.credentials_changed",
        "account",
        account.id,
        details={"what": what},
    )
    _notify_changed(session, account, f"{what}_changed")
