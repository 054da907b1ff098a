from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, Field


def _upper(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


Upper = Annotated[str, BeforeValidator(_upper)]


class PassportIn(BaseModel):
    number: Upper = Field(pattern=r"^[A-Z0-9]{5,9}$")
    type: str = Field(default="P", pattern=r"^[A-Z]{1,2}$")
    issuing_state: str = Field(pattern=r"^[A-Z]{3}$")
    issue_date: dt.date
    expiry_date: dt.date


class ResidenceCardIn(BaseModel):
    number: Upper = Field(pattern=r"^[A-Z0-9-]{4,20}$")
    kind: Literal["TRC", "PRC"]
    expiry_date: dt.date


class PersonIn(BaseModel):
    """One person for `eid registry add` (DESIGN.md §3)."""

    full_name: str = Field(min_length=1, max_length=200)
    date_of_birth: dt.date
    sex: Literal["M", "F", "X"]
    nationality: str = Field(pattern=r"^[A-Z]{3}$")
    passport: PassportIn
    residence_card: ResidenceCardIn
    portrait: str | None = None
    fingerprints: dict[str, str] = Field(default_factory=dict)
    # Other documents on the record, e.g. {"tax_code": "8012345678"} (`registry.documents`).
    documents: dict[str, str] = Field(default_factory=dict)


class EventIn(BaseModel):
    passport_number: str
    kind: Literal[
        "card_renewed", "card_expired", "passport_replaced", "passport_expired", "exit", "death"
    ]
    new_expiry_date: dt.date | None = None
    new_number: str | None = None
