"""Account issuance and lifecycle at the e-ID authority."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Mapping

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, undefer

from eid.authority.models import LOCK_GROUNDS, Account, AccountRequest
from eid.authority.schemas import (
    AccountDecisionMessage,
    AccountRequestMessage,
    AccountView,
    HolderDocument,
)
from eid.core import audit, clock, jobs
from eid.core.audit import Actor
from eid.core.crypto import (
    KeyStore,
    get_keystore,
    seal,
    sign_with_ring,
    signature_key_id,
    unseal,
    verify_with_ring,
)
from eid.core.errors import Conflict, EidError, NotFound, Unauthorized, ValidationFailed
from eid.core.ids import new_eid_number
from eid.core.jobs import Job
from eid.core.keyset import in_use, key_use
from eid.core.throttle import lockout_wait
from eid.i18n import SUPPORTED
from eid.notify.service import notify, redact_secrets

AUTHORITY = Actor(kind="system", id="eid-authority", role="authority")
REQUEST_KEY = "immigration"
DECISION_KEY = "eid-authority"
REQUEST_TASK = "authority.account_request"
DECISION_TASK = "enrolment.account_decision"
ACTIVATION_TTL = dt.timedelta(days=30)


def _code_hash(account_id: uuid.UUID, code: str) -> str:
    """Keyed hash of an activation code. Not Argon2: a one-time 8-digit code is protected by its
    five-attempt limit and 30-day expiry, and a leaked table without the key reveals nothing;
    Argon2 here cost 0.4 s of CPU per issued account (measured), for no added protection."""
    key = get_keystore().secret("activation-code")
    return hmac.new(key, f"{account_id}:{code}".encode(), hashlib.sha256).hexdigest()


class InvalidRequestSignature(EidError):
    code = "REQUEST_SIGNATURE_INVALID"
    status = 401


def sign_request(message: AccountRequestMessage, keystore: KeyStore | None = None) -> str:
    """Done by the immigration authority with its own key: `KID.SIGNATURE`, its ring's current
    key (`crypto.sign_with_ring`)."""
    ring = (keystore or get_keystore()).signing_ring(REQUEST_KEY)
    return sign_with_ring(message.signed_content(), ring)


def verify_request(
    message: AccountRequestMessage, signature: str, keystore: KeyStore | None = None
) -> None:
    """With the immigration key the signature names, if it is live (not retired); a signature
    made before key ids were carried, with any live key."""
    ring = (keystore or get_keystore()).signing_ring(REQUEST_KEY)
    if not verify_with_ring(message.signed_content(), signature, ring):
        raise InvalidRequestSignature("the account request's signature does not verify")


class InvalidDecisionSignature(EidError):
    code = "DECISION_SIGNATURE_INVALID"
    status = 401


def sign_decision(message: AccountDecisionMessage, keystore: KeyStore | None = None) -> str:
    """Done by the e-ID authority with its own key, as the request was by immigration's."""
    ring = (keystore or get_keystore()).signing_ring(DECISION_KEY)
    return sign_with_ring(message.model_dump(mode="json"), ring)


def verify_decision(
    message: AccountDecisionMessage, signature: str, keystore: KeyStore | None = None
) -> None:
    """What the immigration authority checks before applying an answer."""
    ring = (keystore or get_keystore()).signing_ring(DECISION_KEY)
    if not verify_with_ring(message.model_dump(mode="json"), signature, ring):
        raise InvalidDecisionSignature("the account decision's signature does not verify")


def _pending_signed_by(session: Session, task: str, kid: str) -> int:
    """Messages of `task` not yet applied (queued, running, or dead and retryable) whose
    signature names `kid`, or names no key (signed before key ids were carried: any key may
    have made it)."""
    signatures = session.execute(
        select(Job.payload["signature"].astext).where(Job.task == task, Job.status != "done")
    ).scalars()
    return sum(1 for sig in signatures if sig and signature_key_id(sig) in (kid, None))


@key_use(REQUEST_KEY)
def _requests_pending(session: Session, kid: str) -> EidError | None:
    pending = _pending_signed_by(session, REQUEST_TASK, kid)
    return in_use(
        "%(count)s account requests signed by key %(key)s await a decision: retired, they "
        "would be refused; retire it once they are decided",
        params={"key": kid, "count": pending},
    )


