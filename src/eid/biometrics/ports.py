"""The biometric engine as the rest of eid sees it: quality, templates, 1:1 and 1:N.

A port so that enrolment, verification and identity receive an engine built once per process
(`eid.wiring`), and tests pass one without models. `eid.biometrics.matcher` implements it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class QualityResult:
    acceptable: bool
    score: float
    issues: list[dict[str, str]] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class MatchResult:
    is_match: bool
    score: float
    threshold: float


class BiometricMatcher(Protocol):
    def portrait_quality(self, image: bytes) -> QualityResult: ...
    def fingerprint_quality(self, image: bytes, position: int) -> QualityResult: ...
    def face_template(self, image: bytes) -> bytes: ...
    def fingerprint_template(self, image: bytes, position: int) -> bytes: ...
    def fingerprint_capture(self, image: bytes, position: int) -> tuple[QualityResult, bytes]: ...
    def compare_faces(self, probe: bytes, reference: bytes) -> MatchResult: ...
    def compare_fingerprints(self, probe: bytes, reference: bytes) -> MatchResult: ...
    def search_faces(self, template: bytes, k: int) -> list[tuple[str, float]]: ...
    def index_face(self, key: str, template: bytes) -> None: ...
    def index_faces(self, keys: list[str], templates: list[bytes]) -> None: ...
    def prepare_search(self) -> None: ...
    def unindex_face(self, key: str) -> None: ...
    def indexed(self) -> int: ...


class HasMatcher(Protocol):
    """What a job or request that compares biometrics is handed (`eid.wiring.Ports`)."""

    @property
    def matcher(self) -> BiometricMatcher: ...
