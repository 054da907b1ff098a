"""Housekeeping: spent or expired verifier and issuance nonces, expired card links and credential
offers are deleted."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from eid.core import clock
from eid.core.jobs import periodic, task
from eid.wallet.models import CardLink, CredentialOffer, IssuanceNonce, VerifierNonce


@periodic("wallet.purge_nonces", every=dt.timedelta(hours=1))
@task("wallet.purge_nonces")
def purge_nonces(session: Session, payload: dict[str, Any], _: object) -> None:
    session.execute(
        delete(VerifierNonce).where(VerifierNonce.expires_at < clock.now() - dt.timedelta(hours=1))
    )
    session.execute(
        delete(IssuanceNonce).where(IssuanceNonce.expires_at < clock.now() - dt.timedelta(hours=1))
    )


@periodic("wallet.purge_card_links", every=dt.timedelta(hours=1))
@task("wallet.purge_card_links")
def purge_card_links(session: Session, payload: dict[str, Any], _: object) -> None:
    """A card link lives minutes; the audit log keeps who made and opened it."""
    session.execute(
        delete(CardLink).where(CardLink.expires_at < clock.now() - dt.timedelta(hours=1))
    )
    # An offer's pre-authorized code lives minutes; the audit log keeps who made and redeemed it.
    session.execute(
        delete(CredentialOffer).where(
            CredentialOffer.expires_at < clock.now() - dt.timedelta(hours=1)
        )
    )


@periodic("wallet.purge_presentation_requests", every=dt.timedelta(minutes=10))
@task("wallet.purge_presentation_requests")
def purge_presentation_requests(session: Session, payload: dict[str, Any], _: object) -> None:
    """OpenID4VP requests and what a wallet disclosed in them go once the request and the
    result's retention are over (pages and the API already stop showing them then); the audit
    log keeps who asked, and the holder's history who saw which claims."""
    from eid.wallet.oid4vp import RESULT_TTL
    from eid.wallet.oid4vp_models import PresentationRequest

    session.execute(
        delete(PresentationRequest).where(PresentationRequest.expires_at < clock.now() - RESULT_TTL)
    )
