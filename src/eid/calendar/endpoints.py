from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy.orm import Session

from eid.calendar import service
from eid.calendar.schemas import DeadlineResponse, OverrideRequest, OverrideResponse
from eid.core import clock
from eid.core.audit import Actor
from eid.core.web import get_db
from eid.staff.dependencies import require_roles

router = APIRouter(prefix="/api/v1/calendar", tags=["calendar"])

OFFICER_ROLES = ("officer", "supervisor", "auditor", "admin")


@router.get("/overrides", response_model=list[OverrideResponse])
def list_overrides(
    year: int | None = Query(default=None, ge=1995, le=2100),
    db: Session = Depends(get_db, scope="function"),
    _: Actor = Depends(require_roles("admin", "supervisor")),
) -> list[OverrideResponse]:
    rows = service.list_overrides(db, year or clock.today_vn().year)
    return [OverrideResponse.model_validate(row) for row in rows]


@router.put("/overrides/{day}", response_model=OverrideResponse)
def set_override(
    day: dt.date,
    body: OverrideRequest,
    db: Session = Depends(get_db, scope="function"),
    actor: Actor = Depends(require_roles("admin")),
) -> OverrideResponse:
    row = service.set_override(db, day, body.kind, body.name, actor, note=body.note)
    return OverrideResponse.model_validate(row)


@router.delete("/overrides/{day}", status_code=204)
def remove_override(
    day: dt.date,
    db: Session = Depends(get_db, scope="function"),
    actor: Actor = Depends(require_roles("admin")),
) -> Response:
    service.remove_override(db, day, actor)
    return Response(status_code=204)


@router.get("/deadline", response_model=DeadlineResponse)
def deadline(
    submitted_on: dt.date,
    biometrics_on_file: bool,
    db: Session = Depends(get_db, scope="function"),
    _: Actor = Depends(require_roles(*OFFICER_ROLES)),
) -> DeadlineResponse:
    return DeadlineResponse(
        submitted_on=submitted_on,
        biometrics_on_file=biometrics_on_file,
        working_days=service.legal_working_days(biometrics_on_file),
        legal_deadline=service.legal_deadline(db, submitted_on, biometrics_on_file),
    )
