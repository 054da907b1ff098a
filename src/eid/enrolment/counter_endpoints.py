"""The counter's API around TK01 (`eid.enrolment.counter`): work list, MRZ, registry look-up,
corrections. Officers and supervisors of the office only."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from eid.core.audit import Actor
from eid.core.openapi_errors import declared
from eid.core.web import app_ports, caller_language, get_db
from eid.enrolment import counter, service
from eid.enrolment.schemas import (
    TK01,
    CorrectionOut,
    MrzIn,
    MrzOut,
    OpenApplication,
    RegistryPrefill,
)
from eid.registry.ports import HasRegistry
from eid.staff.dependencies import require_roles

router = APIRouter(prefix="/api/v1", tags=["counter"])
at_counter = require_roles("officer", "supervisor")


@router.get("/applications", response_model=list[OpenApplication])
def work_list(
    q: str | None = Query(default=None, max_length=100, description="name, document or e-ID"),
    db: Session = Depends(get_db, scope="function"),
    actor: Actor = Depends(at_counter),
) -> list[OpenApplication]:
    """The office's open applications (draft to consented), newest first, overdue marked."""
    return counter.open_applications(db, actor=actor, query=q)


@router.post("/mrz", response_model=MrzOut)
def read_mrz(body: MrzIn, actor: Actor = Depends(at_counter)) -> MrzOut:
    """A passport's, ID card's or visa's machine-readable zone, its check digits validated."""
    return counter.read_mrz(body.mrz)


@router.get("/registry/lookup", response_model=RegistryPrefill, responses=declared(404))
def registry_lookup(
    passport: str | None = Query(default=None, max_length=20),
    residence_card: str | None = Query(default=None, max_length=20),
    db: Session = Depends(get_db, scope="function"),
    actor: Actor = Depends(at_counter),
    ports: HasRegistry = Depends(app_ports),
) -> RegistryPrefill:
    """The person's record in the immigration database, to fill TK01 (audited)."""
    return counter.registry_prefill(
        db, ports.registry(db), actor=actor, passport=passport, residence_card=residence_card
    )


@router.put("/applications/{app_id}/tk01", response_model=CorrectionOut)
def correct_tk01(
    app_id: uuid.UUID,
    form: TK01,
    db: Session = Depends(get_db, scope="function"),
    actor: Actor = Depends(at_counter),
    ports: HasRegistry = Depends(app_ports),
    language: str = Depends(caller_language),
) -> CorrectionOut:
    """The corrected TK01 (whole). Draft, captured or verified only; a verified application
    goes back to captured, to be checked again (`counter`'s rule)."""
    changed = counter.correct(db, app_id, form, actor=actor, registry=ports.registry(db))
    return CorrectionOut(
        changed=changed, application=service.view(db, app_id, actor=actor, language=language)
    )
