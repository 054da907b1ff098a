from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from eid.biometrics import BiometricEngine, fingerprint_positions
from eid.biometrics import iso19794_2 as iso
from eid.core.errors import BiometricError
from tests.biometrics.conftest import as_png, print_bytes

FIRST, SAME_FINGER, OTHER_FINGER = (
    "pyfnprint_010_1.png",
    "pyfnprint_010_2.png",
    "pyfnprint_011_1.png",
)
RIGHT_INDEX = 2


def test_same_finger_is_accepted(bio_data: Path, bio_engine: BiometricEngine) -> None:
    probe = bio_engine.fingerprint_template(print_bytes(bio_data, SAME_FINGER), RIGHT_INDEX)
    reference = bio_engine.fingerprint_template(print_bytes(bio_data, FIRST), RIGHT_INDEX)
    result = bio_engine.compare_fingerprints(probe, reference)
    assert result.modality == "fingerprint"
    assert result.is_match
    assert result.score >= 40 == result.threshold


def test_different_finger_is_refused(bio_data: Path, bio_engine: BiometricEngine) -> None:
    probe = bio_engine.fingerprint_template(print_bytes(bio_data, OTHER_FINGER), RIGHT_INDEX)
    reference = bio_engine.fingerprint_template(print_bytes(bio_data, FIRST), RIGHT_INDEX)
    result = bio_engine.compare_fingerprints(probe, reference)
    assert not result.is_match
    assert result.score < result.threshold


def test_template_is_an_iso_record_for_the_given_finger(
    bio_data: Path, bio_engine: BiometricEngine
) -> None:
    template = bio_engine.fingerprint_template(print_bytes(bio_data, FIRST), 7)
    record = iso.decode(template)
    assert template[:8] == b"FMR\x00 20\x00"
    assert (record.x_resolution, record.y_resolution) == (197, 197)
    assert (record.width, record.height) == (248, 338)  # the PNG's own size
    view = record.views[0]
    assert fingerprint_positions[view.position] == "left index"
    assert len(view.minutiae) >= 12
    assert all(
        m.kind in (iso.MinutiaType.RIDGE_ENDING, iso.MinutiaType.BIFURCATION) for m in view.minutiae
    )


def test_good_print_passes_the_nfiq2_gate(bio_data: Path, bio_engine: BiometricEngine) -> None:
    report = bio_engine.fingerprint_quality(print_bytes(bio_data, FIRST), RIGHT_INDEX)
    assert report.acceptable
    assert report.metrics["nfiq2"] >= 30


def test_smudged_print_is_sent_back(bio_data: Path, bio_engine: BiometricEngine) -> None:
    image = cv2.imread(str(bio_data / "fingerprints" / FIRST), cv2.IMREAD_GRAYSCALE)
    smudged = cv2.GaussianBlur(np.asarray(image, np.uint8), (0, 0), 4)
    report = bio_engine.fingerprint_quality(as_png(smudged), RIGHT_INDEX)
    assert not report.acceptable
    assert "LOW_FINGERPRINT_QUALITY" in {issue.code for issue in report.issues}
    assert "capture again" in report.issues[0].message


@pytest.mark.parametrize("position", [0, 11, -1, True, "2"])
def test_invalid_finger_position_is_refused(
    bio_data: Path, bio_engine: BiometricEngine, position: object
) -> None:
    image = print_bytes(bio_data, FIRST)
    for call in (bio_engine.fingerprint_template, bio_engine.fingerprint_quality):
        with pytest.raises(BiometricError) as raised:
            call(image, position)  # type: ignore[arg-type]
        assert raised.value.code == "INVALID_FINGER_POSITION"


def test_unreadable_print_is_refused(bio_engine: BiometricEngine) -> None:
    with pytest.raises(BiometricError) as raised:
        bio_engine.fingerprint_template(b"\x89PNG broken", RIGHT_INDEX)
    assert raised.value.code == "UNREADABLE_IMAGE"


def test_positions_and_exceptions_are_enumerated() -> None:
    from eid.biometrics import FingerException, parse_finger_exception

    assert fingerprint_positions[1] == "right thumb"
    assert fingerprint_positions[10] == "left little"
    assert sorted(fingerprint_positions) == list(range(1, 11))
    assert parse_finger_exception("injured") is FingerException.INJURED
    with pytest.raises(BiometricError) as raised:
        parse_finger_exception("LAZY")
    assert raised.value.code == "INVALID_FINGER_EXCEPTION"


def test_noise_and_photos_are_not_fingerprints(bio_data: Path, bio_engine: BiometricEngine) -> None:
    # NFIQ 2 alone scores both above its gate of 30; the clarity check must catch them.
    noise = np.random.default_rng(0).integers(0, 255, (400, 300)).astype(np.uint8)
    face = cv2.imread(str(bio_data / "faces" / "df00_deepface_img1.jpg"), cv2.IMREAD_GRAYSCALE)
    for image in (noise, np.asarray(face, np.uint8)):
        report = bio_engine.fingerprint_quality(as_png(image), RIGHT_INDEX)
        assert not report.acceptable
        assert "NO_FINGERPRINT" in {issue.code for issue in report.issues}
        with pytest.raises(BiometricError) as raised:
            bio_engine.fingerprint_template(as_png(image), RIGHT_INDEX)
        assert raised.value.code == "NO_FINGERPRINT"
