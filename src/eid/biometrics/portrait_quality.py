"""Is this capture fit to be the portrait on an identity record? Reasons an officer can act on.

Limits and where they come from:
- one face: a second face at least half as wide as the main one means someone else is in frame;
  smaller detections are background (posters, passers-by far behind) and are only reported as a
  metric.
- size: ISO/IEC 19794-5 asks for at least 60 pixels between the eye centres (ICAO 9303 prefers 90+).
- pose: ISO/IEC 19794-5 allows about 8 degrees of roll; yaw cannot be measured precisely from
  five landmarks, so we flag a nose that sits more than 20% of the eye distance off the eyes'
  midline, which is a clearly turned head (roughly 15-20 degrees), not a 5-degree one.
- light: mean grey level of the aligned face crop outside 50..210 (of 255).
- blur: variance of the Laplacian on the 112x112 aligned crop, the image the recogniser sees (so
  large and small faces are judged alike, and a slight blur on a large face, which the recogniser
  never notices, is not refused). The softest sharp photo of the shared set scores 188, the median
  about 1300; a Gaussian blur of sigma 6 px brings every shared photo below 40. The limit of 100 is
  about half the softest sharp photo: it refuses clearly soft captures and was set from that
  observation, not fitted to a target.
"""

from __future__ import annotations

import math

import cv2

from eid.biometrics.face import DetectedFace, FaceModels, Image
from eid.biometrics.models import QualityIssue, QualityReport
from eid.core.errors import BiometricError

MIN_INTEROCULAR_PX = 60.0
SECOND_FACE_MIN_RELATIVE_WIDTH = 0.5
MAX_ROLL_DEGREES = 8.0
MAX_NOSE_OFFSET_RATIO = 0.20
MIN_FACE_BRIGHTNESS = 50.0
MAX_FACE_BRIGHTNESS = 210.0
MIN_SHARPNESS = 100.0

NO_FACE = QualityIssue(
    "NO_FACE", "No face was found. Ask the applicant to face the camera and capture again."
)
MULTIPLE_FACES = QualityIssue(
    "MULTIPLE_FACES",
    "More than one face is in the picture. Make sure only the applicant is in frame and capture "
    "again.",
)
FACE_TOO_SMALL = QualityIssue(
    "FACE_TOO_SMALL",
    "The face is too small. Ask the applicant to come closer to the camera and capture again.",
)
POSE_NOT_FRONTAL = QualityIssue(
    "POSE_NOT_FRONTAL",
    "The head is tilted or turned. Ask the applicant to look straight at the camera with the head "
    "level and capture again.",
)
TOO_DARK = QualityIssue(
    "TOO_DARK",
    "The face is too dark. Turn on more light in front of the applicant and capture again.",
)
TOO_BRIGHT = QualityIssue(
    "TOO_BRIGHT",
    "The face is over-exposed. Reduce the light or move away from the window and capture again.",
)
BLURRED = QualityIssue(
    "BLURRED",
    "The picture is blurred. Ask the applicant to keep still, check focus and capture again.",
)


def pose_metrics(face: DetectedFace) -> tuple[float, float]:
    """(roll in degrees, nose offset from the eyes' midline as a fraction of eye distance)."""
    dx = face.left_eye[0] - face.right_eye[0]
    dy = face.left_eye[1] - face.right_eye[1]
    roll = math.degrees(math.atan2(dy, dx))
    distance = math.hypot(dx, dy) or 1.0
    mid_x = (face.left_eye[0] + face.right_eye[0]) / 2
    mid_y = (face.left_eye[1] + face.right_eye[1]) / 2
    # Offset measured along the eye line, so a rolled but frontal head does not read as turned.
    offset = ((face.nose[0] - mid_x) * dx + (face.nose[1] - mid_y) * dy) / distance
    return roll, offset / distance


def brightness_issue(mean_grey: float) -> QualityIssue | None:
    if mean_grey < MIN_FACE_BRIGHTNESS:
        return TOO_DARK
    if mean_grey > MAX_FACE_BRIGHTNESS:
        return TOO_BRIGHT
    return None


def assess_portrait(models: FaceModels, image: Image) -> QualityReport:
    faces = models.detect(image)
    grey_image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    metrics: dict[str, float] = {
        "faces_detected": float(len(faces)),
        "image_brightness": float(grey_image.mean()),
    }
    if not faces:
        # A face lost in the dark is better explained by the light than by "no face".
        dark_or_bright = brightness_issue(metrics["image_brightness"])
        reasons = (NO_FACE,) if dark_or_bright is None else (NO_FACE, dark_or_bright)
        return QualityReport(False, 0.0, reasons, metrics)

    main = faces[0]
    issues: list[QualityIssue] = []
    others = [f for f in faces[1:] if f.width >= SECOND_FACE_MIN_RELATIVE_WIDTH * main.width]
    if others:
        issues.append(MULTIPLE_FACES)

    roll, nose_offset = pose_metrics(main)
    crop = models.aligned_crop(image, main)
    grey_face = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    metrics.update(
        {
            "face_confidence": main.confidence,
            "face_width_px": main.width,
            "interocular_px": main.interocular_distance,
            "roll_degrees": roll,
            "nose_offset_ratio": nose_offset,
            "face_brightness": float(grey_face.mean()),
            "sharpness": float(cv2.Laplacian(grey_face, cv2.CV_64F).var()),
        }
    )
    if main.interocular_distance < MIN_INTEROCULAR_PX:
        issues.append(FACE_TOO_SMALL)
    if abs(roll) > MAX_ROLL_DEGREES or abs(nose_offset) > MAX_NOSE_OFFSET_RATIO:
        issues.append(POSE_NOT_FRONTAL)
    light = brightness_issue(metrics["face_brightness"])
    if light is not None:
        issues.append(light)
    if metrics["sharpness"] < MIN_SHARPNESS:
        issues.append(BLURRED)

    # Display score only: detector confidence, halved for each problem found.
    score = round(100.0 * main.confidence * 0.5 ** len(issues), 1)
    return QualityReport(not issues, score, tuple(issues), metrics)


def dominant_face(models: FaceModels, image: Image) -> DetectedFace:
    faces = models.detect(image)
    if not faces:
        raise BiometricError(NO_FACE.message, code=NO_FACE.code)
    return faces[0]
