"""The e-ID authority's officer API: a new activation code for an account awaiting activation."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from eid.authority import service
from eid.core.audit import Actor
from eid.core.errors import NotFound
from eid.core.web import get_db
from eid.staff.dependencies import require_roles

router = APIRouter(prefix="/api/v1/accounts", tags=["accounts"])


class ActivationCodeSent(BaseModel):
    status: str = Field(
        default="sent",
        description="the new code is on its way to the holder's verified phone and email; the "
        "old one no longer works",
    )


@router.post("/{eid_number}/activation-code", status_code=202)
def reissue_activation_code(
    eid_number: str,
    actor: Actor = Depends(require_roles("supervisor", "admin")),
    db: Session = Depends(get_db, scope="function"),
) -> ActivationCodeSent:
    """Issue a new activation code (audited as `account.activation_code_renewed` by the
    officer). The code is never shown to the officer: it goes through the outbox to the phone
    (a minor's guardian's) and the email on file."""
    account = service.find_by_eid_number(db, eid_number)
    if account is None:
        raise NotFound("no such account", code="ACCOUNT_NOT_FOUND")
    service.send_new_activation_code(db, account.id, actor=actor)
    return ActivationCodeSent()
