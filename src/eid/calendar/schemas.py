from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class OverrideRequest(BaseModel):
    kind: Literal["day_off", "working_day"]
    name: str = Field(min_length=1, max_length=200)
    note: str | None = Field(default=None, max_length=2000)


class OverrideResponse(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    day: dt.date
    kind: str
    name: str
    note: str | None
    created_by: str
    created_at: dt.datetime


class DeadlineResponse(BaseModel):
    submitted_on: dt.date
    biometrics_on_file: bool
    working_days: int
    legal_deadline: dt.date
