"""Approval on the bound device, the service (`identity.approvals`) on the real database with a
software authenticator: pending -> approved | denied | expired once, the asking browser only,
one session per approval, the same answer for an unknown e-ID number (issue 11, item 3)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from eid.authority import service as authority
from eid.core import clock
from eid.core.audit import AuditEvent
from eid.core.crypto import hash_token
from eid.identity import approvals, service
from eid.identity.clients import create_client, get_client
from eid.identity.models import DeviceApproval, HolderSession, RelyingParty
from eid.identity.passkeys import relying_party
from eid.notify.models import Notification
from tests.identity.factories import PASSCODE, PASSWORD, TEST_ACTOR, make_account, make_holder
from tests.identity.oidc_fixtures import ADMIN, REDIRECT
from tests.identity.soft_authenticator import SoftAuthenticator

BROWSER = "browser-secret-of-the-login-page-0123456789"


@dataclass
class PasskeyHolder:
    account_id: uuid.UUID
    eid_number: str
    authenticator: SoftAuthenticator


def _passkey_holder(db: Session) -> PasskeyHolder:
    account_id, number = make_account(db)
    code = authority.new_activation_code(db, account_id, actor=TEST_ACTOR)
    options = service.passkey_options(
        db, purpose="activation", eid_number=number, challenge_id=None
    )
    authenticator = SoftAuthenticator(origin=relying_party()[1])
    service.activate(
        db,
        eid_number=number,
        activation_code=code,
        password=PASSWORD,
        passcode=PASSCODE,
        passkey=service.PasskeyAnswer(
            ceremony_id=options.ceremony_id, credential=authenticator.create(options.public_key)
        ),
    )
    return PasskeyHolder(account_id, number, authenticator)


def _client(db: Session) -> RelyingParty:
    client_id, _ = create_client(
        db,
        name="Example Bank",
        redirect_uris=[REDIRECT],
        scopes=["openid", "ekyc_basic"],
        purpose="open a bank account (KYC)",
        actor=ADMIN,
    )
    client = get_client(db, client_id)
    assert client is not None
    return client


def _start(db: Session, eid_number: str, browser: str = BROWSER) -> approvals.Started:
    client = _client(db)
    return approvals.start(
        db,
        eid_number=eid_number,
        client=client,
        scopes=["openid", "ekyc_basic"],
        authorize_url=f"/oauth2/authorize?client_id={client.client_id}&state=s-1",
        browser_secret=browser,
    )


def _approve(db: Session, who: PasskeyHolder, approval_id: uuid.UUID, code: str) -> str:
    options = approvals.approve_options(db, who.account_id, approval_id)
    return approvals.approve(
        db,
        who.account_id,
        approval_id,
        matching_code=code,
        credential=who.authenticator.get(options),
    )


def _inbox(db: Session, account_id: uuid.UUID) -> list[str]:
    """The templates of the account's messages; an approval's go to the app inbox only."""
    rows = db.execute(select(Notification).where(Notification.recipient_id == account_id)).scalars()
    found = [n for n in rows if n.template == "sign_in_approval"]
    assert all(n.channel == "app" for n in found)
    return [n.template for n in found]


def _actions(db: Session, approval_id: uuid.UUID) -> list[str]:
    events = db.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars()
    return [e.action for e in events if e.details.get("approval") == str(approval_id)]


def test_approved_on_the_bound_device_opens_one_session_with_hwk_at_approval_time(
    db: Session,
) -> None:
    who = _passkey_holder(db)
    started = _start(db, who.eid_number)
    assert len(started.matching_code) == 2 and started.matching_code.isdigit()
    [waiting] = approvals.pending(db, who.account_id)
    assert waiting.client_name == "Example Bank"
    assert waiting.purpose == "open a bank account (KYC)"
    assert "name" in waiting.claims and waiting.claims[0] == "sub"
    assert len(set(waiting.choices)) == 3 and started.matching_code in waiting.choices
    options = approvals.approve_options(db, who.account_id, started.approval_id)
    assert options["userVerification"] == "required"
    assert [c["id"] for c in options["allowCredentials"]]  # the bound passkey only

    clock.shift(dt.timedelta(seconds=30))
    assert _approve(db, who, started.approval_id, started.matching_code) == "approved"
    row = approvals.for_browser(db, started.approval_id, BROWSER)
    assert row.status == "approved" and row.decided_at is not None
    clock.shift(dt.timedelta(seconds=10))
    issued = approvals.redeem(db, row)
    assert issued.amr == ("hwk", "user") and issued.acr == service.ACR_LEVEL2
    session_row = db.get(HolderSession, hash_token(issued.token))
    assert session_row is not None and session_row.created_at == row.decided_at  # auth_time
    with pytest.raises(approvals.ApprovalNotFound):
        approvals.redeem(db, row)  # single use
    assert approvals.pending(db, who.account_id) == []
    assert _inbox(db, who.account_id) == ["sign_in_approval"]
    assert _actions(db, started.approval_id) == [
        "holder.approval_created",
        "holder.approval_approved",
    ]


def test_denied_and_a_second_decision_is_refused(db: Session) -> None:
    who = _passkey_holder(db)
    started = _start(db, who.eid_number)
    assert approvals.deny(db, who.account_id, started.approval_id) == "denied"
    with pytest.raises(approvals.ApprovalDecided):
        _approve(db, who, started.approval_id, started.matching_code)
    with pytest.raises(approvals.ApprovalDecided):
        approvals.deny(db, who.account_id, started.approval_id)
    row = approvals.for_browser(db, started.approval_id, BROWSER)
    assert row.status == "denied"
    with pytest.raises(approvals.ApprovalNotFound):
        approvals.redeem(db, row)
    assert _actions(db, started.approval_id)[-1] == "holder.approval_denied"


def test_the_decision_is_one_update_on_a_pending_row(db: Session) -> None:
    """Two decisions racing: the database takes the first, the second matches no row."""
    who = _passkey_holder(db)
    started = _start(db, who.eid_number)
    row = db.get(DeviceApproval, started.approval_id)
    assert row is not None
    assert approvals._decide(db, row, "denied", why="test") is True
    assert approvals._decide(db, row, "approved") is False
    assert row.status == "denied"


def test_after_two_minutes_the_request_expires_and_cannot_be_approved(db: Session) -> None:
    who = _passkey_holder(db)
    started = _start(db, who.eid_number)
    options = approvals.approve_options(db, who.account_id, started.approval_id)
    answer = who.authenticator.get(options)
    clock.shift(approvals.APPROVAL_TTL + dt.timedelta(seconds=1))
    with pytest.raises(approvals.ApprovalDecided):
        approvals.approve(
            db,
            who.account_id,
            started.approval_id,
            matching_code=started.matching_code,
            credential=answer,
        )
    assert approvals.for_browser(db, started.approval_id, BROWSER).status == "expired"
    assert approvals.pending(db, who.account_id) == []
    assert "holder.approval_expired" in _actions(db, started.approval_id)


def test_another_browser_cannot_follow_or_redeem_the_approval(db: Session) -> None:
    who = _passkey_holder(db)
    started = _start(db, who.eid_number)
    _approve(db, who, started.approval_id, started.matching_code)
    for stranger in ("another-browser-secret-0123456789abcdef", "", None):
        with pytest.raises(approvals.ApprovalNotFound):
            approvals.for_browser(db, started.approval_id, stranger)


def test_the_wrong_number_denies_the_request(db: Session) -> None:
    who = _passkey_holder(db)
    started = _start(db, who.eid_number)
    [waiting] = approvals.pending(db, who.account_id)
    wrong = next(c for c in waiting.choices if c != started.matching_code)
    with pytest.raises(approvals.WrongMatchingCode):
        _approve(db, who, started.approval_id, wrong)
    assert approvals.for_browser(db, started.approval_id, BROWSER).status == "denied"


def test_an_assertion_for_another_approval_is_refused(db: Session) -> None:
    """The challenge begins with the approval's id: an answer made for one request does not
    approve another."""
    who = _passkey_holder(db)
    first = _start(db, who.eid_number, browser=BROWSER)
    answer_for_first = who.authenticator.get(
        approvals.approve_options(db, who.account_id, first.approval_id)
    )
    second = _start(db, who.eid_number, browser=BROWSER)
    assert approvals.for_browser(db, first.approval_id, BROWSER).status == "expired"  # replaced
    approvals.approve_options(db, who.account_id, second.approval_id)
    with pytest.raises(service.Unauthorized):
        approvals.approve(
            db,
            who.account_id,
            second.approval_id,
            matching_code=second.matching_code,
            credential=answer_for_first,
        )
    assert approvals.for_browser(db, second.approval_id, BROWSER).status == "pending"


@pytest.mark.parametrize("who", ["unknown", "no_passkey", "locked"])
def test_no_phone_is_asked_and_the_answer_has_the_same_shape(db: Session, who: str) -> None:
    holder = _passkey_holder(db)
    real = _start(db, holder.eid_number)
    if who == "unknown":
        number = "999999999999"
        account_id = None
    elif who == "no_passkey":
        jws_holder = make_holder(db)  # a native wallet's JWS key: no passkey to approve with
        number, account_id = jws_holder.eid_number, jws_holder.account_id
    else:
        locked = _passkey_holder(db)
        authority.add_lock_ground(db, locked.account_id, "holder_request", actor=TEST_ACTOR)
        number, account_id = locked.eid_number, locked.account_id
    decoy = _start(db, number)
    assert type(decoy) is type(real) and len(decoy.matching_code) == 2
    row = approvals.for_browser(db, decoy.approval_id, BROWSER)
    assert row.status == "pending" and row.account_id is None
    if account_id is not None:
        assert approvals.pending(db, account_id) == []
        assert "sign_in_approval" not in _inbox(db, account_id)  # the phone is told nothing
        with pytest.raises(approvals.ApprovalNotFound):
            approvals.approve_options(db, account_id, decoy.approval_id)
    clock.shift(approvals.APPROVAL_TTL + dt.timedelta(seconds=1))
    assert approvals.for_browser(db, decoy.approval_id, BROWSER).status == "expired"
    created = _actions(db, decoy.approval_id)[0]
    assert created == "holder.approval_created"


def test_a_locked_account_cannot_redeem_its_approval(db: Session) -> None:
    who = _passkey_holder(db)
    started = _start(db, who.eid_number)
    _approve(db, who, started.approval_id, started.matching_code)
    authority.add_lock_ground(db, who.account_id, "holder_request", actor=TEST_ACTOR)
    row = approvals.for_browser(db, started.approval_id, BROWSER)
    with pytest.raises(service.AccountUnusable):
        approvals.redeem(db, row)
