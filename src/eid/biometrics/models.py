"""Value objects the engine returns; plain data so callers can store or render them."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from eid.core.errors import BiometricError


@dataclass(frozen=True)
class QualityIssue:
    """One reason a sample was refused. `code` is stable; `message` tells the officer what to do."""

    code: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True)
class QualityReport:
    """`acceptable` is the decision; `score` (0..100, higher is better) is for display only."""

    acceptable: bool
    score: float
    issues: tuple[QualityIssue, ...]
    metrics: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {
            "acceptable": self.acceptable,
            "score": self.score,
            "issues": [issue.to_dict() for issue in self.issues],
            "metrics": dict(self.metrics),
        }


@dataclass(frozen=True)
class Comparison:
    """A 1:1 result. The score is kept for review even when the decision is clear."""

    modality: str
    score: float
    threshold: float
    is_match: bool

    def to_dict(self) -> dict[str, object]:
        return {
            "modality": self.modality,
            "score": self.score,
            "threshold": self.threshold,
            "is_match": self.is_match,
        }


# ISO/IEC 19794-2 / ANSI-NIST finger position codes; 0 ("unknown") is refused on purpose:
# a Level-2 record must say which finger it holds.
fingerprint_positions: dict[int, str] = {
    1: "right thumb",
    2: "right index",
    3: "right middle",
    4: "right ring",
    5: "right little",
    6: "left thumb",
    7: "left index",
    8: "left middle",
    9: "left ring",
    10: "left little",
}


def validate_finger_position(position: int) -> int:
    # bool is an int subclass; True would silently mean "right thumb".
    if isinstance(position, bool) or not isinstance(position, int):
        raise BiometricError(
            "Finger position must be an ISO/IEC 19794 code 1..10, got %(position)s.",
            code="INVALID_FINGER_POSITION",
            params={"position": repr(position)},
        )
    if position not in fingerprint_positions:
        raise BiometricError(
            "Finger position must be an ISO/IEC 19794 code 1..10, got %(position)s.",
            code="INVALID_FINGER_POSITION",
            params={"position": position},
            details={"position": position},
        )
    return position


class FingerException(StrEnum):
    """Why a finger could not be captured; the officer records it instead of skipping the finger."""

    AMPUTATED = "AMPUTATED"
    INJURED = "INJURED"
    UNABLE_TO_PRINT = "UNABLE_TO_PRINT"


def parse_finger_exception(value: str) -> FingerException:
    """Read a stored or submitted reason back, refusing anything outside the enumeration."""
    try:
        return FingerException(value.strip().upper())
    except ValueError:
        allowed = ", ".join(reason.value for reason in FingerException)
        raise BiometricError(
            "Unknown finger exception %(value)s; expected one of %(allowed)s.",
            code="INVALID_FINGER_EXCEPTION",
            params={"value": repr(value), "allowed": allowed},
        ) from None
