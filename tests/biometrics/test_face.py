from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from eid.biometrics import BiometricEngine
from eid.biometrics.face import parse_face_template
from eid.core.errors import BiometricError
from tests.biometrics.conftest import as_png, face_bytes

SAME_PERSON = ("df00_deepface_img1.jpg", "df00_deepface_img2.jpg")
OTHER_PERSON = "fr_obama_facerec_obama.jpg"


def test_same_person_is_accepted(bio_data: Path, bio_engine: BiometricEngine) -> None:
    first, second = (bio_engine.face_template(face_bytes(bio_data, n)) for n in SAME_PERSON)
    result = bio_engine.compare_faces(first, second)
    assert result.modality == "face"
    assert result.is_match
    assert result.score >= result.threshold == pytest.approx(0.363)


def test_different_person_is_refused(bio_data: Path, bio_engine: BiometricEngine) -> None:
    mine = bio_engine.face_template(face_bytes(bio_data, SAME_PERSON[0]))
    other = bio_engine.face_template(face_bytes(bio_data, OTHER_PERSON))
    result = bio_engine.compare_faces(mine, other)
    assert not result.is_match
    assert result.score < result.threshold
    assert result.to_dict()["is_match"] is False


def test_template_is_a_unit_vector_and_stable(bio_data: Path, bio_engine: BiometricEngine) -> None:
    image = face_bytes(bio_data, SAME_PERSON[0])
    template = bio_engine.face_template(image)
    vector = parse_face_template(template)
    assert vector.shape == (128,)
    assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)
    assert bio_engine.face_template(image) == template


def test_image_without_face_is_refused(bio_engine: BiometricEngine) -> None:
    wall = np.full((480, 640, 3), 180, np.uint8)
    with pytest.raises(BiometricError) as raised:
        bio_engine.face_template(as_png(wall))
    assert raised.value.code == "NO_FACE"


def test_garbage_bytes_are_unreadable(bio_engine: BiometricEngine) -> None:
    with pytest.raises(BiometricError) as raised:
        bio_engine.portrait_quality(b"not an image at all")
    assert raised.value.code == "UNREADABLE_IMAGE"


def test_corrupted_template_is_refused(bio_data: Path, bio_engine: BiometricEngine) -> None:
    template = bytearray(bio_engine.face_template(face_bytes(bio_data, SAME_PERSON[0])))
    template[-1] ^= 0xFF
    with pytest.raises(BiometricError) as raised:
        bio_engine.compare_faces(bytes(template), bytes(template[:-4]))
    assert raised.value.code == "INVALID_TEMPLATE"


def test_unknown_target_fmr_needs_a_measured_threshold() -> None:
    with pytest.raises(ValueError, match="No face threshold"):
        BiometricEngine(face_target_fmr=1e-6)
    assert BiometricEngine(face_target_fmr=1e-6, face_threshold=0.5).face_threshold == 0.5
