"""The officer's counter around one TK01: the office's work list, the passport's MRZ and the
registry look-up that fill the form, and corrections of a TK01 already saved.

Correction rule (DESIGN.md §2, "Corrections at the counter"): the TK01 data of an application
can be corrected while it is `draft` or `captured` (nothing has been checked yet; a verification
already queued is superseded, its run number no longer current) and while it is `verified` (the
application goes back to `captured`, its checks are dropped and must be run again: what was
verified is no longer what is on the form). It cannot be corrected `in_review` (a supervisor is
deciding on this data), nor from `consented` on (the applicant consented to this data). Every
changed field is kept with its old and new value in `application_corrections` (sealed, like the
application), and audited by field name (the audit log holds no personal data)."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from eid.authority.service import find_by_eid_number
from eid.calendar.service import legal_deadline
from eid.core import audit, clock
from eid.core.audit import Actor
from eid.core.errors import Conflict, NotFound, ValidationFailed
from eid.enrolment import consent
from eid.enrolment.models import Application, ApplicationCorrection
from eid.enrolment.rules import check_tk01
from eid.enrolment.schemas import (
    TK01,
    ApplicationOut,
    MrzOut,
    OpenApplication,
    RegistryPrefill,
)
from eid.enrolment.service import _load as load_application
from eid.enrolment.service import view
from eid.enrolment.state import transition
from eid.i18n import FALLBACK
from eid.registry.mrz import MrzError, read
from eid.registry.ports import ImmigrationRegistry
from eid.verification import service as verification

# What an officer resumes: everything before submission. `submitted` and later are the
# e-ID authority's and the supervisors' (`service.overdue`).
WORK_STATUSES = ("draft", "captured", "verified", "in_review", "consented")
CORRECTABLE = ("draft", "captured", "verified")
# The newest this many open applications of the office are listed; a search looks in them too.
WORK_LIST_SIZE = 300
_EID_NUMBER = re.compile(r"^\d{12}$")


def _vn_day(at: dt.datetime) -> dt.date:
    return at.astimezone(clock.VIETNAM).date()


def due_on(session: Session, app: Application) -> dt.date:
    """The day an open application is overdue after: the legal deadline it would have had,
    submitted the day it was opened (3 working days with biometrics on file, else 7; unknown
    before verification: 7). Past it, the applicant has waited longer than the law gives the
    whole procedure."""
    return legal_deadline(session, _vn_day(app.created_at), bool(app.biometrics_on_file))


def _matches(app: Application, needle: str, registry_refs: set[str]) -> bool:
    if app.registry_ref is not None and app.registry_ref in registry_refs:
        return True
    wanted = needle.upper().replace(" ", "")
    haystack = (
        app.full_name.upper().replace(" ", ""),
        str(app.passport.get("number", "")).upper(),
        str(app.residence_card.get("number", "")).upper(),
        app.eid_number or "",
    )
    return any(wanted in value for value in haystack)


def open_applications(
    session: Session, *, actor: Actor, query: str | None = None
) -> list[OpenApplication]:
    """The office's applications an officer can take up, newest first, those matching `query`
    (part of the name, passport or residence card number, or a 12-digit e-ID number). Names
    are sealed, so the search reads the office's open applications (bounded) and filters them
    here. One audit event lists every application shown."""
    rows = (
        session.execute(
            select(Application)
            .where(
                Application.office_code == actor.office,
                Application.status.in_(WORK_STATUSES),
                Application.channel == "office",
            )
            .order_by(Application.created_at.desc())
            .limit(WORK_LIST_SIZE)
        )
        .scalars()
        .all()
    )
    needle = (query or "").strip()
    if needle:
        refs: set[str] = set()
        if _EID_NUMBER.match(needle):
            account = find_by_eid_number(session, needle)
            if account is not None:
                refs.add(account.registry_ref)
        rows = [app for app in rows if _matches(app, needle, refs)]
    today = clock.today_vn()
    listed = []
    for app in rows:
        due = due_on(session, app)
        listed.append(
            OpenApplication(
                id=app.id,
                status=app.status,
                full_name=app.full_name,
                passport_number=str(app.passport.get("number", "")),
                residence_card_number=str(app.residence_card.get("number", "")),
                created_at=app.created_at,
                due_on=due,
                overdue=today > due,
            )
        )
    audit.record(
        session,
        actor,
        "application.work_list_read",
        "office",
        actor.office or "-",
        details={"applications": [str(a.id) for a in listed], "searched": bool(needle)},
    )
    return listed


def read_mrz(text: str) -> MrzOut:
    """The zone's data, checked; no personal data is kept, so nothing is audited."""
    try:
        zone = read(text)
    except MrzError as exc:
        raise ValidationFailed(
            "the machine-readable zone is not valid (%(field)s)",
            code="MRZ_INVALID",
            details={"field": exc.field, "input": "mrz"},
            params={"field": exc.field},
        ) from None
    return MrzOut(
        layout=zone.layout,
        visa=zone.is_visa,
        document_type=zone.document_type,
        issuing_state=zone.issuing_state,
        number=zone.number,
        nationality=zone.nationality,
        date_of_birth=zone.date_of_birth,
        sex=zone.sex,
        expiry_date=zone.expiry_date,
        full_name=zone.full_name,
        lines=list(zone.lines),
    )


