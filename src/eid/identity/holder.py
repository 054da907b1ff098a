"""The holder's own actions on the account: self-lock and unlock, devices, inbox."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from eid.authority import service as authority
from eid.authority.schemas import AccountView
from eid.core import audit
from eid.identity.models import Device
from eid.identity.service import (
    check_password,
    holder_actor,
)

SELF_LOCK = "holder_request"


def self_lock(session: Session, account_id: uuid.UUID) -> AccountView:
    return authority.add_lock_ground(
        session,
        account_id,
        SELF_LOCK,
        actor=holder_actor(account_id),
        reason="the holder locked the account",
    )


def self_unlock(session: Session, *, eid_number: str, password: str, passcode: str) -> AccountView:
    """Removes only the holder's own ground: a lock for another reason stays."""
    account = check_password(session, eid_number, password, passcode=passcode)
    return authority.remove_lock_ground(
        session,
        account.id,
        SELF_LOCK,
        actor=holder_actor(account.id),
        reason="the holder unlocked the account",
    )


def documents(session: Session, account_id: uuid.UUID) -> list[dict[str, Any]]:
    """The documents declared at enrolment with their state; numbers shown by their last four
    characters only (enough to recognise a card, not to use its number). The read is audited."""
    items = authority.account_documents(session, account_id)
    audit.record(session, holder_actor(account_id), "holder.documents_read", "account", account_id)
    return [
        {
            "kind": d.kind,
            "number": masked_number(d.number),
            "state": d.state,
            "checked_at": d.checked_at,
        }
        for d in items
    ]


def masked_number(number: str) -> str:
    return "*" * max(len(number) - 4, 0) + number[-4:]


def list_devices(session: Session, account_id: uuid.UUID) -> list[Device]:
    return list(
        session.execute(
            select(Device).where(Device.account_id == account_id).order_by(Device.created_at.desc())
        ).scalars()
    )


def _as_dict(item: Any) -> dict[str, Any]:
    if isinstance(item, dict):
        return item
    if hasattr(item, "model_dump"):
        return dict(item.model_dump(mode="json"))
    return {k: v for k, v in vars(item).items() if not k.startswith("_")}


def inbox(session: Session, account_id: uuid.UUID) -> list[dict[str, Any]]:
    from eid.notify import service as notify

    return [_as_dict(m) for m in notify.inbox(session, "account", account_id)]


def mark_read(session: Session, account_id: uuid.UUID, notification_id: str) -> None:
    from eid.notify import service as notify

    notify.mark_read(session, "account", account_id, notification_id)
