from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from eid.core.jobs import task
from eid.enrolment import service


@task("enrolment.account_decision")
def account_decision(session: Session, payload: dict[str, Any]) -> None:
    service.apply_account_decision(session, payload)
