from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy.orm import Session

from eid.authority.schemas import AccountDecisionMessage
from eid.core.audit import Actor
from eid.core.jobs import periodic, task
from eid.core.settings import get_settings
from eid.enrolment import service
from eid.registry.ports import HasRegistry
from eid.verification.gallery import HasGallery


class VerificationPorts(HasRegistry, HasGallery, Protocol):
    """The verification job asks the immigration database and searches the gallery."""


@task("verification.run")
def run_verification(session: Session, payload: dict[str, Any], ports: VerificationPorts) -> None:
    actor = Actor(**payload["actor"]) if payload.get("actor") else Actor.system("verification")
    service.run_verification(
        session,
        uuid.UUID(payload["application_id"]),
        int(payload["run"]),
        actor=actor,
        registry=ports.registry(session),
        gallery=ports.gallery,
    )


@task("enrolment.account_decision")
def account_decision(session: Session, payload: dict[str, Any], _: object) -> None:
    message = AccountDecisionMessage.model_validate(payload["message"])
    service.apply_account_decision(session, message, payload["signature"])


@periodic("enrolment.purge_refused_images", every=timedelta(hours=24))
@task("enrolment.purge_refused_images")
def purge_refused_images(session: Session, payload: dict[str, Any], _: object) -> None:
    service.purge_refused_images(
        session, older_than_days=get_settings().refused_image_retention_days
    )