@key_use(DECISION_KEY)
def _decisions_pending(session: Session, kid: str) -> EidError | None:
    pending = _pending_signed_by(session, DECISION_TASK, kid)
    return in_use(
        "%(count)s account decisions signed by key %(key)s are not yet applied: retired, "
        "they would be refused; retire it once they are applied",
        params={"key": kid, "count": pending},
    )


def _portrait_aad(account_id: uuid.UUID) -> bytes:
    return f"account:portrait:{account_id}".encode()


def _fingers_aad(account_id: uuid.UUID) -> bytes:
    return f"account:fingers:{account_id}".encode()


def _view(account: Account) -> AccountView:
    return AccountView.model_validate(account, from_attributes=True)


def receive_account_request(
    session: Session,
    message: AccountRequestMessage,
    signature: str,
    *,
    portrait: bytes | None,
    fingerprint_templates: bytes | None = None,
) -> AccountRequest:
    """Decide one request. The same request twice gets the first decision back, nothing new."""
    verify_request(message, signature)
    if portrait is not None and message.portrait_sha256 != hashlib.sha256(portrait).hexdigest():
        raise InvalidRequestSignature("the portrait does not match the signed request")
    existing = session.execute(
        select(AccountRequest).where(AccountRequest.idempotency_key == message.request_id)
    ).scalar_one_or_none()
    if existing is not None:
        return existing
    holder = session.execute(
        select(Account)
        .where(Account.registry_ref == message.registry_ref, Account.status != "closed")
        .with_for_update()
    ).scalar_one_or_none()
    if holder is not None and message.level == 2 and holder.level == 1:
        # A Level-2 application by the holder of a Level-1 account upgrades that account: the
        # same e-ID number, never a second account (DESIGN.md §1, Level 1).
        _upgrade_account(session, holder, message, portrait, fingerprint_templates)
        decision = AccountRequest(
            idempotency_key=message.request_id,
            application_id=message.application_id,
            signature=signature,
            outcome="upgraded",
            account_id=holder.id,
        )
        session.add(decision)
        session.flush()
        _send_decision(session, decision, holder)
        return decision
    if holder is not None:
        decision = AccountRequest(
            idempotency_key=message.request_id,
            application_id=message.application_id,
            signature=signature,
            outcome="refused",
            refusal_code="ACCOUNT_EXISTS",
        )
        session.add(decision)
        session.flush()
        audit.record(
            session,
            AUTHORITY,
            "account.refused",
            "application",
            message.application_id,
            reason="the person already holds an e-ID account",
            details={"level": message.level, "held_level": holder.level},
        )
        _send_decision(session, decision, None)
        return decision
    account = _create_account(session, message, portrait, fingerprint_templates)
    decision = AccountRequest(
        idempotency_key=message.request_id,
        application_id=message.application_id,
        signature=signature,
        outcome="issued",
        account_id=account.id,
    )
    session.add(decision)
    session.flush()
    _send_decision(session, decision, account)
    return decision


