"""Our verifier service: nonces it hands out, and verification against our issuer and status."""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy.orm import Session

from eid.core import clock
from eid.wallet import certs, keys, status
from eid.wallet.models import VerifierNonce
from eid.wallet.verifier import PresentationRefused, VerifiedCard, verify_presentation

NONCE_TTL = dt.timedelta(minutes=5)


def new_nonce(session: Session, audience: str) -> VerifierNonce:
    row = VerifierNonce(
        nonce=secrets.token_urlsafe(24), audience=audience, expires_at=clock.now() + NONCE_TTL
    )
    session.add(row)
    session.flush()
    return row


def local_status(session: Session) -> status.StatusLookup:
    prefix = status.list_uri("")

    def lookup(uri: str, index: int) -> int:
        if not uri.startswith(prefix):
            raise PresentationRefused("the status list is not ours", code="STATUS_UNKNOWN")
        return status.status_of(session, uri[len(prefix) :], index)

    return lookup


def verify(session: Session, presentation: str, nonce: str) -> VerifiedCard:
    row = session.get(VerifierNonce, nonce, with_for_update=True)
    if row is None or row.used_at is not None or row.expires_at < clock.now():
        raise PresentationRefused("unknown, used or expired nonce", code="NONCE_INVALID")
    row.used_at = clock.now()  # one answer per nonce, even a refused one
    try:
        return verify_presentation(
            presentation,
            issuer_key=keys.issuer_keys(),
            root=certs.root_certificate(session),
            crl=certs.current_crl(session),
            audience=row.audience,
            nonce=nonce,
            status_lookup=local_status(session),
        )
    except PresentationRefused as refused:
        refused.keep_writes = True  # the nonce stays spent: a refused answer is not retried
        raise
