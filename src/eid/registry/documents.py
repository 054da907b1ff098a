"""Documents other agencies issue that a TK01 may declare for integration (DESIGN.md §1, TK01
"other information to integrate"): the driving licence, the health insurance card, the tax code.

This system has no connection to the agencies that issue them (the traffic police, Viet Nam
Social Security, the tax department). What an officer types is therefore only *declared*; it
becomes *verified* only when the immigration database's record of the person holds the same
number (the reference registry keeps such numbers in its optional `documents`), and a number
that differs from the record is a *mismatch*. A declared document never decides the e-ID.
"""

from __future__ import annotations

import re
from typing import Literal

from eid.core.errors import ValidationFailed

DocumentKind = Literal["driving_licence", "health_insurance", "tax_code"]
DocumentState = Literal["declared", "verified", "mismatch"]

# The formats Viet Nam issues today, after normalisation (spaces gone, upper case).
FORMATS: dict[str, re.Pattern[str]] = {
    # A driving licence (giấy phép lái xe) number: 12 digits.
    "driving_licence": re.compile(r"\d{12}"),
    # A health insurance card: the 15-character code (2 letters, 13 digits), or the 10-digit
    # social insurance number that replaces it on the cards issued since 2025.
    "health_insurance": re.compile(r"[A-Z]{2}\d{13}|\d{10}"),
    # A tax code: 10 digits (13 with a 3-digit branch suffix), or a 12-digit personal number.
    "tax_code": re.compile(r"\d{10}(-\d{3})?|\d{12}"),
}
EXAMPLES = {
    "driving_licence": "790123456789",
    "health_insurance": "DN4010123456789",
    "tax_code": "8012345678",
}
KINDS: tuple[str, ...] = tuple(FORMATS)


def normalise(number: str) -> str:
    return "".join(number.split()).upper()


def check_declared(documents: object) -> dict[str, str]:
    """The declared documents, normalised: `{kind: number}`. An unknown kind is refused rather
    than kept as `other`: the form integrates these three, a free entry would be personal data
    kept with no purpose (Law 91/2025: data minimisation) and nothing could ever verify it."""
    if not isinstance(documents, dict):
        raise ValidationFailed(
            "integrations must be an object of document numbers",
            code="INTEGRATIONS_INVALID",
            details={"field": "integrations", "allowed": list(KINDS)},
        )
    checked: dict[str, str] = {}
    for kind, number in documents.items():
        if kind not in FORMATS:
            raise ValidationFailed(
                "%(kind)s is not a document that can be integrated: use driving_licence, "
                "health_insurance or tax_code",
                code="INTEGRATION_UNKNOWN",
                params={"kind": str(kind)[:40]},
                details={"field": "integrations", "kind": str(kind)[:40], "allowed": list(KINDS)},
            )
        value = normalise(number) if isinstance(number, str) else ""
        if not FORMATS[kind].fullmatch(value):
            raise ValidationFailed(
                "the %(kind)s number has the wrong format, for example %(example)s",
                code="INTEGRATION_INVALID",
                params={"kind": kind, "example": EXAMPLES[kind]},
                details={"field": "integrations", "kind": kind},
            )
        checked[kind] = value
    return checked


def state_against(declared: str, on_record: str | None) -> DocumentState:
    """What the immigration database's record says of one declared number."""
    if on_record is None:
        return "declared"
    return "verified" if normalise(on_record) == normalise(declared) else "mismatch"
