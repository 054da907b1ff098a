"""Automatic locks: following the immigration database's feed and watching expiry dates."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from eid.authority.models import Account, RegistryFeedCursor
from eid.authority.service import AUTHORITY, add_lock_ground, notify_holder, remove_lock_ground
from eid.core import audit, clock
from eid.registry.ports import ImmigrationRegistry, StatusEvent

WARN_AHEAD = dt.timedelta(days=30)


def follow_registry(session: Session, registry: ImmigrationRegistry, *, batch: int = 500) -> int:
    """Apply the feed's new events to accounts; the cursor moves in the same transaction."""
    cursor = session.get(RegistryFeedCursor, "registry", with_for_update=True)
    if cursor is None:
        cursor = RegistryFeedCursor(name="registry", cursor=0)
        session.add(cursor)
        session.flush()
    events = registry.events_since(cursor.cursor, batch)
    for event in events:
        _apply(session, registry, event)
        cursor.cursor = event.cursor
    return len(events)


def _apply(session: Session, registry: ImmigrationRegistry, event: StatusEvent) -> None:
    account = session.execute(
        select(Account).where(Account.registry_ref == event.person_ref, Account.status != "closed")
    ).scalar_one_or_none()
    if account is None:
        return
    why = f"immigration database: {event.kind}"
    if event.kind in ("card_renewed", "passport_replaced"):
        record = registry.find_by_person(event.person_ref)
        if record is not None:
            account.residence_card = {
                "number": record.residence_card.number,
                "kind": record.residence_card.kind,
                "expiry_date": record.residence_card.expiry_date.isoformat(),
            }
            account.card_expiry_date = record.residence_card.expiry_date
            account.passport = {
                "number": record.passport.number,
                "type": record.passport.type,
                "issuing_state": record.passport.issuing_state,
                "issue_date": record.passport.issue_date.isoformat(),
                "expiry_date": record.passport.expiry_date.isoformat(),
            }
            account.passport_expiry_date = record.passport.expiry_date
            session.flush()
            audit.record(
                session, AUTHORITY, "account.documents_updated", "account", account.id, reason=why
            )
        today = clock.today_vn()
        if account.card_expiry_date >= today:
            remove_lock_ground(
                session, account.id, "residence_card_expired", actor=AUTHORITY, reason=why
            )
        if account.passport_expiry_date >= today:
            remove_lock_ground(session, account.id, "passport_expired", actor=AUTHORITY, reason=why)
        return
    ground = {
        "card_expired": "residence_card_expired",
        "passport_expired": "passport_expired",
        "exit": "exited",
        "death": "deceased",
    }.get(event.kind)
    if ground:
        add_lock_ground(session, account.id, ground, actor=AUTHORITY, reason=why)


def watch_expiry(session: Session) -> dict[str, int]:
    """Lock accounts whose documents expired; warn holders 30 days ahead, once per date."""
    today = clock.today_vn()
    locked = warned = 0
    expired = (
        session.execute(
            select(Account).where(
                Account.status != "closed",
                or_(Account.card_expiry_date < today, Account.passport_expiry_date < today),
            )
        )
        .scalars()
        .all()
    )
    for account in expired:
        if (
            account.card_expiry_date < today
            and "residence_card_expired" not in account.lock_grounds
        ):
            add_lock_ground(
                session,
                account.id,
                "residence_card_expired",
                actor=AUTHORITY,
                reason="residence card expired",
            )
            locked += 1
        if account.passport_expiry_date < today and "passport_expired" not in account.lock_grounds:
            add_lock_ground(
                session, account.id, "passport_expired", actor=AUTHORITY, reason="passport expired"
            )
            locked += 1
    horizon = today + WARN_AHEAD
    soon = (
        session.execute(
            select(Account)
            .where(
                Account.status.in_(("active", "pending_activation")),
                or_(
                    Account.card_expiry_date.between(today, horizon),
                    Account.passport_expiry_date.between(today, horizon),
                ),
            )
            .with_for_update()
        )
        .scalars()
        .all()
    )
    for account in soon:
        first = min(
            d for d in (account.card_expiry_date, account.passport_expiry_date) if d >= today
        )
        if account.expiry_warned_for == first:
            continue
        account.expiry_warned_for = first
        notify_holder(
            session,
            account,
            template="document_expiry_warning",
            params={"expiry_date": first.isoformat(), "eid_number": account.eid_number},
            key=f"expiry-warning:{account.id}:{first.isoformat()}",
        )
        warned += 1
    return {"locked": locked, "warned": warned}
