"""Housekeeping: spent or expired verifier nonces are deleted."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from eid.core import clock
from eid.core.jobs import periodic, task
from eid.wallet.models import VerifierNonce


@periodic("wallet.purge_nonces", every=dt.timedelta(hours=1))
@task("wallet.purge_nonces")
def purge_nonces(session: Session, payload: dict[str, Any], _: object) -> None:
    session.execute(
        delete(VerifierNonce).where(VerifierNonce.expires_at < clock.now() - dt.timedelta(hours=1))
    )
