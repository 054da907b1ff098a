"""Refusals are made by altering real shared photos the way a bad capture would."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from eid.biometrics import BiometricEngine
from tests.biometrics.conftest import as_png, read_image

GOOD = "df00_deepface_img1.jpg"
OTHER = "df03_deepface_img24.jpg"


def codes(report: object) -> set[str]:
    return {issue.code for issue in report.issues}  # type: ignore[attr-defined]


def test_good_portrait_is_accepted(bio_data: Path, bio_engine: BiometricEngine) -> None:
    report = bio_engine.portrait_quality(as_png(read_image(bio_data, GOOD)))
    assert report.acceptable, report.issues
    assert report.issues == ()
    assert report.metrics["faces_detected"] == 1
    assert report.score > 50


def test_blurred_portrait_is_refused(bio_data: Path, bio_engine: BiometricEngine) -> None:
    blurred = cv2.GaussianBlur(read_image(bio_data, GOOD), (0, 0), 6)
    report = bio_engine.portrait_quality(as_png(blurred))
    assert not report.acceptable
    assert "BLURRED" in codes(report)
    assert any("keep still" in issue.message for issue in report.issues)


def test_dark_portrait_is_refused(bio_data: Path, bio_engine: BiometricEngine) -> None:
    dark = cv2.convertScaleAbs(read_image(bio_data, GOOD), alpha=0.2)
    report = bio_engine.portrait_quality(as_png(dark))
    assert not report.acceptable
    assert "TOO_DARK" in codes(report)


def test_over_exposed_portrait_is_refused(bio_data: Path, bio_engine: BiometricEngine) -> None:
    bright = cv2.convertScaleAbs(read_image(bio_data, GOOD), alpha=1.0, beta=150)
    report = bio_engine.portrait_quality(as_png(bright))
    assert "TOO_BRIGHT" in codes(report)


def test_two_faces_are_refused(bio_data: Path, bio_engine: BiometricEngine) -> None:
    left = read_image(bio_data, GOOD)
    right = read_image(bio_data, OTHER)
    right = cv2.resize(right, (right.shape[1] * left.shape[0] // right.shape[0], left.shape[0]))
    report = bio_engine.portrait_quality(as_png(cv2.hconcat([left, right])))
    assert not report.acceptable
    assert "MULTIPLE_FACES" in codes(report)
    assert report.metrics["faces_detected"] >= 2


def test_small_face_is_refused(bio_data: Path, bio_engine: BiometricEngine) -> None:
    image = read_image(bio_data, GOOD)
    small = cv2.resize(image, None, fx=0.35, fy=0.35, interpolation=cv2.INTER_AREA)
    report = bio_engine.portrait_quality(as_png(small))
    assert "FACE_TOO_SMALL" in codes(report)


def test_tilted_head_is_refused(bio_data: Path, bio_engine: BiometricEngine) -> None:
    image = read_image(bio_data, GOOD)
    height, width = image.shape[:2]
    rotation = cv2.getRotationMatrix2D((width / 2, height / 2), 20, 1.0)
    report = bio_engine.portrait_quality(as_png(cv2.warpAffine(image, rotation, (width, height))))
    assert "POSE_NOT_FRONTAL" in codes(report)
    assert abs(report.metrics["roll_degrees"]) > 8


def test_empty_scene_reports_no_face(bio_engine: BiometricEngine) -> None:
    report = bio_engine.portrait_quality(as_png(np.full((480, 640, 3), 10, np.uint8)))
    assert not report.acceptable
    assert codes(report) == {"NO_FACE", "TOO_DARK"}
    assert report.to_dict()["issues"][0]["code"] == "NO_FACE"