def registry_prefill(
    session: Session,
    registry: ImmigrationRegistry,
    *,
    actor: Actor,
    passport: str | None,
    residence_card: str | None,
) -> RegistryPrefill:
    """The immigration database's record of the person for the officer to confirm on TK01.
    A read of personal data: audited with the record's reference (never the number asked)."""
    if bool(passport) == bool(residence_card):
        raise ValidationFailed(
            "look up by a passport number or by a residence card number",
            code="LOOKUP_KEY_REQUIRED",
            details={"field": "passport"},
        )
    record = (
        registry.find_by_passport(passport.strip().upper())
        if passport
        else registry.find_by_residence_card((residence_card or "").strip().upper())
    )
    if record is None:
        raise NotFound(
            "the immigration database has no person with this document",
            code="REGISTRY_PERSON_NOT_FOUND",
            details={"field": "passport" if passport else "residence_card"},
        )
    audit.record(
        session,
        actor,
        "registry.looked_up",
        "registry_person",
        record.person_ref,
        details={"by": "passport" if passport else "residence_card"},
    )
    return RegistryPrefill(
        full_name=record.full_name,
        date_of_birth=record.date_of_birth,
        sex=record.sex,
        nationality=record.nationality,
        passport={
            "number": record.passport.number,
            "type": record.passport.type,
            "issuing_state": record.passport.issuing_state,
            "issue_date": record.passport.issue_date,
            "expiry_date": record.passport.expiry_date,
        },
        residence_card={
            "number": record.residence_card.number,
            "kind": record.residence_card.kind,
            "expiry_date": record.residence_card.expiry_date,
        },
        documents=dict(record.documents),
    )


def _flat(prefix: str, value: Any, out: dict[str, Any]) -> dict[str, Any]:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flat(f"{prefix}.{key}" if prefix else str(key), inner, out)
    else:
        out[prefix] = value
    return out


def _tk01_of(app: Application) -> dict[str, Any]:
    return {
        "full_name": app.full_name,
        "date_of_birth": app.date_of_birth.isoformat(),
        "sex": app.sex,
        "nationality": app.nationality,
        "passport": dict(app.passport),
        "residence_card": dict(app.residence_card),
        "address": app.address,
        "phone": app.phone,
        "email": app.email,
        "language": app.language,
        "integrations": dict(app.integrations or {}),
        "guardian": dict(app.guardian) if app.guardian else None,
    }