def _create_account(
    session: Session,
    message: AccountRequestMessage,
    portrait: bytes | None,
    fingerprint_templates: bytes | None,
) -> Account:
    code = f"{secrets.randbelow(10**8):08d}"
    for _ in range(20):
        number = new_eid_number()
        account_id = uuid.uuid4()
        account = Account(
            id=account_id,
            eid_number=number,
            registry_ref=message.registry_ref,
            level=message.level,
            status="pending_activation",
            lock_grounds=[],
            full_name=message.full_name,
            date_of_birth=message.date_of_birth,
            sex=message.sex,
            nationality=message.nationality,
            passport=message.passport,
            residence_card=message.residence_card,
            passport_expiry_date=dt.date.fromisoformat(message.passport["expiry_date"]),
            card_expiry_date=dt.date.fromisoformat(message.residence_card["expiry_date"]),
            phone=message.phone,
            email=message.email,
            language=message.language,
            guardian=message.guardian,
            documents=(
                {"items": [d.model_dump(mode="json") for d in message.documents]}
                if message.documents
                else None
            ),
            portrait=seal(portrait, aad=_portrait_aad(account_id)) if portrait else None,
            fingerprint_templates=(
                seal(fingerprint_templates, aad=_fingers_aad(account_id))
                if fingerprint_templates
                else None
            ),
            activation_code_hash=_code_hash(account_id, code),
            activation_expires_at=clock.now() + ACTIVATION_TTL,
        )
        try:
            with session.begin_nested():
                session.add(account)
                session.flush()
        except IntegrityError as exc:
            # A random number clashing with an existing one is retried; a second account for
            # the same person racing this one is not.
            if "uq_accounts_registry_ref_open" in str(exc.orig):
                raise Conflict(
                    "the person already holds an account", code="ACCOUNT_EXISTS"
                ) from None
            continue
        break
    else:
        raise EidError("could not draw a free e-ID number", code="EID_NUMBER_EXHAUSTED")
    audit.record(
        session,
        AUTHORITY,
        "account.issued",
        "account",
        account.id,
        details={"application_id": message.application_id, "level": account.level},
    )
    # The guardian's own phone receives a minor's messages (DESIGN.md §1, minors).
    phone = (message.guardian or {}).get("phone") or message.phone
    notify(
        session,
        recipient_type="account",
        recipient_id=account.id,
        channels={"email": message.email, "sms": phone, "app": None},
        language=message.language,
        template="account_issued" if account.level == 2 else "level1_account_issued",
        params={
            "eid_number": account.eid_number,
            "activation_code": code,
            "full_name": account.full_name,
        },
        key=f"account-issued:{account.id}",
        secret_expires_at=account.activation_expires_at,
    )
    return account


def _upgrade_account(
    session: Session,
    account: Account,
    message: AccountRequestMessage,
    portrait: bytes | None,
    fingerprint_templates: bytes | None,
) -> None:
    """Level 1 becomes Level 2 on the same account: the officer-verified data, the portrait
    taken at the counter and the fingerprints replace what the app registration gave. The
    holder's Level-1 sessions keep their acr; signing in again gives Level 2."""
    account.level = 2
    account.full_name = message.full_name
    account.date_of_birth = message.date_of_birth
    account.sex = message.sex
    account.nationality = message.nationality
    account.passport = message.passport
    account.residence_card = message.residence_card
    account.passport_expiry_date = dt.date.fromisoformat(message.passport["expiry_date"])
    account.card_expiry_date = dt.date.fromisoformat(message.residence_card["expiry_date"])
    account.phone = message.phone
    account.email = message.email
    account.language = message.language
    account.guardian = message.guardian
    if portrait is not None:
        account.portrait = seal(portrait, aad=_portrait_aad(account.id))
    if fingerprint_templates is not None:
        account.fingerprint_templates = seal(fingerprint_templates, aad=_fingers_aad(account.id))
    session.flush()
    audit.record(
        session,
        AUTHORITY,
        "account.upgraded",
        "account",
        account.id,
        details={"application_id": message.application_id, "from_level": 1, "level": 2},
    )
    phone = (message.guardian or {}).get("phone") or message.phone
    notify(
        session,
        recipient_type="account",
        recipient_id=account.id,
        channels={"email": message.email, "sms": phone, "app": None},
        language=message.language,
        template="account_upgraded",
        params={"eid_number": account.eid_number, "full_name": account.full_name},
        key=f"account-upgraded:{account.id}:{message.request_id}",
    )


def _send_decision(session: Session, decision: AccountRequest, account: Account | None) -> None:
    """The decision flows back to the immigration authority as a signed message, not a shared
    table."""
    message = AccountDecisionMessage(
        request_id=decision.idempotency_key,
        application_id=decision.application_id,
        outcome="refused" if decision.outcome == "refused" else "issued",  # upgraded: issued
        eid_number=account.eid_number if account else None,
        refusal_code=decision.refusal_code,
        decided_at=clock.now(),
    )
    jobs.enqueue(
        session,
        DECISION_TASK,
        {"message": message.model_dump(mode="json"), "signature": sign_decision(message)},
        key=f"account-decision:{decision.idempotency_key}",
    )


