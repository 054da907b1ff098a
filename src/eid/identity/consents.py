"""Consents given to relying parties and the holder's access history (Law 91/2025: the data
subject sees every use of their data; kept 5 years)."""

from __future__ import annotations

import uuid

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from eid.core import audit, clock
from eid.core.errors import NotFound
from eid.identity.models import AccessRecord, Consent, OAuthToken, RelyingParty
from eid.identity.service import holder_actor


def give_consent(
    session: Session, account_id: uuid.UUID, client: RelyingParty, scopes: list[str]
) -> Consent:
    current = active_consent(session, account_id, client.client_id)
    if current is not None and set(scopes) <= set(current.scopes):
        return current
    if current is not None:
        current.withdrawn_at = clock.now()  # replaced by the wider consent below
    consent = Consent(account_id=account_id, client_id=client.client_id, scopes=scopes)
    session.add(consent)
    session.flush()
    audit.record(
        session,
        holder_actor(account_id),
        "holder.consent_given",
        "relying_party",
        client.client_id,
        details={"scopes": scopes},
    )
    return consent


def active_consent(session: Session, account_id: uuid.UUID, client_id: str) -> Consent | None:
    return session.execute(
        select(Consent)
        .where(
            Consent.account_id == account_id,
            Consent.client_id == client_id,
            Consent.withdrawn_at.is_(None),
        )
        .order_by(Consent.created_at.desc())
        .limit(1)
    ).scalar_one_or_none()


def list_consents(session: Session, account_id: uuid.UUID) -> list[tuple[Consent, RelyingParty]]:
    rows = session.execute(
        select(Consent, RelyingParty)
        .join(RelyingParty, RelyingParty.client_id == Consent.client_id)
        .where(Consent.account_id == account_id)
        .order_by(Consent.created_at.desc())
    ).all()
    return [(c, rp) for c, rp in rows]


def withdraw(session: Session, account_id: uuid.UUID, consent_id: uuid.UUID) -> Consent:
    """Withdrawal also revokes the party's tokens: it gets nothing more from now on."""
    consent = session.get(Consent, consent_id, with_for_update=True)
    if consent is None or consent.account_id != account_id:
        raise NotFound("no such consent", code="CONSENT_NOT_FOUND")
    if consent.withdrawn_at is None:
        consent.withdrawn_at = clock.now()
        session.execute(
            update(OAuthToken)
            .where(OAuthToken.account_id == account_id, OAuthToken.client_id == consent.client_id)
            .values(access_revoked=True, refresh_revoked=True)
        )
        audit.record(
            session,
            holder_actor(account_id),
            "holder.consent_withdrawn",
            "relying_party",
            consent.client_id,
        )
    return consent


def record_release(
    session: Session,
    account_id: uuid.UUID,
    client: RelyingParty,
    claims: list[str],
    channel: str,
) -> None:
    session.add(
        AccessRecord(
            account_id=account_id,
            client_id=client.client_id,
            client_name=client.name,
            claims=claims,
            purpose=client.purpose,
            channel=channel,
        )
    )


def access_history(
    session: Session, account_id: uuid.UUID, *, limit: int = 200
) -> list[AccessRecord]:
    return list(
        session.execute(
            select(AccessRecord)
            .where(AccessRecord.account_id == account_id)
            .order_by(AccessRecord.at.desc(), AccessRecord.id.desc())
            .limit(limit)
        ).scalars()
    )
