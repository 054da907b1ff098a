"""The person's digital profile, for authorised officers (issue 13 item 11): one foreigner's
registry record, documents over time, accounts (level, state, lock grounds, agency locks) and
applications with their checks, on one page.

It composes four domains (registry, authority, enrolment, verification), so it lives here, as
`holder_api` does. Nothing shows before the officer states why: each search and each opening is
an audit event carrying the stated purpose and note (DESIGN.md §1, Law 91/2025: the person's
history of use). Routes: `web.endpoints`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from eid.authority import agency_locks
from eid.authority import service as authority
from eid.authority.schemas import AccountView, AgencyLockOut
from eid.core import audit, clock
from eid.core.audit import Actor
from eid.core.errors import NotFound
from eid.core.sealed import index_values
from eid.enrolment.models import Application, passport_identity
from eid.i18n import FALLBACK
from eid.registry.ports import ImmigrationRegistry, RegistryRecord
from eid.verification import service as verification

Purpose = Literal["residency_procedure", "agency_request", "holder_request", "data_correction"]
SearchBy = Literal["name", "passport", "residence_card", "eid_number"]


class ProfileReason(BaseModel):
    purpose: Purpose = Field(description="why the officer opens the profile")
    note: str = Field(min_length=3, max_length=500, description="the case, in the officer's words")

    def text(self) -> str:
        return f"{self.purpose}: {self.note}"


class ProfileSearchIn(ProfileReason):
    by: SearchBy
    query: str = Field(min_length=2, max_length=200)


class ProfileOpenIn(ProfileReason):
    person_ref: str = Field(min_length=1, max_length=64)


class ProfileCandidate(BaseModel):
    person_ref: str
    full_name: str
    date_of_birth: dt.date
    nationality: str


class DocumentEntry(BaseModel):
    """A passport and residence card pair as one source held it, and since when."""

    source: Literal["registry", "account", "application"]
    seen_at: dt.datetime | None
    passport_number: str
    passport_expiry: str
    card_number: str
    card_kind: str
    card_expiry: str


class ProfileAccount(BaseModel):
    eid_number: str
    level: int
    status: str
    lock_grounds: list[str]
    activated_at: dt.datetime | None
    language: str
    agency_locks: list[AgencyLockOut]


class ProfileCheck(BaseModel):
    name: str
    outcome: str
    reason: str | None = None


class ProfileApplication(BaseModel):
    id: uuid.UUID
    level: int
    channel: str
    status: str
    office_code: str | None
    created_at: dt.datetime
    submitted_on: dt.date | None
    legal_deadline: dt.date | None
    decided_at: dt.datetime | None
    eid_number: str | None
    rejection_code: str | None
    checks: list[ProfileCheck]


class Profile(BaseModel):
    person_ref: str
    full_name: str
    date_of_birth: dt.date
    sex: str
    nationality: str
    registry_status: str | None  # None: the immigration database holds no record now
    documents: list[DocumentEntry]
    accounts: list[ProfileAccount]
    applications: list[ProfileApplication]
    opened_at: dt.datetime


def _candidate_of_record(record: RegistryRecord) -> ProfileCandidate:
    return ProfileCandidate(
        person_ref=record.person_ref,
        full_name=record.full_name,
        date_of_birth=record.date_of_birth,
        nationality=record.nationality,
    )


def _candidate_of_account(account: AccountView) -> ProfileCandidate:
    return ProfileCandidate(
        person_ref=account.registry_ref,
        full_name=account.full_name,
        date_of_birth=account.date_of_birth,
        nationality=account.nationality,
    )


def search(
    session: Session, body: ProfileSearchIn, *, actor: Actor, registry: ImmigrationRegistry
) -> list[ProfileCandidate]:
    """The people the query names (by passport, residence card, e-ID number or full name):
    names and dates of birth only, enough to pick one; the search is audited with its reason."""
    query = body.query.strip()
    found: list[ProfileCandidate] = []
    if body.by == "passport":
        record = registry.find_by_passport(query)
        found = [_candidate_of_record(record)] if record else []
    elif body.by == "residence_card":
        record = registry.find_by_residence_card(query)
        found = [_candidate_of_record(record)] if record else []
    elif body.by == "eid_number":
        account = authority.find_by_eid_number(session, query)
        found = [_candidate_of_account(account)] if account else []
    else:
        # The immigration database knows everyone; an account's name can be newer (a renewal
        # the registry has not caught up with): both, one line per person.
        people = {r.person_ref: _candidate_of_record(r) for r in registry.find_by_name(query)}
        for account in authority.find_by_name(session, query):
            people.setdefault(account.registry_ref, _candidate_of_account(account))
        found = list(people.values())
    audit.record(
        session,
        actor,
        "profile.searched",
        "person",
        "search",
        reason=body.text(),
        details={"by": body.by, "found": [c.person_ref for c in found]},
    )
    return found


def _documents(
    record: RegistryRecord | None, accounts: list[AccountView], apps: list[Application]
) -> list[DocumentEntry]:
    entries: list[DocumentEntry] = []
    if record is not None:
        entries.append(
            DocumentEntry(
                source="registry",
                seen_at=None,
                passport_number=record.passport.number,
                passport_expiry=record.passport.expiry_date.isoformat(),
                card_number=record.residence_card.number,
                card_kind=record.residence_card.kind,
                card_expiry=record.residence_card.expiry_date.isoformat(),
            )
        )
    sources: list[
        tuple[Literal["account", "application"], dt.datetime | None, dict[str, Any], dict[str, Any]]
    ] = [("account", a.activated_at, a.passport, a.residence_card) for a in accounts]
    sources += [("application", a.created_at, a.passport, a.residence_card) for a in apps]
    seen = {(e.passport_number, e.card_number, e.card_expiry) for e in entries}
    for source, at, passport, card in sources:
        key = (str(passport["number"]), str(card["number"]), str(card["expiry_date"]))
        if key in seen:
            continue
        seen.add(key)
        entries.append(
            DocumentEntry(
                source=source,
                seen_at=at,
                passport_number=key[0],
                passport_expiry=str(passport["expiry_date"]),
                card_number=key[1],
                card_kind=str(card.get("kind", "")),
                card_expiry=key[2],
            )
        )
    return entries


def open_profile(
    session: Session,
    body: ProfileOpenIn,
    *,
    actor: Actor,
    registry: ImmigrationRegistry,
    language: str = FALLBACK,
) -> Profile:
    """The whole profile of one person; the opening is audited with its reason, on the person
    and on each account and application it shows. Check reasons read in `language`."""
    ref = body.person_ref
    record = registry.find_by_person(ref)
    accounts = authority.accounts_of_person(session, ref)
    passports = (
        [
            passport_identity(
                {"number": record.passport.number, "issuing_state": record.passport.issuing_state}
            )
        ]
        if record
        else []
    )
    keys = [k for p in passports for k in index_values(p)]
    conditions = [Application.registry_ref == ref]
    if keys:
        conditions.append(Application.passport_key.in_(keys))
    if accounts:
        conditions.append(Application.eid_number.in_([a.eid_number for a in accounts]))
    apps = list(
        session.execute(
            select(Application).where(or_(*conditions)).order_by(Application.created_at.desc())
        ).scalars()
    )
    if record is None and not accounts and not apps:
        raise NotFound("no such person", code="PERSON_NOT_FOUND")
    base: Any = record if record is not None else (accounts[0] if accounts else apps[0])
    reason = body.text()
    audit.record(session, actor, "profile.opened", "person", ref, reason=reason)
    for account in accounts:
        audit.record(session, actor, "account.read", "account", account.id, reason=reason)
    for app in apps:
        audit.record(session, actor, "application.read", "application", app.id, reason=reason)
    return Profile(
        person_ref=ref,
        full_name=base.full_name,
        date_of_birth=base.date_of_birth,
        sex=base.sex,
        nationality=base.nationality,
        registry_status=record.status if record else None,
        documents=_documents(record, accounts, apps),
        accounts=[
            ProfileAccount(
                eid_number=a.eid_number,
                level=a.level,
                status=a.status,
                lock_grounds=a.lock_grounds,
                activated_at=a.activated_at,
                language=a.language,
                agency_locks=agency_locks.account_locks(session, a.id),
            )
            for a in accounts
        ],
        applications=[
            ProfileApplication(
                id=a.id,
                level=a.level,
                channel=a.channel,
                status=a.status,
                office_code=a.office_code,
                created_at=a.created_at,
                submitted_on=a.submitted_on,
                legal_deadline=a.legal_deadline,
                decided_at=a.decided_at,
                eid_number=a.eid_number,
                rejection_code=a.rejection_code,
                checks=[
                    ProfileCheck(name=c["name"], outcome=c["outcome"], reason=c.get("reason"))
                    for c in verification.checks_of(
                        session, a.id, a.verification_run, language=language
                    )
                ],
            )
            for a in apps
        ],
        opened_at=clock.now(),
    )
