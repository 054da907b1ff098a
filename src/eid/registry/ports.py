"""What eid needs from the national immigration database, as a typed port."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.orm import Session

EVENT_KINDS = (
    "card_renewed",
    "card_expired",
    "passport_replaced",
    "passport_expired",
    "exit",
    "death",
)


@dataclass(frozen=True)
class Passport:
    number: str
    type: str
    issuing_state: str
    issue_date: dt.date
    expiry_date: dt.date


@dataclass(frozen=True)
class ResidenceCard:
    number: str
    kind: str  # TRC (temporary) or PRC (permanent)
    expiry_date: dt.date


@dataclass(frozen=True)
class RegistryRecord:
    person_ref: str
    full_name: str
    date_of_birth: dt.date
    sex: str
    nationality: str
    status: str
    passport: Passport
    residence_card: ResidenceCard
    # Other documents the record holds ({"tax_code": "8012345678"}): empty when none, always
    # for a registry that keeps none (`eid.registry.documents`).
    documents: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BiometricsOnFile:
    portrait: bytes | None
    fingerprints: dict[int, bytes] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return self.portrait is not None and bool(self.fingerprints)


@dataclass(frozen=True)
class StatusEvent:
    cursor: int
    person_ref: str
    kind: str
    details: dict[str, Any]
    at: dt.datetime


class ImmigrationRegistry(Protocol):
    def find_by_passport(self, number: str) -> RegistryRecord | None: ...
    def find_by_residence_card(self, number: str) -> RegistryRecord | None: ...
    def find_by_person(self, person_ref: str) -> RegistryRecord | None: ...
    def find_by_name(self, full_name: str, limit: int = 20) -> list[RegistryRecord]:
        """People whose full name is `full_name` (case, spacing and Unicode form aside)."""
        ...

    def biometrics_on_file(self, person_ref: str) -> BiometricsOnFile: ...
    def events_since(self, cursor: int, limit: int = 500) -> list[StatusEvent]: ...


class RegistryConnector(Protocol):
    """The registry as one transaction sees it. The reference registry reads its own tables
    in the caller's transaction (`registry.service.ReferenceRegistry`); a remote one ignores it."""

    def __call__(self, session: Session) -> ImmigrationRegistry: ...


class HasRegistry(Protocol):
    """What a job or request that asks the immigration database is handed (`eid.wiring.Ports`)."""

    @property
    def registry(self) -> RegistryConnector: ...
