"""The reference immigration registry: the port implemented on its own tables."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from eid.core import audit
from eid.core.audit import Actor
from eid.core.crypto import seal, unseal
from eid.core.errors import Conflict, NotFound, ValidationFailed
from eid.registry.documents import check_declared
from eid.registry.models import RegistryEvent, RegistryFingerprint, RegistryPerson
from eid.registry.ports import (
    BiometricsOnFile,
    Passport,
    RegistryRecord,
    ResidenceCard,
    StatusEvent,
)
from eid.registry.schemas import EventIn, PersonIn

FINGER_POSITIONS = range(1, 11)


def _portrait_aad(person_id: uuid.UUID) -> bytes:
    return f"registry:portrait:{person_id}".encode()


def _finger_aad(person_id: uuid.UUID, position: int) -> bytes:
    return f"registry:finger:{person_id}:{position}".encode()


def _record(p: RegistryPerson) -> RegistryRecord:
    return RegistryRecord(
        person_ref=str(p.id),
        full_name=p.full_name,
        date_of_birth=p.date_of_birth,
        sex=p.sex,
        nationality=p.nationality,
        status=p.status,
        passport=Passport(
            number=p.passport_number,
            type=p.passport_type,
            issuing_state=p.passport_issuing_state,
            issue_date=p.passport_issue_date,
            expiry_date=p.passport_expiry_date,
        ),
        residence_card=ResidenceCard(
            number=p.card_number, kind=p.card_kind, expiry_date=p.card_expiry_date
        ),
        documents=dict(p.documents or {}),
    )


class ReferenceRegistry:
    """Implements `ImmigrationRegistry` on the reference tables, in the caller's transaction.
    The class itself is the `RegistryConnector` that `eid.wiring` passes in by default; a real
    agency client would be built there instead."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def find_by_passport(self, number: str) -> RegistryRecord | None:
        person = self.session.execute(
            select(RegistryPerson).where(RegistryPerson.passport_number.matches(number))
        ).scalar_one_or_none()
        return _record(person) if person else None

    def find_by_residence_card(self, number: str) -> RegistryRecord | None:
        person = self.session.execute(
            select(RegistryPerson).where(RegistryPerson.card_number.matches(number))
        ).scalar_one_or_none()
        return _record(person) if person else None

    def find_by_person(self, person_ref: str) -> RegistryRecord | None:
        try:
            person_id = uuid.UUID(person_ref)
        except ValueError:  # not a reference this registry hands out: nobody
            return None
        person = self.session.get(RegistryPerson, person_id)
        return _record(person) if person else None

    def find_by_name(self, full_name: str, limit: int = 20) -> list[RegistryRecord]:
        people = self.session.execute(
            select(RegistryPerson)
            .where(RegistryPerson.full_name.matches(full_name))
            .order_by(RegistryPerson.created_at.desc())
            .limit(limit)
        ).scalars()
        return [_record(p) for p in people]

    def biometrics_on_file(self, person_ref: str) -> BiometricsOnFile:
        person = self.session.get(RegistryPerson, uuid.UUID(person_ref))
        if person is None:
            return BiometricsOnFile(portrait=None)
        portrait = (
            unseal(person.portrait, aad=_portrait_aad(person.id)) if person.portrait else None
        )
        prints = {
            fp.position: unseal(fp.image, aad=_finger_aad(person.id, fp.position))
            for fp in self.session.execute(
                select(RegistryFingerprint).where(RegistryFingerprint.person_id == person.id)
            ).scalars()
        }
        return BiometricsOnFile(portrait=portrait, fingerprints=prints)

    def events_since(self, cursor: int, limit: int = 500) -> list[StatusEvent]:
        rows = self.session.execute(
            select(RegistryEvent)
            .where(RegistryEvent.id > cursor)
            .order_by(RegistryEvent.id)
            .limit(limit)
        ).scalars()
        return [
            StatusEvent(
                cursor=e.id, person_ref=str(e.person_id), kind=e.kind, details=e.details, at=e.at
            )
            for e in rows
        ]


