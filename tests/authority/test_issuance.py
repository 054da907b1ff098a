from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from eid.authority.models import Account
from eid.authority.schemas import HolderDocument
from eid.authority.service import (
    InvalidRequestSignature,
    account_documents,
    activate,
    find_by_eid_number,
    new_activation_code,
    receive_account_request,
    sign_request,
)
from eid.core import clock
from eid.core.audit import Actor
from eid.core.errors import Unauthorized
from eid.core.ids import is_valid_eid_number
from eid.core.jobs import Job
from tests.authority.factories import account_request


def test_a_signed_request_creates_one_pending_account_and_answers_back(db: Session) -> None:
    message = account_request()
    decision = receive_account_request(db, message, sign_request(message), portrait=None)
    assert decision.outcome == "issued"
    again = receive_account_request(db, message, sign_request(message), portrait=None)
    assert again.id == decision.id
    accounts = db.execute(select(Account)).scalars().all()
    assert len(accounts) == 1
    account = accounts[0]
    assert account.status == "pending_activation" and is_valid_eid_number(account.eid_number)
    answers = (
        db.execute(select(Job).where(Job.task == "enrolment.account_decision")).scalars().all()
    )
    assert [a.payload["message"]["eid_number"] for a in answers] == [account.eid_number]


def test_a_second_account_for_the_same_person_is_refused(db: Session) -> None:
    first = account_request()
    receive_account_request(db, first, sign_request(first), portrait=None)
    second = account_request(registry_ref=first.registry_ref)
    decision = receive_account_request(db, second, sign_request(second), portrait=None)
    assert (decision.outcome, decision.refusal_code) == ("refused", "ACCOUNT_EXISTS")
    assert db.execute(select(func.count()).select_from(Account)).scalar_one() == 1


def test_a_tampered_request_is_refused(db: Session) -> None:
    message = account_request()
    signature = sign_request(message)
    forged = message.model_copy(update={"full_name": "SOMEONE ELSE"})
    with pytest.raises(InvalidRequestSignature):
        receive_account_request(db, forged, signature, portrait=None)
    with pytest.raises(InvalidRequestSignature):
        receive_account_request(db, message, signature, portrait=b"not the signed portrait")


def test_activation_with_the_code(db: Session) -> None:
    message = account_request()
    receive_account_request(db, message, sign_request(message), portrait=None)
    account = db.execute(select(Account)).scalar_one()
    code = new_activation_code(db, account.id, actor=Actor.system("tests"))
    with pytest.raises(Unauthorized):
        activate(db, account.eid_number, "00000000" if code != "00000000" else "11111111")
    view = activate(db, account.eid_number, code)
    assert view.status == "active" and view.usable
    found = find_by_eid_number(db, account.eid_number)
    assert found is not None and found.activated_at is not None


def test_the_queued_request_opens_only_under_its_own_id_and_old_clear_ones_still_run(
    db: Session,
) -> None:
    import base64
    import json

    from cryptography.exceptions import InvalidTag

    from eid.authority.schemas import account_request_aad
    from eid.authority.tasks import handle_account_request
    from eid.core.crypto import seal

    message = account_request()
    body = json.dumps(message.model_dump(mode="json")).encode()
    sealed = base64.b64encode(seal(body, aad=account_request_aad(message.request_id, "message")))
    sealed = sealed.decode()
    moved = {"request_id": "app:another", "message": sealed, "signature": sign_request(message)}
    with pytest.raises(InvalidTag):
        handle_account_request(db, moved, None)
    handle_account_request(db, {**moved, "request_id": message.request_id}, None)
    # Queued before payloads were sealed: the message is a plain object, handled the same way.
    earlier = account_request()
    handle_account_request(
        db, {"message": earlier.model_dump(mode="json"), "signature": sign_request(earlier)}, None
    )
    refs = set(db.execute(select(Account.registry_ref)).scalars())
    assert refs == {message.registry_ref, earlier.registry_ref}


def test_documents_ride_the_signed_request_and_an_older_request_still_verifies(
    db: Session,
) -> None:
    plain = account_request()
    assert "documents" not in plain.signed_content()  # signed as before documents existed
    checked = clock.now()
    message = account_request(
        documents=[
            HolderDocument(
                kind="tax_code", number="8012345678", state="verified", checked_at=checked
            ),
            HolderDocument(kind="driving_licence", number="790123456789", state="declared"),
        ]
    )
    signature = sign_request(message)
    tampered = message.model_copy(
        update={
            "documents": [d.model_copy(update={"state": "verified"}) for d in message.documents]
        }
    )
    with pytest.raises(InvalidRequestSignature):
        receive_account_request(db, tampered, signature, portrait=None)
    decision = receive_account_request(db, message, signature, portrait=None)
    assert decision.account_id is not None
    kept = account_documents(db, decision.account_id)
    assert [(d.kind, d.state, d.checked_at) for d in kept] == [
        ("tax_code", "verified", checked),
        ("driving_licence", "declared", None),
    ]
