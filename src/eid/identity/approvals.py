"""Approval on the bound device ("approve in the eID app", as Singpass or BankID do it).

A login page asks for an approval with an e-ID number; the holder's app, signed in on the phone
that holds the account's passkey, shows the request (relying party, purpose, claims) and three
two-digit numbers. The holder picks the one the login page shows (number matching: a holder
approving a request they did not start, tired of prompts, picks wrong and the request ends) and
approves with the passkey, user verified, over a challenge that begins with the approval's id.
The browser that asked then continues the authorization with a session `amr` ["hwk", "user"],
`auth_time` the approval's time.

What holds it:
- one decision: pending -> approved | denied | expired, written by an UPDATE that matches only a
  pending, unexpired row (and check constraints in the table);
- bound to the asking browser: its `eid_approval` cookie's hash is in the row; the approval id
  alone (seen over a shoulder, in a log) opens nothing;
- one use: an approved request opens one session (`used_at`, set by a matching UPDATE);
- two minutes; a newer request of the same account ends the older one;
- the same answer whatever the e-ID number: an unknown number, an account without a passkey or
  an unusable one get a request no phone is told of, which expires like any other;
- every step in the audit log (`holder.approval_*`), throttled per IP and per e-ID number.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from webauthn import generate_authentication_options, options_to_json
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.structs import PublicKeyCredentialDescriptor, UserVerificationRequirement

from eid.authority import service as authority
from eid.authority.schemas import AccountView
from eid.core import audit, clock
from eid.core.audit import Actor
from eid.core.errors import Conflict, EidError, NotFound, Unauthorized
from eid.core.throttle import Limit, Policy
from eid.identity import passkeys, service
from eid.identity.claims import claims_for_scopes
from eid.identity.models import Device, DeviceApproval, RelyingParty

APPROVAL_TTL = dt.timedelta(minutes=2)
BROWSER_COOKIE = "eid_approval"
CHOICES = 3

_MINUTE = dt.timedelta(minutes=1)
# Asking for an approval pushes a prompt to a phone: few per e-ID number (push fatigue).
START = Policy("device-approval", Limit(10, _MINUTE), Limit(5, 15 * _MINUTE))
# The waiting page asks every 2 s for two minutes; room for a few pages behind one address.
WAIT = Policy("device-approval-wait", Limit(180, _MINUTE))
# The holder's app: its own session is the credential; this only bounds a runaway script.
DECIDE = Policy("device-approval-decide", Limit(30, _MINUTE))

_UNKNOWN = Actor(kind="holder", id="unknown")


class ApprovalNotFound(NotFound):
    code = "APPROVAL_NOT_FOUND"


class ApprovalDecided(Conflict):
    code = "APPROVAL_DECIDED"


class WrongMatchingCode(EidError):
    code = "APPROVAL_WRONG_NUMBER"
    status = 409


def _not_found() -> ApprovalNotFound:
    return ApprovalNotFound("no such sign-in request, or it has ended")


def browser_hash(secret: str) -> str:
    return hashlib.sha256(b"eid-approval:" + secret.encode()).hexdigest()


def new_browser_secret() -> str:
    return secrets.token_urlsafe(32)


def _matching_code() -> tuple[str, list[str]]:
    """The number the login page shows and the app's three choices (it among two others)."""
    numbers = set[int]()
    while len(numbers) < CHOICES:
        numbers.add(10 + secrets.randbelow(90))
    choices = [f"{n:02d}" for n in numbers]
    secrets.SystemRandom().shuffle(choices)
    return choices[secrets.randbelow(CHOICES)], choices


def _passkey_device(session: Session, account_id: uuid.UUID) -> Device | None:
    device = service.bound_device(session, account_id)
    return device if device is not None and device.kind == "passkey" else None


@dataclass(frozen=True)
class Started:
    approval_id: uuid.UUID
    matching_code: str


