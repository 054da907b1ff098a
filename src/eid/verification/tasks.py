from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from eid.core.audit import Actor
from eid.core.jobs import task
from eid.registry.service import registry_port
from eid.verification import service


@task("verification.run")
def run_verification(session: Session, payload: dict[str, Any]) -> None:
    actor = Actor(**payload["actor"]) if payload.get("actor") else Actor.system("verification")
    service.run_checks(
        session,
        registry_port(session),
        uuid.UUID(payload["application_id"]),
        int(payload["run"]),
        actor,
    )
