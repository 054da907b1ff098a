"""The account request: the message the immigration authority signs and sends to us."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel


class HolderDocument(BaseModel):
    """A document declared in TK01 `integrations` and what became of it: `declared` (typed by
    the officer, never checked with the agency that issued it: this system has no connection
    to those agencies), `verified` or `mismatch` against the immigration database's record."""

    kind: str
    number: str
    state: Literal["declared", "verified", "mismatch"]
    checked_at: dt.datetime | None = None


class AccountRequestMessage(BaseModel):
    request_id: str  # the idempotency key: one per application
    application_id: str
    registry_ref: str
    # 1: a registration in the app (selfie, Vietnamese SIM); 2: TK01 at an office, which
    # upgrades the person's Level-1 account if there is one (`service.receive_account_request`).
    level: Literal[1, 2] = 2
    full_name: str
    date_of_birth: dt.date
    sex: str
    nationality: str
    passport: dict[str, Any]
    residence_card: dict[str, Any]
    phone: str
    email: str | None = None
    language: str = "en"
    guardian: dict[str, Any] | None = None
    documents: list[HolderDocument] = []
    portrait_sha256: str | None = None
    sent_at: dt.datetime

    def signed_content(self) -> dict[str, Any]:
        """What the signature covers. Without documents, the fields as they were before
        documents were carried, so a request signed by an older sender still verifies."""
        content = self.model_dump(mode="json")
        if not self.documents:
            del content["documents"]
        return content


def account_request_aad(request_id: str, part: str) -> bytes:
    """The one definition of the additional data binding a sealed part (`message`, `portrait`,
    `fingerprint_templates`) to its request: the sender seals and the authority unseals with it."""
    return f"account-request:{request_id}".encode() + part.encode()


class AccountDecisionMessage(BaseModel):
    """The e-ID authority's answer to one account request, signed with its own key
    (`service.sign_decision`) and verified by the immigration authority before it is applied."""

    request_id: str  # the request it answers, which is also this answer's idempotency key
    application_id: str
    outcome: Literal["issued", "refused"]
    eid_number: str | None = None
    refusal_code: str | None = None
    decided_at: dt.datetime


class AccountView(BaseModel):
    """What other domains may know of an account (they never read the table)."""

    id: uuid.UUID
    eid_number: str
    registry_ref: str  # the person in the immigration database (their applications carry it)
    level: int
    status: str
    lock_grounds: list[str]
    full_name: str
    date_of_birth: dt.date
    sex: str
    nationality: str
    passport: dict[str, Any]
    residence_card: dict[str, Any]
    phone: str
    email: str | None
    language: str
    activated_at: dt.datetime | None

    @property
    def usable(self) -> bool:
        """A locked (or not yet active, or closed) account authenticates nowhere."""
        return self.status == "active" and not self.lock_grounds


class AgencyLockOut(BaseModel):
    """A lock another agency asked for, and where it stands (`requested`, `refused`, `active`,
    `lifted`). Officers by id; the holder by e-ID number only."""

    id: uuid.UUID
    eid_number: str
    account_status: str
    ground: str
    agency: str
    reference: str
    status: str
    office_code: str
    requested_at: dt.datetime
    requested_by: uuid.UUID
    request_note: str
    decided_at: dt.datetime | None
    decided_by: uuid.UUID | None
    decision_note: str | None
    lifted_at: dt.datetime | None
    lifted_by: uuid.UUID | None
    lift_reference: str | None
    lift_note: str | None
