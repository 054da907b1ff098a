"""What verification is given and what it answers: plain typed values, no application rows.

Enrolment gathers the inputs (the TK01 data, the unsealed capture templates), calls
`service.run_checks`, and applies the outcome to the application it owns."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from eid.i18n import FALLBACK
from eid.verification import reasons

Decision = Literal["verified", "in_review", "rejected"]


@dataclass(frozen=True)
class Applicant:
    """The officer's TK01 data that the checks compare with the immigration database."""

    application_id: uuid.UUID
    office_code: str | None  # None: a Level-1 registration in the app, no office behind it
    registry_ref: str | None
    full_name: str
    date_of_birth: dt.date
    sex: str
    nationality: str
    passport_number: str
    passport_issuing_state: str
    card_number: str
    card_kind: str
    level: int = 2  # 1: a selfie only, no fingerprints; no photo on file means review
    # The documents declared in TK01 `integrations` ({kind: number}, `registry.documents`).
    documents: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CapturedBiometrics:
    """Templates taken at the counter (unsealed by enrolment, which seals them)."""

    face: bytes | None
    fingers: dict[int, bytes] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckResult:
    name: str
    outcome: str  # pass | fail | review | not_applicable | warn
    reason: str | None = None  # in English; the message itself is in `details` (`reasons`)
    score: float | None = None
    threshold: float | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class VerificationOutcome:
    """One run's checks and what they decide: a failed check rejects, a doubtful one holds the
    application for a supervisor (`review_id`), else it is verified."""

    checks: tuple[CheckResult, ...]
    biometrics_on_file: bool
    candidate: uuid.UUID | None = None
    review_id: uuid.UUID | None = None

    def named(self, outcome: str) -> list[str]:
        return [c.name for c in self.checks if c.outcome == outcome]

    @property
    def decision(self) -> Decision:
        if self.named("fail"):
            return "rejected"
        return "in_review" if self.named("review") else "verified"

    @property
    def rejection_reason(self) -> str:
        """The failed checks, in English, as kept with the application (officers read them in
        their language: `service.failures_in`)."""
        return reasons.failures(
            FALLBACK, [(c.name, c.reason) for c in self.checks if c.outcome == "fail"]
        )


@dataclass(frozen=True)
class ClosedReview:
    """A supervisor's decision on a held application, for enrolment to apply."""

    review_id: uuid.UUID
    application_id: uuid.UUID
    decision: Literal["approve", "reject"]
    note: str
