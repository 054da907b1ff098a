"""Rules of Decree 69/2024 applied to a TK01 before anything is written."""

from __future__ import annotations

import datetime as dt
import re

import phonenumbers

from eid.core.errors import ValidationFailed
from eid.enrolment.schemas import TK01, Form, PersonForm
from eid.registry.documents import check_declared
from eid.registry.mrz import MrzError, parse_td3

MINIMUM_AGE = 6  # under 6: Level 1 only
GUARDIAN_AGE = 14  # under 14: the guardian registers and declares
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def age_on(date_of_birth: dt.date, day: dt.date) -> int:
    years = day.year - date_of_birth.year
    if (day.month, day.day) < (date_of_birth.month, date_of_birth.day):
        years -= 1
    return years


def e164(number: str, field: str) -> str:
    """The mobile number in E.164. A number without a country code is read as Vietnamese
    (`0912 345 678` is +84912345678): the verified mobile of a resident is usually local."""
    try:
        parsed = phonenumbers.parse(number, "VN")
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_valid_number(parsed):
        raise ValidationFailed(
            "%(field)s must be a valid mobile number: +84912345678, or 0912 345 678 in Viet Nam",
            code="PHONE_INVALID",
            details={"field": field},
            params={"field": field},
        )
    kind = phonenumbers.number_type(parsed)
    if kind not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        raise ValidationFailed(
            "%(field)s must be a mobile number",
            code="PHONE_NOT_MOBILE",
            details={"field": field},
            params={"field": field},
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def vietnamese_mobile(phone: str, field: str) -> str:
    """A Level-1 account is opened on a verified Vietnamese SIM (DESIGN.md §1, Level 1)."""
    if not phone.startswith("+84"):
        raise ValidationFailed(
            "%(field)s must be a Vietnamese mobile number (+84 or 0 followed by 9 digits)",
            code="PHONE_NOT_VIETNAMESE",
            details={"field": field},
            params={"field": field},
        )
    return phone


def check_tk01(form: Form, today: dt.date, *, level: int = 2) -> Form:
    """Return the form normalised, or raise the first rule it breaks with a stable code.

    Level 2 (TK01) is for persons aged 6 or older; Level 1 (the app) for anyone, on a
    Vietnamese mobile number, with the passport's MRZ lines."""
    if form.date_of_birth > today:
        raise ValidationFailed(
            "the date of birth is in the future",
            code="DATE_OF_BIRTH_INVALID",
            details={"field": "date_of_birth"},
        )
    age = age_on(form.date_of_birth, today)
    if level == 2 and age < MINIMUM_AGE:
        raise ValidationFailed(
            "Level 2 is for persons aged 6 or older; a younger child can have Level 1 only",
            code="AGE_BELOW_MINIMUM",
            details={"age": age, "minimum": MINIMUM_AGE, "field": "date_of_birth"},
        )
    passport = form.passport
    if passport.issue_date > today:
        raise ValidationFailed(
            "the passport's issue date is in the future",
            code="PASSPORT_ISSUE_DATE_INVALID",
            details={"field": "passport.issue_date"},
        )
    if passport.expiry_date < today:
        raise ValidationFailed(
            "the passport has expired",
            code="PASSPORT_EXPIRED",
            details={
                "expiry_date": passport.expiry_date.isoformat(),
                "field": "passport.expiry_date",
            },
        )
    if form.residence_card.expiry_date < today:
        raise ValidationFailed(
            "the residence card has expired",
            code="RESIDENCE_CARD_EXPIRED",
            details={
                "expiry_date": form.residence_card.expiry_date.isoformat(),
                "field": "residence_card.expiry_date",
            },
        )
    if passport.mrz:
        _check_mrz(form)
    phone = e164(form.phone, "phone")
    if level == 1:
        vietnamese_mobile(phone, "phone")
    email = form.email.strip() if form.email else None
    if email and not _EMAIL.match(email):
        raise ValidationFailed(
            "the email address is not valid", code="EMAIL_INVALID", details={"field": "email"}
        )
    guardian = form.guardian
    if age < GUARDIAN_AGE and guardian is None:
        raise ValidationFailed(
            "an applicant under 14 comes with a guardian, whose identity and relation are recorded",
            code="GUARDIAN_REQUIRED",
            details={"age": age, "field": "guardian.full_name"},
        )
    if guardian is not None:
        guardian_phone = e164(guardian.phone, "guardian.phone")
        if age < GUARDIAN_AGE and guardian_phone != phone:
            raise ValidationFailed(
                "for a child aged 6-13 the guardian declares with the guardian's own verified "
                "phone: `phone` must be the guardian's number",
                code="GUARDIAN_PHONE_REQUIRED",
                details={"field": "phone"},
            )
        guardian = guardian.model_copy(update={"phone": guardian_phone})
    normalised: dict[str, object] = {
        "full_name": " ".join(form.full_name.upper().split()),
        "phone": phone,
        "email": email,
        "guardian": guardian,
        "passport": passport.model_copy(update={"number": passport.number.upper()}),
    }
    if isinstance(form, TK01):  # a Level-1 registration declares no other documents
        normalised["integrations"] = check_declared(form.integrations)
    return form.model_copy(update=normalised)


def _check_mrz(form: PersonForm) -> None:
    assert form.passport.mrz is not None
    try:
        fields = parse_td3(form.passport.mrz[0], form.passport.mrz[1])
    except MrzError as exc:
        raise ValidationFailed(
            "the passport MRZ is not valid (%(field)s)",
            code="MRZ_INVALID",
            details={"field": exc.field},
            params={"field": exc.field},
        ) from None
    expected = {
        "number": form.passport.number.upper(),
        "date_of_birth": form.date_of_birth.strftime("%y%m%d"),
        "expiry_date": form.passport.expiry_date.strftime("%y%m%d"),
        "nationality": form.nationality,
    }
    for name, value in expected.items():
        if fields[name] != value:
            raise ValidationFailed(
                "the MRZ's %(field)s does not match the form",
                code="MRZ_MISMATCH",
                details={"field": name},
                params={"field": name},
            )
