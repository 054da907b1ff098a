"""The biometric engine the verification domain calls: quality, templates and 1:1 decisions."""

from __future__ import annotations

from pathlib import Path

from eid.biometrics import fingerprint as fp
from eid.biometrics.face import (
    FaceModels,
    decode_image,
    parse_face_template,
    serialize_face_template,
)
from eid.biometrics.models import Comparison, QualityReport, validate_finger_position
from eid.biometrics.portrait_quality import assess_portrait, dominant_face
from eid.biometrics.thresholds import BOZORTH3_NIST_THRESHOLD, face_threshold_for


class BiometricEngine:
    """Thread-safe; models load on first use, once, after their SHA-256 check.

    `face_threshold` overrides the documented threshold for `face_target_fmr`; use it only with a
    value measured on a large impostor set.
    """

    def __init__(
        self,
        face_target_fmr: float = 1e-3,
        *,
        face_threshold: float | None = None,
        fingerprint_threshold: float = BOZORTH3_NIST_THRESHOLD,
        models_dir: Path | None = None,
    ) -> None:
        self.face_target_fmr = face_target_fmr
        self.face_threshold = (
            face_threshold if face_threshold is not None else face_threshold_for(face_target_fmr)
        )
        self.fingerprint_threshold = fingerprint_threshold
        self._faces = FaceModels(models_dir)
        self._fingers = fp.FingerprintToolkit()

    def load_models(self) -> None:
        """Load and verify now rather than on the first request (e.g. at worker start)."""
        self._faces.ensure_loaded()

    def portrait_quality(self, image: bytes) -> QualityReport:
        return assess_portrait(self._faces, decode_image(image))

    def face_template(self, image: bytes) -> bytes:
        """The largest face's embedding. Several faces are a quality issue, reported by
        `portrait_quality`; a template is still made from the main one."""
        picture = decode_image(image)
        face = dominant_face(self._faces, picture)
        embedding = self._faces.embed(self._faces.aligned_crop(picture, face))
        return serialize_face_template(embedding)

    def compare_faces(self, probe: bytes, reference: bytes) -> Comparison:
        score = float(parse_face_template(probe) @ parse_face_template(reference))
        return Comparison("face", score, self.face_threshold, score >= self.face_threshold)

    def fingerprint_quality(self, image: bytes, position: int) -> QualityReport:
        validate_finger_position(position)
        return fp.assess_fingerprint(self._fingers.capture(image), position)

    def fingerprint_template(self, image: bytes, position: int) -> bytes:
        validate_finger_position(position)
        return fp.build_template(self._fingers.capture(image), position)

    def fingerprint_capture(self, image: bytes, position: int) -> tuple[QualityReport, bytes]:
        """Quality and template from one extraction (half the time of calling both). Raises
        BiometricError when no template can be made; a poor but usable print still gets one."""
        validate_finger_position(position)
        capture = self._fingers.capture(image)
        return fp.assess_fingerprint(capture, position), fp.build_template(capture, position)

    def compare_fingerprints(self, probe: bytes, reference: bytes) -> Comparison:
        probe_view, probe_size = fp.read_template(probe)
        reference_view, reference_size = fp.read_template(reference)
        score = float(
            self._fingers.bozorth3(probe_view, probe_size, reference_view, reference_size)
        )
        return Comparison(
            "fingerprint", score, self.fingerprint_threshold, score >= self.fingerprint_threshold
        )