# --- reading accounts (identity and wallet read through these, never the table) ---


def get_account(session: Session, account_id: uuid.UUID) -> AccountView:
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound("no such account", code="ACCOUNT_NOT_FOUND")
    return _view(account)


def find_by_eid_number(session: Session, eid_number: str) -> AccountView | None:
    account = session.execute(
        select(Account).where(Account.eid_number == eid_number)
    ).scalar_one_or_none()
    return _view(account) if account else None


def accounts_of_person(session: Session, registry_ref: str) -> list[AccountView]:
    """Every account of one person in the immigration database, closed ones too, newest first."""
    rows = session.execute(
        select(Account)
        .where(Account.registry_ref == registry_ref)
        .order_by(Account.created_at.desc())
    ).scalars()
    return [_view(a) for a in rows]


def find_by_name(session: Session, full_name: str, *, limit: int = 20) -> list[AccountView]:
    """Living accounts whose full name is `full_name` (case, spacing and Unicode form aside),
    newest first, found through the name's blind index: no name is unsealed to search."""
    accounts = session.execute(
        select(Account)
        .where(Account.full_name.matches(full_name), Account.status != "closed")
        .order_by(Account.created_at.desc())
        .limit(limit)
    ).scalars()
    return [_view(account) for account in accounts]


def held_level(session: Session, registry_ref: str) -> int | None:
    """The level of the living account the person holds, if any (the app asks before a
    Level-1 registration; the decision on the request stays the authority's)."""
    level = session.execute(
        select(Account.level).where(
            Account.registry_ref == registry_ref, Account.status != "closed"
        )
    ).scalar_one_or_none()
    return int(level) if level is not None else None


def account_states(session: Session, account_ids: list[uuid.UUID]) -> dict[uuid.UUID, bool]:
    """Whether each account is usable, in one query (bulk checks)."""
    rows = session.execute(
        select(Account.id, usable_account().label("usable")).where(Account.id.in_(account_ids))
    ).all()
    return {r.id: r.usable for r in rows}


def usable_account() -> ColumnElement[bool]:
    """The rule "usable" as SQL over `accounts`: active and not locked on any ground. For a
    query that judges many accounts at once (the card's status list)."""
    return and_(Account.status == "active", func.cardinality(Account.lock_grounds) == 0)


def account_documents(session: Session, account_id: uuid.UUID) -> list[HolderDocument]:
    """The documents declared at enrolment, with their verification state, as issued."""
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound("no such account", code="ACCOUNT_NOT_FOUND")
    items = (account.documents or {}).get("items", [])
    return [HolderDocument.model_validate(item) for item in items]


def account_portrait(session: Session, account_id: uuid.UUID) -> bytes | None:
    account = session.execute(
        select(Account).where(Account.id == account_id).options(undefer(Account.portrait))
    ).scalar_one_or_none()
    if account is None or account.portrait is None:
        return None
    return unseal(account.portrait, aad=_portrait_aad(account.id))


ACTIVATION_FREE_ATTEMPTS = 5
ACTIVATION_MAX_WAIT = dt.timedelta(hours=1)


def _activation_refused(*, keep_writes: bool = False) -> Unauthorized:
    # One answer for an unknown number, an account with no code pending, a lockout and a wrong
    # code: the answer tells nothing about an e-ID number to someone who lacks its code.
    return Unauthorized(
        "wrong e-ID number or activation code, or too many attempts: wait, or ask for a new code",
        code="ACTIVATION_FAILED",
        keep_writes=keep_writes,
    )