def start(
    session: Session,
    *,
    eid_number: str,
    client: RelyingParty,
    scopes: list[str],
    authorize_url: str,
    browser_secret: str,
) -> Started:
    """A new request from a login page. The answer is the same for every e-ID number; only an
    active account with a bound passkey gets a request its app will show."""
    now = clock.now()
    account = authority.find_by_eid_number(session, eid_number.strip()) if eid_number else None
    why = None
    if account is None:
        why = "unknown_account"
    elif not account.usable:
        why = "account_" + account.status
    elif _passkey_device(session, account.id) is None:
        why = "no_passkey"
    delivered = account if why is None else None
    if delivered is not None:
        # One open request per account: a newer one ends the older (and its browser's wait).
        ended = session.execute(
            update(DeviceApproval)
            .where(DeviceApproval.account_id == delivered.id, DeviceApproval.status == "pending")
            .values(status="expired", decided_at=now)
            .returning(DeviceApproval.id)
        ).all()
        for (old_id,) in ended:
            _audit(session, delivered.id, "holder.approval_expired", old_id, why="superseded")
    code, choices = _matching_code()
    row = DeviceApproval(
        account_id=delivered.id if delivered else None,
        client_id=client.client_id,
        scopes=scopes,
        claims=["sub", *claims_for_scopes(scopes)],
        purpose=client.purpose,
        matching_code=code,
        code_choices=choices,
        browser_hash=browser_hash(browser_secret),
        authorize_url=authorize_url,
        status="pending",
        expires_at=now + APPROVAL_TTL,
        created_at=now,
    )
    session.add(row)
    session.flush()
    if delivered is not None:
        _tell_the_app(session, delivered, row.id)
    details: dict[str, Any] = {"client": client.client_id}
    if why is not None:
        details["undelivered"] = why
    target = account.id if account is not None else None
    _audit(session, target, "holder.approval_created", row.id, **details)
    return Started(approval_id=row.id, matching_code=code)


def _tell_the_app(session: Session, account: AccountView, approval_id: uuid.UUID) -> None:
    """A message in the app's inbox, linking the request's page: the app channel only (no job
    is queued, no SMS or email for each sign-in), and no parameter (nothing personal)."""
    from eid.notify.service import notify

    notify(
        session,
        recipient_type="account",
        recipient_id=account.id,
        channels={"app": None},
        language=account.language,
        template="sign_in_approval",
        params={},
        key=f"sign_in_approval:{approval_id}",
    )


def _audit(
    session: Session,
    account_id: uuid.UUID | None,
    action: str,
    approval_id: uuid.UUID,
    **details: Any,
) -> None:
    actor = service.holder_actor(account_id) if account_id else _UNKNOWN
    audit.record(
        session,
        actor,
        action,
        "account",
        account_id or "unknown",
        details={"approval": str(approval_id), **details},
    )


def _decide(session: Session, row: DeviceApproval, status: str, **details: Any) -> bool:
    """The one decision: only a pending request still in its time takes it (an expiry only one
    whose time is over). False when another decision came first."""
    now = clock.now()
    still_open = (
        DeviceApproval.expires_at <= now if status == "expired" else DeviceApproval.expires_at > now
    )
    decided = session.execute(
        update(DeviceApproval)
        .where(DeviceApproval.id == row.id, DeviceApproval.status == "pending", still_open)
        .values(status=status, decided_at=now, challenge=None)
        .returning(DeviceApproval.id)
        .execution_options(synchronize_session=False)
    ).first()
    session.refresh(row)
    if decided is not None:
        _audit(session, row.account_id, f"holder.approval_{status}", row.id, **details)
    return decided is not None


def expire_if_due(session: Session, row: DeviceApproval) -> None:
    if row.status == "pending" and row.expires_at <= clock.now():
        _decide(session, row, "expired", why="timeout")


# --- the browser that asked ---


def for_browser(
    session: Session, approval_id: uuid.UUID, browser_secret: str | None
) -> DeviceApproval:
    """The request, only for the browser that made it (another gets "not found")."""
    row = session.get(DeviceApproval, approval_id)
    if (
        row is None
        or not browser_secret
        or not secrets.compare_digest(row.browser_hash, browser_hash(browser_secret))
    ):
        raise _not_found()
    expire_if_due(session, row)
    return row


def redeem(session: Session, row: DeviceApproval) -> service.IssuedSession:
    """The approved request opens its one session in the asking browser (`amr` hwk + user,
    `auth_time` the approval's time). A second try, or a locked account, is refused."""
    used = session.execute(
        update(DeviceApproval)
        .where(
            DeviceApproval.id == row.id,
            DeviceApproval.status == "approved",
            DeviceApproval.used_at.is_(None),
        )
        .values(used_at=clock.now())
        .returning(DeviceApproval.account_id)
        .execution_options(synchronize_session=False)
    ).first()
    if used is None or used.account_id is None:
        raise _not_found()
    account = authority.get_account(session, used.account_id)
    service.require_usable_audited(session, account)
    assert row.decided_at is not None
    return service.open_session(
        session, account, amr=["hwk", "user"], authenticated_at=row.decided_at
    )


