"""Fingerprints through nbis-py: NIST mindtct (minutiae), bozorth3 (matching), NFIQ 2 (quality).

Templates are ISO/IEC 19794-2:2005 records written and read by `iso19794_2`. bozorth3 only takes
nbis `Minutiae` objects, which nbis builds from its own 26-byte-header variant of the record, so a
comparison parses our record, checks it, and rewrites the view in that variant (`matcher_input`).
"""

from __future__ import annotations

import struct
import threading
from dataclasses import dataclass

import cv2
import nbis

from eid.biometrics import iso19794_2 as iso
from eid.biometrics.face import decode_image
from eid.biometrics.models import QualityIssue, QualityReport, validate_finger_position
from eid.core.errors import BiometricError

# NFIQ 2 guidance treats scores below about 30 as poor; at 30 a retake is cheaper than a record
# that will not match later.
MIN_NFIQ2 = 30
# Below this a print carries too little structure for bozorth3 to separate fingers reliably
# (NIST's own matchers expect a few dozen); such a capture is a failure to enrol, not a template.
MIN_MINUTIAE = 12
ASSUMED_PPI = 500  # mindtct and NFIQ 2 are calibrated for 500 ppi scanners
# NFIQ 2 alone scores random noise 34 and a face photo 32, above the quality gate. Its mean local
# clarity feature (LCS_Bin10_Mean) separates them: every shared print is at 0.59 or more, noise,
# a face and text at 0.2 or less. 0.35 sits between the two groups.
MIN_LOCAL_CLARITY = 0.35
_LOCAL_CLARITY_FEATURE = "LCS_Bin10_Mean"

LOW_FINGERPRINT_QUALITY = QualityIssue(
    "LOW_FINGERPRINT_QUALITY",
    "The fingerprint is not clear enough. Clean the scanner and the finger, place the finger flat "
    "with light pressure and capture again.",
)
NO_FINGERPRINT = QualityIssue(
    "NO_FINGERPRINT",
    "No fingerprint ridges were found in the image. Ask the applicant to place the finger on the "
    "scanner and capture again.",
)
TOO_FEW_MINUTIAE = QualityIssue(
    "TOO_FEW_MINUTIAE",
    "Too little of the fingerprint was captured. Ask the applicant to press the centre of the "
    "finger on the scanner and capture again.",
)

_NBIS_HEADER = struct.Struct(">8sIHHHBBB4sB")


@dataclass(frozen=True)
class FingerCapture:
    """What one pass of mindtct + NFIQ 2 yields for a print."""

    width: int
    height: int
    nfiq2: int
    local_clarity: float  # 0 when NFIQ 2 could not run
    minutiae: tuple[iso.IsoMinutia, ...]


