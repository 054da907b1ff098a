from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from eid.core.jobs import periodic, task
from eid.core.settings import get_settings
from eid.enrolment import service


@task("enrolment.account_decision")
def account_decision(session: Session, payload: dict[str, Any]) -> None:
    service.apply_account_decision(session, payload)


@periodic("enrolment.purge_refused_images", every=timedelta(hours=24))
@task("enrolment.purge_refused_images")
def purge_refused_images(session: Session, payload: dict[str, Any]) -> None:
    service.purge_refused_images(
        session, older_than_days=get_settings().refused_image_retention_days
    )
