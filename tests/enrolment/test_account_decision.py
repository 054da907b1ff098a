"""The e-ID authority's answer is a signed message: enrolment applies it only if it verifies."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from eid.authority.schemas import AccountDecisionMessage
from eid.authority.service import InvalidDecisionSignature, receive_account_request, sign_request
from eid.core.jobs import Job
from eid.enrolment import service
from tests.authority.factories import account_request


def _answer(db: Session) -> tuple[AccountDecisionMessage, str]:
    request = account_request()
    receive_account_request(db, request, sign_request(request), portrait=None)
    job = db.execute(
        select(Job).where(Job.idempotency_key == f"account-decision:{request.request_id}")
    ).scalar_one()
    return AccountDecisionMessage.model_validate(job.payload["message"]), job.payload["signature"]


def test_the_answer_carries_the_authoritys_signature(db: Session) -> None:
    message, signature = _answer(db)
    assert message.outcome == "issued" and message.eid_number is not None
    service.apply_account_decision(db, message, signature)  # verifies; no such application here


def test_an_answer_changed_on_the_way_is_refused(db: Session) -> None:
    message, signature = _answer(db)
    forged = message.model_copy(update={"eid_number": "000000000000"})
    with pytest.raises(InvalidDecisionSignature):
        service.apply_account_decision(db, forged, signature)
    with pytest.raises(InvalidDecisionSignature):
        service.apply_account_decision(db, message, signature[:-4] + "AAAA")
