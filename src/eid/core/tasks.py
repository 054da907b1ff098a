"""Core housekeeping jobs: the audit chain's signed checkpoints."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from eid.core.audit_chain import write_checkpoint
from eid.core.crypto import get_keystore
from eid.core.jobs import periodic, task


# Every ten minutes: a rewrite of the chain by someone holding the database (but not the key)
# is caught by the first checkpoint after it; rows after the last checkpoint are the ones a
# superuser could still drop from the tail unseen.
@periodic("audit.checkpoint", every=dt.timedelta(minutes=10))
@task("audit.checkpoint")
def sign_audit_checkpoint(session: Session, payload: dict[str, Any]) -> None:
    write_checkpoint(session, get_keystore())
