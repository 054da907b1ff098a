"""QR codes: a presentation for checks without a network on the holder's side, and the card's
QR, which carries only a short link so an ordinary phone camera reads it.

Density is what decides whether a camera reads a code: a full SD-JWT presentation (about 1.5 KB)
needs a version-30-odd symbol of well over a hundred modules a side, a fraction of a millimetre
each at card size; a link of about 50 bytes fits version 4 at error correction M. Measured by
`benchmarks/qr_density.py` (`density`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import segno

from eid.core.errors import ValidationFailed

QUIET_ZONE = 4  # modules of white around the symbol (ISO/IEC 18004)
CARD_WIDTH_MM = 60.0  # the code as printed or shown on the card: 6 cm wide, quiet zone included
READABLE_MM = 0.5  # an ordinary phone camera reads a module this size or larger comfortably
CARD_ERROR = "m"  # 15 % recovery: a scratched print or a glare on a screen still reads
CARD_MAX_VERSION = 10


@dataclass(frozen=True)
class QrDensity:
    version: int
    error: str
    modules: int  # per side, the symbol alone
    mm_per_module: float  # at CARD_WIDTH_MM, quiet zone included
    payload_bytes: int

    @property
    def readable(self) -> bool:
        return self.mm_per_module >= READABLE_MM


def _make(payload: str, error: str) -> segno.QRCode:
    # boost_error off: the error level stays the one asked for, so measurements compare.
    return segno.make(payload, error=error, micro=False, boost_error=False)


def density(payload: str, *, error: str) -> QrDensity:
    code = _make(payload, error)
    modules = int(code.symbol_size(scale=1, border=0)[0])
    return QrDensity(
        version=int(code.version),
        error=str(code.error).lower(),
        modules=modules,
        mm_per_module=round(CARD_WIDTH_MM / (modules + 2 * QUIET_ZONE), 3),
        payload_bytes=len(payload.encode()),
    )


def presentation_qr_png(presentation: str, *, scale: int = 4) -> bytes:
    """Error level L: the payload is long and screens are clean; capacity matters more. A QR
    holds at most 2953 bytes (version 40-L): a presentation with its `x5c` certificate and more
    than a claim or two does not fit (`PRESENTATION_TOO_LARGE`); the card's QR link does."""
    try:
        code = segno.make(presentation, error="l", micro=False)
    except segno.DataOverflowError:
        raise ValidationFailed(
            "the presentation is too large for a QR code: disclose fewer claims",
            code="PRESENTATION_TOO_LARGE",
            details={"bytes": len(presentation.encode())},
        ) from None
    buffer = io.BytesIO()
    code.save(buffer, kind="png", scale=scale, border=QUIET_ZONE)
    return buffer.getvalue()


def card_link_qr(url: str) -> segno.QRCode:
    return _make(url, CARD_ERROR)


def card_link_svg(url: str) -> str:
    """Scalable, so the page sizes it (6 cm or a phone screen's width); no inline style."""
    code = card_link_qr(url)
    side = int(code.symbol_size(scale=1, border=QUIET_ZONE)[0])
    buffer = io.BytesIO()
    code.save(
        buffer,
        kind="svg",
        scale=CARD_WIDTH_MM / side,  # 6 cm wide as printed; a page may scale it down
        unit="mm",
        border=QUIET_ZONE,
        light="#fff",  # drawn, not transparent: a dark page must not swallow the quiet zone
        xmldecl=False,
        svgclass="qr",
    )
    return buffer.getvalue().decode()


def card_link_png(url: str, *, scale: int = 8) -> bytes:
    buffer = io.BytesIO()
    card_link_qr(url).save(buffer, kind="png", scale=scale, border=QUIET_ZONE)
    return buffer.getvalue()
