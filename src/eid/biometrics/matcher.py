"""`eid.biometrics` behind the `BiometricMatcher` port: one engine and one 1:N index."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from eid.biometrics.ports import MatchResult, QualityResult

if TYPE_CHECKING:
    from eid.biometrics import BiometricEngine


class EngineMatcher:
    """`eid.biometrics` behind the port. One engine and one in-memory 1:N index per process."""

    def __init__(self, engine: BiometricEngine | None = None) -> None:
        from eid.biometrics import BiometricEngine as Engine
        from eid.biometrics import FaceIndex

        # An engine may be shared (tests: one set of loaded models, a fresh index per test).
        self.engine = engine or Engine()
        # "pq" is the exact scan below 100k templates and a product-quantised shortlist above.
        self.index = FaceIndex(strategy="pq")

    @staticmethod
    def _quality(report: Any) -> QualityResult:
        return QualityResult(
            acceptable=bool(report.acceptable),
            score=float(report.score),
            issues=[{"code": i.code, "message": i.message} for i in report.issues],
            metrics={k: float(v) for k, v in report.metrics.items()},
        )

    def portrait_quality(self, image: bytes) -> QualityResult:
        return self._quality(self.engine.portrait_quality(image))

    def fingerprint_quality(self, image: bytes, position: int) -> QualityResult:
        return self._quality(self.engine.fingerprint_quality(image, position))

    def face_template(self, image: bytes) -> bytes:
        return bytes(self.engine.face_template(image))

    def fingerprint_template(self, image: bytes, position: int) -> bytes:
        return bytes(self.engine.fingerprint_template(image, position))

    def fingerprint_capture(self, image: bytes, position: int) -> tuple[QualityResult, bytes]:
        """Quality and template from one minutiae extraction (half the work of two calls)."""
        from eid.core.errors import BiometricError

        try:
            report, template = self.engine.fingerprint_capture(image, position)
        except BiometricError as exc:
            if exc.code not in ("TOO_FEW_MINUTIAE", "NO_FINGERPRINT"):
                raise
            # A print too poor for a template is a retake at the counter, not a bad request.
            issue = {"code": exc.code, "message": exc.message}
            return QualityResult(acceptable=False, score=0.0, issues=[issue]), b""
        return self._quality(report), bytes(template)

    def compare_faces(self, probe: bytes, reference: bytes) -> MatchResult:
        c = self.engine.compare_faces(probe, reference)
        return MatchResult(
            is_match=bool(c.is_match), score=float(c.score), threshold=float(c.threshold)
        )

    def compare_fingerprints(self, probe: bytes, reference: bytes) -> MatchResult:
        c = self.engine.compare_fingerprints(probe, reference)
        return MatchResult(
            is_match=bool(c.is_match), score=float(c.score), threshold=float(c.threshold)
        )

    def search_faces(self, template: bytes, k: int) -> list[tuple[str, float]]:
        return [(key, float(s)) for key, s in self.index.search(template, k)]

    def index_face(self, key: str, template: bytes) -> None:
        self.index.add(key, template)

    def index_faces(self, keys: list[str], templates: list[bytes]) -> None:
        """Bulk add (start-up load): one array write instead of one locked add per identity."""
        import numpy as np

        from eid.biometrics.face import parse_face_template

        if keys:
            self.index.add_vectors(keys, np.stack([parse_face_template(t) for t in templates]))

    def prepare_search(self) -> None:
        self.index.prepare()

    def unindex_face(self, key: str) -> None:
        self.index.remove(key)

    def indexed(self) -> int:
        return len(self.index)