# --- the holder's app ---


@dataclass(frozen=True)
class PendingApproval:
    id: uuid.UUID
    client_name: str
    purpose: str
    claims: list[str]
    choices: list[str]
    expires_at: dt.datetime


def pending(session: Session, account_id: uuid.UUID) -> list[PendingApproval]:
    """The account's requests waiting for a decision, newest first (at most one, normally)."""
    rows = session.execute(
        select(DeviceApproval, RelyingParty)
        .join(RelyingParty, RelyingParty.client_id == DeviceApproval.client_id)
        .where(
            DeviceApproval.account_id == account_id,
            DeviceApproval.status == "pending",
            DeviceApproval.expires_at > clock.now(),
        )
        .order_by(DeviceApproval.created_at.desc())
    ).all()
    return [
        PendingApproval(
            id=row.id,
            client_name=party.name,
            purpose=row.purpose,
            claims=list(row.claims),
            choices=list(row.code_choices),
            expires_at=row.expires_at,
        )
        for row, party in rows
    ]


def _holders(session: Session, account_id: uuid.UUID, approval_id: uuid.UUID) -> DeviceApproval:
    row = session.get(DeviceApproval, approval_id, with_for_update=True)
    if row is None or row.account_id != account_id:
        raise _not_found()
    expire_if_due(session, row)
    if row.status != "pending":
        raise ApprovalDecided(
            "this sign-in request has already ended (%(status)s)",
            params={"status": row.status},
            details={"status": row.status},
            keep_writes=True,
        )
    return row


def approve_options(
    session: Session, account_id: uuid.UUID, approval_id: uuid.UUID
) -> dict[str, Any]:
    """Request options for `navigator.credentials.get()`: the bound passkey only, user
    verification required, the challenge the approval's id and 16 random bytes."""
    row = _holders(session, account_id, approval_id)
    device = _passkey_device(session, account_id)
    if device is None or device.credential_id is None:
        raise Unauthorized("no device is bound to this account", code="NO_BOUND_DEVICE")
    challenge = row.id.bytes + secrets.token_bytes(16)
    row.challenge = bytes_to_base64url(challenge)
    rp_id, _ = passkeys.relying_party()
    options = generate_authentication_options(
        rp_id=rp_id,
        challenge=challenge,
        timeout=int(APPROVAL_TTL.total_seconds() * 1000),
        allow_credentials=[PublicKeyCredentialDescriptor(id=device.credential_id)],
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    return dict(json.loads(options_to_json(options)))


def approve(
    session: Session,
    account_id: uuid.UUID,
    approval_id: uuid.UUID,
    *,
    matching_code: str,
    credential: dict[str, Any],
) -> str:
    """The holder's yes: the number shown on the login page, then the bound passkey over this
    approval's challenge. A wrong number ends the request as denied (whoever started it is
    not in front of this holder's login page)."""
    row = _holders(session, account_id, approval_id)
    if not secrets.compare_digest(matching_code.strip(), row.matching_code):
        _decide(session, row, "denied", why="wrong_number")
        raise WrongMatchingCode(
            "that is not the number on the sign-in page: the request is refused",
            keep_writes=True,
        )
    challenge = row.challenge
    row.challenge = None  # one answer per challenge, right or wrong
    session.flush()
    if challenge is None or not base64url_to_bytes(challenge).startswith(row.id.bytes):
        raise passkeys.refused()
    assertion = passkeys.parse_assertion(credential)
    device = passkeys.device_for(session, assertion)
    if device is None or device.account_id != account_id:
        raise passkeys.refused()
    try:
        device.sign_count = passkeys.verify_assertion(challenge, assertion, device)
    except passkeys.ClonedAuthenticator:
        _audit(session, account_id, "holder.passkey_clone_suspected", row.id)
        raise
    if not _decide(session, row, "approved", device=str(device.id)):
        raise ApprovalDecided(
            "this sign-in request has already ended (%(status)s)",
            params={"status": row.status},
            details={"status": row.status},
            keep_writes=True,
        )
    return row.status


def deny(session: Session, account_id: uuid.UUID, approval_id: uuid.UUID) -> str:
    row = _holders(session, account_id, approval_id)
    _decide(session, row, "denied", why="holder")
    return row.status