class FingerprintToolkit:
    """The nbis extractor, created on first use. Creation and calls are serialised because the
    NIST C code underneath keeps global state."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._extractors: dict[bool, nbis.NbisExtractor] = {}

    def _get(self, with_nfiq2: bool = True) -> nbis.NbisExtractor:
        extractor = self._extractors.get(with_nfiq2)
        if extractor is None:
            settings = nbis.NbisExtractorSettings(
                min_quality=0.0,
                get_center=False,
                check_fingerprint=False,
                compute_nfiq2=with_nfiq2,
                ppi=float(ASSUMED_PPI),
            )
            extractor = self._extractors[with_nfiq2] = nbis.new_nbis_extractor(settings)
        return extractor

    def capture(self, image: bytes) -> FingerCapture:
        grey = decode_image(image, grayscale=True)
        # Re-encode as 8-bit grey PNG so nbis sees one format whatever the scanner produced.
        ok, png = cv2.imencode(".png", grey)
        if not ok:
            raise BiometricError(
                "The fingerprint image could not be read.", code="UNREADABLE_IMAGE"
            )
        with self._lock:
            try:
                try:
                    found = self._get().extract_minutiae(png.tobytes())
                    quality = found.quality()
                    nfiq2 = int(quality.score)
                    features = {value.name: float(value.value) for value in quality.features}
                    clarity = features.get(_LOCAL_CLARITY_FEATURE, 0.0)
                except nbis.NbisError.Nfiq2ComputeFailed:
                    # NFIQ 2 gives up on prints with almost no ridge structure: that is the
                    # worst quality, not an unreadable file, so report 0 and keep the minutiae.
                    found = self._get(with_nfiq2=False).extract_minutiae(png.tobytes())
                    nfiq2, clarity = 0, 0.0
                minutiae = tuple(_to_iso(m) for m in found.get())
            except nbis.NbisError as exc:
                raise BiometricError(
                    "No fingerprint could be read from the image; capture it again.",
                    code="UNREADABLE_IMAGE",
                ) from exc
        height, width = grey.shape[:2]
        return FingerCapture(width, height, nfiq2, clarity, minutiae)

    def bozorth3(
        self,
        probe: iso.FingerView,
        probe_size: tuple[int, int],
        reference: iso.FingerView,
        reference_size: tuple[int, int],
    ) -> int:
        with self._lock:
            extractor = self._get()
            try:
                left = extractor.load_iso_19794_2_2005(matcher_input(probe, *probe_size))
                right = extractor.load_iso_19794_2_2005(matcher_input(reference, *reference_size))
                return int(left.compare(right))
            except nbis.NbisError as exc:
                raise BiometricError(
                    "The fingerprint template could not be matched.", code="INVALID_TEMPLATE"
                ) from exc


def _to_iso(minutia: nbis.Minutia) -> iso.IsoMinutia:
    kind = (
        iso.MinutiaType.BIFURCATION
        if minutia.kind() == nbis.MinutiaKind.BIFURCATION
        else iso.MinutiaType.RIDGE_ENDING
    )
    # nbis reports angles already in the ISO convention (degrees anticlockwise from east).
    quality = max(1, min(100, round(minutia.reliability() * 100)))
    return iso.IsoMinutia(kind, minutia.x(), minutia.y(), iso.angle_code(minutia.angle()), quality)


def assess_fingerprint(capture: FingerCapture, position: int) -> QualityReport:
    issues: list[QualityIssue] = []
    if capture.local_clarity < MIN_LOCAL_CLARITY:
        issues.append(NO_FINGERPRINT)
    if capture.nfiq2 < MIN_NFIQ2:
        issues.append(LOW_FINGERPRINT_QUALITY)
    if len(capture.minutiae) < MIN_MINUTIAE:
        issues.append(TOO_FEW_MINUTIAE)
    metrics = {
        "nfiq2": float(capture.nfiq2),
        "minutiae": float(len(capture.minutiae)),
        "local_clarity": capture.local_clarity,
        "position": float(position),
    }
    return QualityReport(not issues, float(capture.nfiq2), tuple(issues), metrics)


def build_template(capture: FingerCapture, position: int) -> bytes:
    validate_finger_position(position)
    if capture.local_clarity < MIN_LOCAL_CLARITY:
        # "Minutiae" found in noise or a photo would make a template that matches nothing real.
        raise BiometricError(NO_FINGERPRINT.message, code=NO_FINGERPRINT.code)
    if len(capture.minutiae) < MIN_MINUTIAE:
        raise BiometricError(
            TOO_FEW_MINUTIAE.message,
            code=TOO_FEW_MINUTIAE.code,
            details={"minutiae": len(capture.minutiae)},
        )
    # The count field is one byte: keep the most reliable minutiae, in extraction order.
    kept = capture.minutiae
    if len(kept) > iso.MAX_MINUTIAE:
        best = sorted(range(len(kept)), key=lambda i: kept[i].quality, reverse=True)
        chosen = sorted(best[: iso.MAX_MINUTIAE])
        kept = tuple(kept[i] for i in chosen)
    view = iso.FingerView(
        position=position,
        view_number=0,
        impression_type=iso.ImpressionType.LIVE_SCAN_PLAIN,
        quality=max(0, min(100, capture.nfiq2)),
        minutiae=kept,
    )
    resolution = iso.PIXELS_PER_CM_AT_500_DPI
    return iso.encode(
        iso.FingerMinutiaeRecord(capture.width, capture.height, resolution, resolution, (view,))
    )


def read_template(template: bytes) -> tuple[iso.FingerView, tuple[int, int]]:
    record = iso.decode(template)
    if len(record.views) != 1:
        raise BiometricError(
            "A fingerprint template must hold exactly one finger view.", code="INVALID_TEMPLATE"
        )
    return record.views[0], (record.width, record.height)


def matcher_input(view: iso.FingerView, width: int, height: int) -> bytes:
    """The view in the record variant nbis's loader reads (count at byte 25, minutiae from 26)."""
    body = b"".join(
        struct.pack(">HHBB", (int(m.kind) << 14) | m.x, m.y, m.angle, m.quality)
        for m in view.minutiae
    )
    length = _NBIS_HEADER.size + len(body)
    header = _NBIS_HEADER.pack(
        iso.FORMAT_IDENTIFIER + iso.VERSION,
        length,
        0,
        width,
        height,
        view.position,
        (view.view_number << 4) | int(view.impression_type),
        view.quality,
        b"\x00" * 4,
        len(view.minutiae),
    )
    return header + body
