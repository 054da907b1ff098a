"""Housekeeping: one-time material (challenges, codes, sessions, spent tokens) is deleted once it
can no longer be used. Audit events and the access history are kept (5 years, by law)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from eid.core import clock
from eid.core.jobs import periodic, task
from eid.identity.models import (
    AuthorizationCode,
    DeviceChallenge,
    HolderSession,
    OAuthToken,
    PasskeyCeremony,
    PushedRequest,
    SpentJwtId,
)

# Kept a day past expiry: a replayed code is still recognised (and its tokens revoked) meanwhile.
GRACE = dt.timedelta(days=1)


def purge_expired(session: Session) -> None:
    cutoff = clock.now() - GRACE
    session.execute(delete(DeviceChallenge).where(DeviceChallenge.expires_at < cutoff))
    session.execute(delete(PasskeyCeremony).where(PasskeyCeremony.expires_at < cutoff))
    session.execute(delete(AuthorizationCode).where(AuthorizationCode.expires_at < cutoff))
    session.execute(delete(HolderSession).where(HolderSession.expires_at < cutoff))
    session.execute(delete(PushedRequest).where(PushedRequest.expires_at < cutoff))
    # A spent jti matters only while its JWT could still be accepted (`expires_at`).
    session.execute(delete(SpentJwtId).where(SpentJwtId.expires_at < clock.now()))
    session.execute(
        delete(OAuthToken).where(
            OAuthToken.refresh_expires_at < cutoff,
            OAuthToken.issued_at + OAuthToken.expires_in < int(cutoff.timestamp()),
        )
    )


@periodic("identity.purge_expired", every=dt.timedelta(hours=1))
@task("identity.purge_expired")
def purge_expired_task(session: Session, payload: dict[str, Any], _: object) -> None:
    purge_expired(session)
