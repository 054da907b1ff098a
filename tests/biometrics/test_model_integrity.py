from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from eid.biometrics import BiometricEngine, ModelIntegrityError, face
from tests.biometrics.conftest import face_bytes


def test_tampered_digest_refuses_to_load(bio_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(face.MODEL_SHA256, face.RECOGNIZER_FILE, "0" * 64)
    engine = BiometricEngine()
    with pytest.raises(ModelIntegrityError) as raised:
        engine.face_template(face_bytes(bio_data, "df00_deepface_img1.jpg"))
    assert raised.value.code == "MODEL_INTEGRITY"
    assert raised.value.details["file"] == face.RECOGNIZER_FILE
    assert "SHA-256" in raised.value.message


def test_altered_model_file_refuses_to_load(tmp_path: Path) -> None:
    source = face.models_dir()
    for name in (face.DETECTOR_FILE, face.RECOGNIZER_FILE):
        shutil.copy(source / name, tmp_path / name)
    with (tmp_path / face.DETECTOR_FILE).open("ab") as handle:
        handle.write(b"\x00")
    with pytest.raises(ModelIntegrityError):
        BiometricEngine(models_dir=tmp_path).load_models()


def test_missing_model_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ModelIntegrityError) as raised:
        BiometricEngine(models_dir=tmp_path).load_models()
    assert raised.value.code == "MODEL_MISSING"


def test_shipped_models_pass_the_check() -> None:
    BiometricEngine().load_models()
