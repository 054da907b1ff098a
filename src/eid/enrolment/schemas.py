"""Form TK01 and the officer API's bodies (names as in DESIGN.md §3)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, AliasChoices, BaseModel, Field

from eid.core.limits import bounded_object
from eid.registry.schemas import ResidenceCardIn, Upper


class PassportTK01(BaseModel):
    # Codes and numbers in any case (`kor`, `m1234567`): read as the document prints them.
    number: Upper = Field(pattern=r"^[A-Za-z0-9]{5,9}$")
    type: Upper = Field(default="P", pattern=r"^[A-Z]{1,2}$")
    issuing_state: Upper = Field(pattern=r"^[A-Z]{3}$")
    issue_date: dt.date
    expiry_date: dt.date
    mrz: list[str] | None = Field(default=None, min_length=2, max_length=2)


class Guardian(BaseModel):
    full_name: str = Field(min_length=1, max_length=200)
    relation: str = Field(min_length=1, max_length=50)
    document_number: str = Field(min_length=3, max_length=30)
    phone: str = Field(min_length=4, max_length=20)
    eid_number: str | None = Field(default=None, pattern=r"^\d{12}$")


class PersonForm(BaseModel):
    """What TK01 at an office and a Level-1 registration in the app both declare."""

    full_name: str = Field(min_length=1, max_length=200)
    date_of_birth: dt.date
    sex: Literal["M", "F", "X"]
    nationality: Upper = Field(pattern=r"^[A-Z]{3}$")
    passport: PassportTK01
    residence_card: ResidenceCardIn
    phone: str = Field(min_length=4, max_length=20)
    email: str | None = Field(default=None, max_length=254)
    language: str = Field(default="vi", pattern=r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$")
    guardian: Guardian | None = None


Form = TypeVar("Form", bound=PersonForm)


class TK01(PersonForm):
    address: str = Field(min_length=5, max_length=500)
    # Other documents to integrate: {"driving_licence" | "health_insurance" | "tax_code":
    # number} (`eid.registry.documents`, checked in `rules.check_tk01`); bounded first, so a
    # client cannot make the server read megabytes before that check refuses them.
    integrations: Annotated[
        dict[str, Any],
        AfterValidator(bounded_object(max_bytes=4096, max_depth=3, max_keys=32)),
    ] = Field(default_factory=dict)


class Check(BaseModel):
    name: str
    outcome: str
    reason: str | None = None
    score: float | None = None
    threshold: float | None = None


class CaptureSummary(BaseModel):
    kind: str
    position: int
    acceptable: bool
    exception_reason: str | None = None
    quality: dict[str, Any]


class ApplicationOut(BaseModel):
    id: uuid.UUID
    status: str
    office_code: str | None
    level: int = 2
    channel: str = "office"
    full_name: str
    date_of_birth: dt.date
    nationality: str
    passport: dict[str, Any]
    residence_card: dict[str, Any]
    address: str | None = None
    phone: str
    email: str | None
    language: str
    guardian: dict[str, Any] | None
    integrations: dict[str, Any] = Field(default_factory=dict)
    biometrics_on_file: bool | None
    checks: list[Check]
    captures: list[CaptureSummary]
    phone_verified: bool
    consent_by: str | None
    submitted_at: dt.datetime | None
    legal_deadline: dt.date | None
    eid_number: str | None
    rejection_code: str | None
    rejection_reason: str | None
    created_at: dt.datetime


class QualityOut(BaseModel):
    kind: str
    position: int
    acceptable: bool
    # A usable but poor capture is kept on the third attempt, and says so.
    accepted_after_retakes: bool = False
    attempts: int = 1
    score: float
    issues: list[dict[str, str]]
    metrics: dict[str, float]
    application_status: str


class FingerException(BaseModel):
    reason: Literal["AMPUTATED", "INJURED", "UNABLE_TO_PRINT"]
    note: str | None = Field(default=None, max_length=500)


class ConsentIn(BaseModel):
    """Who consented, to which text, read in which language. The text version defaults to the
    current one for the application's level, the language to the application's."""

    by: Literal["applicant", "guardian"] = Field(
        validation_alias=AliasChoices("by", "consented_by", "consent_by", "given_by")
    )
    text_version: str | None = Field(default=None, max_length=32)
    language: str | None = Field(default=None, pattern=r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$")


class SubmissionOut(BaseModel):
    id: uuid.UUID
    status: str
    legal_deadline: dt.date
    working_days: int


class PhoneCodeSent(BaseModel):
    sent_to: str
    expires_in: int


class PhoneCodeIn(BaseModel):
    code: str = Field(pattern=r"^\d{6}$")


class CancelIn(BaseModel):
    reason: str = Field(min_length=3, max_length=500)


class VerificationOut(BaseModel):
    id: uuid.UUID
    status: str
    verification: str


# --- the counter (`counter`) ---


class OpenApplication(BaseModel):
    id: uuid.UUID
    status: str
    full_name: str
    passport_number: str
    residence_card_number: str
    created_at: dt.datetime
    due_on: dt.date  # overdue after this day (`counter.due_on`)
    overdue: bool


class MrzIn(BaseModel):
    """The machine-readable zone as typed (by hand or by a document reader): 2 or 3 lines."""

    mrz: str = Field(min_length=30, max_length=200)


class MrzOut(BaseModel):
    layout: str  # TD1, TD2, TD3, MRVA, MRVB
    visa: bool
    document_type: str
    issuing_state: str
    number: str
    nationality: str
    date_of_birth: dt.date
    sex: str
    expiry_date: dt.date
    full_name: str
    lines: list[str]


class RegistryPrefill(BaseModel):
    """The immigration database's record of a person, for the officer to confirm on TK01."""

    full_name: str
    date_of_birth: dt.date
    sex: str
    nationality: str
    passport: dict[str, Any]
    residence_card: dict[str, Any]
    documents: dict[str, str]


class CorrectionOut(BaseModel):
    changed: list[str]
    application: ApplicationOut


# --- Level 1 in the app (`registration`) ---


class PassportLevel1(PassportTK01):
    """Typed by the holder, with the two MRZ lines of the data page (checked against it)."""

    mrz: list[str] = Field(min_length=2, max_length=2)


class RegistrationIn(PersonForm):
    passport: PassportLevel1
    address: str | None = Field(default=None, max_length=500)


class RegistrationCheck(BaseModel):
    name: str
    outcome: str


class RegistrationOut(BaseModel):
    id: uuid.UUID
    status: str
    level: int = 1
    checks: list[RegistrationCheck]
    legal_deadline: dt.date | None
    working_days: int
    eid_number: str | None
    rejection_code: str | None
    rejection_reason: str | None
    language: str
    phone_sent_to: str
    phone_verified: bool
    consent_text_version: str
    consented: bool
    selfie_acceptable: bool
    submitted: bool


class RegistrationCreated(RegistrationOut):
    registration_token: str  # shown once: send it as X-Registration-Token
    token_expires_in: int