def add_person(
    session: Session,
    person: PersonIn,
    *,
    actor: Actor,
    portrait: bytes | None = None,
    fingerprints: dict[int, bytes] | None = None,
) -> uuid.UUID:
    clash = session.execute(
        select(RegistryPerson.id).where(
            or_(
                RegistryPerson.passport_number.matches(person.passport.number),
                RegistryPerson.card_number.matches(person.residence_card.number),
            )
        )
    ).first()
    if clash:
        raise Conflict(
            "a person with this passport or residence card is already in the registry",
            code="REGISTRY_DUPLICATE",
        )
    row = RegistryPerson(
        id=uuid.uuid4(),
        full_name=person.full_name.upper(),
        date_of_birth=person.date_of_birth,
        sex=person.sex,
        nationality=person.nationality,
        passport_number=person.passport.number,
        passport_type=person.passport.type,
        passport_issuing_state=person.passport.issuing_state,
        passport_issue_date=person.passport.issue_date,
        passport_expiry_date=person.passport.expiry_date,
        card_number=person.residence_card.number,
        card_kind=person.residence_card.kind,
        card_expiry_date=person.residence_card.expiry_date,
        documents=check_declared(person.documents) or None,
    )
    if portrait is not None:
        row.portrait = seal(portrait, aad=_portrait_aad(row.id))
    session.add(row)
    session.flush()
    for position, image in (fingerprints or {}).items():
        if position not in FINGER_POSITIONS:
            raise ValidationFailed(
                "finger positions are ISO/IEC 19794 codes 1 to 10",
                code="INVALID_FINGER_POSITION",
                details={"position": position},
            )
        session.add(
            RegistryFingerprint(
                person_id=row.id,
                position=position,
                image=seal(image, aad=_finger_aad(row.id, position)),
            )
        )
    session.flush()
    audit.record(session, actor, "registry.person_added", "registry_person", row.id)
    return row.id


def add_person_from_file(session: Session, path: Path, *, actor: Actor) -> uuid.UUID:
    """`eid registry add FILE.json`; a relative image path is looked up next to the file,
    then in the working directory (where a path typed on the command line would point)."""
    try:
        person = PersonIn.model_validate(json.loads(path.read_text()))
    except (ValidationError, json.JSONDecodeError) as exc:
        raise ValidationFailed(
            "%(path)s is not a valid person: %(problem)s",
            code="INVALID_PERSON_FILE",
            params={"path": str(path), "problem": str(exc)},
        ) from exc
    base = path.parent

    def load(p: str) -> bytes:
        image = Path(p) if Path(p).is_absolute() else base / p
        if not image.exists() and not Path(p).is_absolute() and Path(p).exists():
            image = Path(p)
        if not image.exists():
            raise ValidationFailed(
                "image %(path)s not found", code="IMAGE_NOT_FOUND", params={"path": str(image)}
            )
        return image.read_bytes()

    portrait = load(person.portrait) if person.portrait else None
    prints = {int(pos): load(p) for pos, p in person.fingerprints.items()}
    return add_person(session, person, actor=actor, portrait=portrait, fingerprints=prints)


def record_event(session: Session, event: EventIn, *, actor: Actor) -> int:
    """Apply a status change to the reference registry and publish it on the feed."""
    person = session.execute(
        select(RegistryPerson)
        .where(RegistryPerson.passport_number.matches(event.passport_number))
        .with_for_update()
    ).scalar_one_or_none()
    if person is None:
        raise NotFound("no person with this passport in the registry", code="REGISTRY_NOT_FOUND")
    details: dict[str, str] = {}
    if event.kind == "card_renewed":
        if event.new_expiry_date is None:
            raise ValidationFailed("a renewal needs new_expiry_date", code="MISSING_EXPIRY")
        person.card_expiry_date = event.new_expiry_date
        if event.new_number:
            person.card_number = event.new_number.upper()
        details = {"card_expiry_date": event.new_expiry_date.isoformat()}
    elif event.kind == "passport_replaced":
        if event.new_expiry_date is None or not event.new_number:
            raise ValidationFailed(
                "a replaced passport needs new_number and new_expiry_date", code="MISSING_PASSPORT"
            )
        # The feed says what changed, never the numbers: a follower reads the person's record.
        details = {"passport_expiry_date": event.new_expiry_date.isoformat()}
        person.passport_number = event.new_number.upper()
        person.passport_expiry_date = event.new_expiry_date
        person.passport_issue_date = dt.date.today()
    elif event.kind == "exit":
        person.status = "exited"
    elif event.kind == "death":
        person.status = "deceased"
    row = RegistryEvent(person_id=person.id, kind=event.kind, details=details)
    session.add(row)
    session.flush()
    audit.record(session, actor, f"registry.{event.kind}", "registry_person", person.id)
    return row.id
