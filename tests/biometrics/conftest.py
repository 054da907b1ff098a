"""Fixtures for the biometric tests: the shared real images (the engine, `bio_engine`, is the
session's: tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


@pytest.fixture(scope="session")
def bio_data() -> Path:
    if not (SHARED_DATA / "faces" / "labels.csv").is_file():
        pytest.skip(f"shared biometric test data not found at {SHARED_DATA}")
    return SHARED_DATA


def face_bytes(data: Path, name: str) -> bytes:
    return (data / "faces" / name).read_bytes()


def print_bytes(data: Path, name: str) -> bytes:
    return (data / "fingerprints" / name).read_bytes()


def as_png(image: npt.NDArray[np.uint8]) -> bytes:
    ok, encoded = cv2.imencode(".png", image)
    assert ok
    return encoded.tobytes()


def read_image(data: Path, name: str) -> npt.NDArray[np.uint8]:
    image = cv2.imread(str(data / "faces" / name), cv2.IMREAD_COLOR)
    assert image is not None
    return np.asarray(image, dtype=np.uint8)
