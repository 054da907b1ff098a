"""Core housekeeping jobs: the audit chain's signed checkpoints, the queue's pruning."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from eid.core import jobs
from eid.core.audit_chain import CHECKPOINT_EVERY, write_checkpoint
from eid.core.crypto import get_keystore
from eid.core.jobs import periodic, task
from eid.core.settings import get_settings

log = logging.getLogger(__name__)


# A rewrite of the chain by someone holding the database (but not the key) is caught by the
# first checkpoint after it. The log line carries the head out of the database too: kept by the
# log system, it is an anchor for `eid audit verify --anchor` even if checkpoints are deleted.
@periodic("audit.checkpoint", every=CHECKPOINT_EVERY)
@task("audit.checkpoint")
def sign_audit_checkpoint(session: Session, payload: dict[str, Any], _: object) -> None:
    checkpoint = write_checkpoint(session, get_keystore())
    if checkpoint is not None:
        log.info(
            "audit checkpoint signed: anchor %d:%s", checkpoint.seq, checkpoint.head_hash.hex()
        )


@periodic("jobs.prune", every=timedelta(hours=1))
@task("jobs.prune")
def prune_jobs(session: Session, payload: dict[str, Any], _: object) -> None:
    jobs.prune(session, older_than=timedelta(days=get_settings().job_retention_days))