def activate(session: Session, eid_number: str, activation_code: str) -> AccountView:
    """Check the code sent at issuance; the account becomes active (unless a lock ground holds).

    Wrong codes back off: after the fifth, each further one doubles the wait (1 min ... 1 h) and
    the wait expires; a new code (`new_activation_code`) starts afresh."""
    account = session.execute(
        select(Account).where(Account.eid_number == eid_number).with_for_update()
    ).scalar_one_or_none()
    now = clock.now()
    if (
        account is None
        or account.activation_code_hash is None
        or account.status != "pending_activation"
    ):
        _code_hash(uuid.UUID(int=0), activation_code)  # the same work as a real check
        raise _activation_refused()
    if account.activation_locked_until and account.activation_locked_until > now:
        _code_hash(account.id, activation_code)
        audit.record(
            session,
            Actor(kind="holder", id="unknown"),
            "account.activation_refused",
            "account",
            account.id,
            details={"why": "backoff"},
        )
        raise _activation_refused(keep_writes=True)
    if not hmac.compare_digest(
        account.activation_code_hash, _code_hash(account.id, activation_code.strip())
    ):
        account.activation_attempts += 1
        wait = lockout_wait(
            account.activation_attempts, free=ACTIVATION_FREE_ATTEMPTS, cap=ACTIVATION_MAX_WAIT
        )
        if wait is not None:
            account.activation_locked_until = now + wait
        audit.record(
            session,
            Actor(kind="holder", id="unknown"),
            "account.activation_failed",
            "account",
            account.id,
            details={"failures": account.activation_attempts},
        )
        raise _activation_refused(keep_writes=True)
    # Only the holder of the right code learns that it has expired.
    if account.activation_expires_at and account.activation_expires_at < now:
        raise Unauthorized("the activation code has expired", code="ACTIVATION_EXPIRED")
    account.activation_code_hash = None
    account.activation_attempts = 0
    account.activation_locked_until = None
    account.activated_at = now
    account.status = "locked" if account.lock_grounds else "active"
    holder = Actor(kind="holder", id=str(account.id), role="holder")
    audit.record(session, holder, "account.activated", "account", account.id)
    redact_secrets(session, "account", account.id, carrying="activation_code")  # used
    return _view(account)


def new_activation_code(session: Session, account_id: uuid.UUID, *, actor: Actor) -> str:
    """A fresh activation code (the old one stops working, the backoff starts afresh); the
    caller sends it to the holder (`send_new_activation_code`)."""
    account = _locked_row(session, account_id)
    if account.status != "pending_activation":
        raise Conflict("the account is already activated", code="ALREADY_ACTIVATED")
    code = f"{secrets.randbelow(10**8):08d}"
    account.activation_code_hash = _code_hash(account.id, code)
    account.activation_expires_at = clock.now() + ACTIVATION_TTL
    account.activation_attempts = 0
    account.activation_locked_until = None
    audit.record(session, actor, "account.activation_code_renewed", "account", account.id)
    return code


def send_new_activation_code(
    session: Session, account_id: uuid.UUID, *, actor: Actor, sms_only: bool = False
) -> None:
    """A new code, delivered through the outbox to the verified phone (a minor's guardian's) and,
    unless `sms_only`, the email on file; it is never shown to whoever asked for it."""
    code = new_activation_code(session, account_id, actor=actor)
    account = _locked_row(session, account_id)
    phone = (account.guardian or {}).get("phone") or account.phone
    channels: dict[str, str | None] = {"sms": phone}
    if not sms_only and account.email:
        channels["email"] = account.email
    notify(
        session,
        recipient_type="account",
        recipient_id=account.id,
        channels=channels,
        language=account.language,
        template="activation_code_renewed",
        params={"eid_number": account.eid_number, "activation_code": code},
        key=f"activation-code:{account.id}:{secrets.token_hex(4)}",
        secret_expires_at=account.activation_expires_at,
    )


ACTIVATION_CODE_REQUEST_TASK = "authority.activation_code_request"


def request_activation_code(session: Session, eid_number: str) -> None:
    """The holder asks for a new code by e-ID number. The request itself only queues the work,
    the same for any number, so neither the answer nor its time says whether the number exists
    or awaits activation; the job (`send_requested_activation_code`) does the rest. The
    endpoint's per-number limit caps how often a code can be replaced."""
    jobs.enqueue(
        session,
        ACTIVATION_CODE_REQUEST_TASK,
        {"eid_number": eid_number.strip()[:32]},  # an identifier, not personal data
        key=f"activation-code-request:{uuid.uuid4()}",
        max_attempts=3,
    )


