"""Face and fingerprint biometrics: quality, templates, 1:1 comparison and 1:N duplicate search.

No database code lives here; templates are bytes the caller stores (encrypted) and reloads.
"""

from eid.biometrics.engine import BiometricEngine
from eid.biometrics.evaluation import evaluate, main_bio_eval
from eid.biometrics.face import ModelIntegrityError
from eid.biometrics.index import FaceIndex
from eid.biometrics.models import (
    Comparison,
    FingerException,
    QualityIssue,
    QualityReport,
    fingerprint_positions,
    parse_finger_exception,
    validate_finger_position,
)

__all__ = [
    "BiometricEngine",
    "Comparison",
    "FaceIndex",
    "FingerException",
    "ModelIntegrityError",
    "QualityIssue",
    "QualityReport",
    "evaluate",
    "fingerprint_positions",
    "main_bio_eval",
    "parse_finger_exception",
    "validate_finger_position",
]