def correct(
    session: Session,
    app_id: uuid.UUID,
    form: TK01,
    *,
    actor: Actor,
    registry: ImmigrationRegistry,
) -> list[str]:
    """Replace the application's TK01 data with `form` (checked as at creation); returns the
    names of the fields that changed (none: nothing is written). See the module's rule."""
    app = load_application(session, app_id, actor)
    if app.status not in CORRECTABLE:
        raise Conflict(
            "the form of an application that is %(status)s cannot be corrected",
            code="CORRECTION_NOT_ALLOWED",
            details={"status": app.status, "allowed_from": list(CORRECTABLE)},
            params={"status": app.status},
        )
    form = check_tk01(form, clock.today_vn())
    passport = form.passport.model_dump(mode="json", exclude_none=True)
    card = form.residence_card.model_dump(mode="json")
    guardian = form.guardian.model_dump(mode="json") if form.guardian else None
    new: dict[str, Any] = {
        "full_name": form.full_name,
        "date_of_birth": form.date_of_birth.isoformat(),
        "sex": form.sex,
        "nationality": form.nationality,
        "passport": passport,
        "residence_card": card,
        "address": form.address,
        "phone": form.phone,
        "email": form.email,
        "language": form.language,
        "integrations": form.integrations,
        "guardian": guardian,
    }
    old = _tk01_of(app)
    old_flat, new_flat = _flat("", old, {}), _flat("", new, {})
    changed = sorted(
        name
        for name in old_flat.keys() | new_flat.keys()
        if old_flat.get(name) != new_flat.get(name)
    )
    if not changed:
        return []
    if passport["number"] != old["passport"].get("number"):
        record = registry.find_by_passport(form.passport.number)
        if record is None:
            raise ValidationFailed(
                "the immigration database has no person with this passport",
                code="PASSPORT_NOT_IN_REGISTRY",
                details={"field": "passport.number"},
            )
        app.registry_ref = record.person_ref
    for name in changed:
        session.add(
            ApplicationCorrection(
                id=uuid.uuid4(),
                application_id=app.id,
                field=name,
                officer_id=uuid.UUID(actor.id),
                change={"old": old_flat.get(name), "new": new_flat.get(name)},
            )
        )
    app.full_name = form.full_name
    app.date_of_birth = form.date_of_birth
    app.sex = form.sex
    app.nationality = form.nationality
    app.passport = passport
    app.residence_card = card
    app.address = form.address
    app.phone = form.phone
    app.email = form.email
    app.language = form.language
    app.integrations = form.integrations
    app.guardian = guardian
    if "phone" in changed:
        app.phone_verified_at = None  # the code was read back from the old number
    # Checks of the old data no longer hold: a queued run is superseded, a finished one redone.
    app.verification_run += 1
    if app.status == "verified":
        verification.withdraw_from_gallery(session, app.id)
        transition(session, app, "captured", actor=actor, reason="TK01 corrected: checks again")
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        if "uq_applications_open_passport" in str(exc.orig):
            raise Conflict(
                "this person already has an open application",
                code="APPLICATION_ALREADY_OPEN",
                details={"field": "passport.number"},
            ) from None
        raise
    audit.record(
        session,
        actor,
        "application.corrected",
        "application",
        app.id,
        details={"fields": changed, "status": app.status},
    )
    return changed


@dataclass(frozen=True)
class ApplicantSheet:
    """What the applicant is shown at the counter (the consent text before consent, the
    receipt after submission), in the applicant's language."""

    application: ApplicationOut
    language: str  # the one the texts are shown in (the application's, else English)
    consent_version: str
    consent_text: str
    fingers: list[int]  # positions captured (acceptable)
    portrait: bool


def applicant_sheet(session: Session, app_id: uuid.UUID, *, actor: Actor) -> ApplicantSheet:
    """The application as the applicant sees it (a read of personal data: audited by `view`)."""
    # The sheets show no check: the language of the view's reasons does not matter here.
    shown = view(session, app_id, actor=actor, language=FALLBACK)
    language = consent.language_for(shown.language)
    version = consent.current_version(shown.level)
    text = consent.text_for(version, language) or ""
    return ApplicantSheet(
        application=shown,
        language=language,
        consent_version=version,
        consent_text=text,
        fingers=sorted(
            c.position for c in shown.captures if c.kind == "fingerprint" and c.acceptable
        ),
        portrait=any(c.kind == "portrait" and c.acceptable for c in shown.captures),
    )
