"""A presentation as a QR code, for checks without a network on the holder's side."""

from __future__ import annotations

import io

import segno


def presentation_qr_png(presentation: str, *, scale: int = 4) -> bytes:
    # Error level L: the payload is long and screens are clean; capacity matters more.
    code = segno.make(presentation, error="l", micro=False)
    buffer = io.BytesIO()
    code.save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()