def send_requested_activation_code(session: Session, eid_number: str) -> None:
    """A new code by SMS to the phone on file only, if the number awaits activation."""
    account = session.execute(
        select(Account).where(Account.eid_number == eid_number)
    ).scalar_one_or_none()
    if account is None or account.status != "pending_activation":
        return
    who = Actor(kind="holder", id="unknown")
    send_new_activation_code(session, account.id, actor=who, sms_only=True)


# --- the holder's language: the one every later notification is written in ---


def set_language(
    session: Session, account_id: uuid.UUID, language: str, *, actor: Actor
) -> AccountView:
    """The language the account's notifications (app, SMS, email) are written in from now on;
    one of the five eid speaks. Messages already sent keep theirs."""
    if language not in SUPPORTED:
        raise ValidationFailed(
            "choose one of the languages eid offers: %(languages)s",
            code="UNSUPPORTED_LANGUAGE",
            details={"allowed": list(SUPPORTED)},
            params={"languages": ", ".join(SUPPORTED)},
        )
    account = _locked_row(session, account_id)
    if account.language != language:
        audit.record(
            session,
            actor,
            "account.language_changed",
            "account",
            account.id,
            details={"from": account.language, "to": language},
        )
        account.language = language
    return _view(account)


# --- locks: a set of grounds; the account unlocks when the set is empty ---


def add_lock_ground(
    session: Session, account_id: uuid.UUID, ground: str, *, actor: Actor, reason: str | None = None
) -> AccountView:
    if ground not in LOCK_GROUNDS:
        raise ValidationFailed(
            "unknown lock ground",
            code="INVALID_LOCK_GROUND",
            details={"ground": ground, "allowed": list(LOCK_GROUNDS)},
        )
    account = _locked_row(session, account_id)
    if account.status == "closed":
        raise Conflict("the account is closed", code="ACCOUNT_CLOSED")
    if ground not in account.lock_grounds:
        account.lock_grounds = sorted({*account.lock_grounds, ground})
        was = account.status
        if account.status == "active":
            account.status = "locked"
        audit.record(
            session,
            actor,
            "account.lock_ground_added",
            "account",
            account.id,
            reason=reason,
            details={"ground": ground},
        )
        if was == "active":
            _notify_lock_change(session, account, "account_locked", ground)
    return _view(account)


def remove_lock_ground(
    session: Session, account_id: uuid.UUID, ground: str, *, actor: Actor, reason: str | None = None
) -> AccountView:
    account = _locked_row(session, account_id)
    if ground in account.lock_grounds:
        account.lock_grounds = [g for g in account.lock_grounds if g != ground]
        audit.record(
            session,
            actor,
            "account.lock_ground_removed",
            "account",
            account.id,
            reason=reason,
            details={"ground": ground},
        )
        if not account.lock_grounds and account.status == "locked":
            account.status = "active"
            _notify_lock_change(session, account, "account_unlocked", ground)
    return _view(account)


def close_account(session: Session, account_id: uuid.UUID, *, actor: Actor, reason: str) -> None:
    account = _locked_row(session, account_id)
    account.status = "closed"
    audit.record(session, actor, "account.closed", "account", account.id, reason=reason)


def _locked_row(session: Session, account_id: uuid.UUID) -> Account:
    account = session.execute(
        select(Account).where(Account.id == account_id).with_for_update()
    ).scalar_one_or_none()
    if account is None:
        raise NotFound("no such account", code="ACCOUNT_NOT_FOUND")
    return account


def notify_holder(
    session: Session,
    account: Account,
    *,
    template: str,
    params: Mapping[str, object],
    key: str,
) -> list[uuid.UUID]:
    """A message to the account's holder on every channel they have (app inbox, SMS, and email
    when given), in the account's language; the same `key` sends it once."""
    return notify(
        session,
        recipient_type="account",
        recipient_id=account.id,
        channels={"sms": account.phone, "email": account.email, "app": None},
        language=account.language,
        template=template,
        params=params,
        key=key,
    )


def _notify_lock_change(session: Session, account: Account, template: str, ground: str) -> None:
    stamp = base64.urlsafe_b64encode(secrets.token_bytes(6)).decode()
    notify_holder(
        session,
        account,
        template=template,
        params={"ground": ground, "eid_number": account.eid_number},
        key=f"{template}:{account.id}:{ground}:{stamp}",
    )
