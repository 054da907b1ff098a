"""A phone camera at a distance from a screen showing a QR, simulated: the code downscaled to
the camera's pixels a module, blurred a little, then decoded as tests/support.py `decode_qr`
does (OpenCV). Used by tests/wallet/test_oid4vp.py and benchmarks/oid4vp_qr.py.

Camera model: 1920 px across a 65° horizontal field of view (an ordinary phone's main camera in
QR mode). Screens: a CSS px is about 0.164 mm on a phone (390 CSS px across 6.4 cm) and 0.265 mm
on a desktop screen (96 dpi); the verifier page draws the code up to 420 CSS px wide (a counter's
screen) or the column's width on a phone (about 326 CSS px at 390)."""

from __future__ import annotations

import io
import math

import cv2
import numpy as np
import segno

from tests.support import decode_qr

CAMERA_PX, CAMERA_FOV = 1920, 65.0
SCREENS = {"phone": (0.164, 326), "desktop": (0.265, 420)}  # mm per CSS px, CSS px drawn


def camera_px_per_module(module_mm: float, cm: float) -> float:
    field_cm = 2 * cm * math.tan(math.radians(CAMERA_FOV / 2))
    return module_mm * CAMERA_PX / (field_cm * 10)


def simulated_read(url: str, px_per_module: float, blur: float = 0.6) -> bool:
    code = segno.make(url, error="m", micro=False, boost_error=False)
    buffer = io.BytesIO()
    code.save(buffer, kind="png", scale=10, border=4)
    image = cv2.imdecode(np.frombuffer(buffer.getvalue(), np.uint8), cv2.IMREAD_GRAYSCALE)
    small = cv2.resize(
        image, None, fx=px_per_module / 10, fy=px_per_module / 10, interpolation=cv2.INTER_AREA
    )
    small = cv2.GaussianBlur(small, (0, 0), blur)
    ok, png = cv2.imencode(".png", small)
    return bool(ok) and decode_qr(png.tobytes()) == url
