"""ISO/IEC 19794-2:2005 finger minutiae record: our own writer and reader.

Layout (big-endian), one finger view per record:
  record header, 24 bytes: "FMR\\0", " 20\\0", record length (4), capture equipment (2: 4-bit
  certification flag + 12-bit device id), image width (2), image height (2), x and y resolution in
  pixels per centimetre (2 + 2), number of finger views (1), reserved (1)
  finger view header, 4 bytes: finger position (1), view number (high 4 bits) + impression type
  (low 4 bits) (1), finger quality 0..100 (1), number of minutiae (1)
  each minutia, 6 bytes: type (2 bits: 01 ridge ending, 10 bifurcation, 00 other) + x (14 bits),
  reserved (2 bits) + y (14 bits), angle (1 byte, units of 360/256 degrees), quality (1, 1..100,
  0 = not reported)
  extended data block length (2) = 0
nbis-py can emit a record too, but its header is not conformant (wrong length, zero resolution),
which is why this module exists.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

from eid.core.errors import BiometricError

FORMAT_IDENTIFIER = b"FMR\x00"
VERSION = b" 20\x00"
PIXELS_PER_CM_AT_500_DPI = 197  # 500 / 2.54, rounded as the standard's annex does
MAX_MINUTIAE = 255  # the count is one byte
_COORDINATE_LIMIT = 1 << 14

_RECORD_HEADER = struct.Struct(">4s4sIHHHHHBB")
_VIEW_HEADER = struct.Struct(">BBBB")
_MINUTIA = struct.Struct(">HHBB")
_EXTENDED_LENGTH = struct.Struct(">H")


class MinutiaType(IntEnum):
    OTHER = 0
    RIDGE_ENDING = 1
    BIFURCATION = 2


class ImpressionType(IntEnum):
    LIVE_SCAN_PLAIN = 0
    LIVE_SCAN_ROLLED = 1
    NONLIVE_SCAN_PLAIN = 2
    NONLIVE_SCAN_ROLLED = 3
    SWIPE = 8


@dataclass(frozen=True)
class IsoMinutia:
    kind: MinutiaType
    x: int
    y: int
    angle: int  # 0..255, units of 1.40625 degrees, as stored
    quality: int  # 0..100

    @property
    def angle_degrees(self) -> float:
        return self.angle * 360.0 / 256.0


@dataclass(frozen=True)
class FingerView:
    position: int
    view_number: int
    impression_type: ImpressionType
    quality: int
    minutiae: tuple[IsoMinutia, ...]


@dataclass(frozen=True)
class FingerMinutiaeRecord:
    width: int
    height: int
    x_resolution: int
    y_resolution: int
    views: tuple[FingerView, ...]
    capture_equipment: int = 0


def angle_code(degrees: float) -> int:
    return round((degrees % 360.0) * 256.0 / 360.0) % 256


def _invalid(reason: str) -> BiometricError:
    return BiometricError(
        "Not a valid ISO/IEC 19794-2:2005 record: %(reason)s.",
        code="INVALID_TEMPLATE",
        params={"reason": reason},
    )


def _check_range(name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise ValueError(f"{name} {value} outside {low}..{high}")


def encode(record: FingerMinutiaeRecord) -> bytes:
    _check_range("views", len(record.views), 1, 255)
    _check_range("width", record.width, 0, 0xFFFF)
    _check_range("height", record.height, 0, 0xFFFF)
    body = bytearray()
    for view in record.views:
        _check_range("finger position", view.position, 0, 10)
        _check_range("view number", view.view_number, 0, 15)
        _check_range("finger quality", view.quality, 0, 100)
        _check_range("minutiae", len(view.minutiae), 0, MAX_MINUTIAE)
        body += _VIEW_HEADER.pack(
            view.position,
            (view.view_number << 4) | int(view.impression_type),
            view.quality,
            len(view.minutiae),
        )
        for minutia in view.minutiae:
            _check_range("x", minutia.x, 0, _COORDINATE_LIMIT - 1)
            _check_range("y", minutia.y, 0, _COORDINATE_LIMIT - 1)
            _check_range("angle", minutia.angle, 0, 255)
            _check_range("minutia quality", minutia.quality, 0, 100)
            body += _MINUTIA.pack(
                (int(minutia.kind) << 14) | minutia.x, minutia.y, minutia.angle, minutia.quality
            )
        body += _EXTENDED_LENGTH.pack(0)
    length = _RECORD_HEADER.size + len(body)
    header = _RECORD_HEADER.pack(
        FORMAT_IDENTIFIER,
        VERSION,
        length,
        record.capture_equipment,
        record.width,
        record.height,
        record.x_resolution,
        record.y_resolution,
        len(record.views),
        0,
    )
    return header + bytes(body)


def decode(data: bytes) -> FingerMinutiaeRecord:
    """Parse a record, refusing anything malformed (templates come from storage and the wire)."""
    if len(data) < _RECORD_HEADER.size:
        raise _invalid("too short")
    (magic, version, length, equipment, width, height, x_res, y_res, view_count, _reserved) = (
        _RECORD_HEADER.unpack_from(data)
    )
    if magic != FORMAT_IDENTIFIER or version != VERSION:
        raise _invalid("wrong format identifier or version")
    if length != len(data):
        raise _invalid(f"length field says {length} bytes, record has {len(data)}")
    if view_count == 0:
        raise _invalid("no finger view")
    offset = _RECORD_HEADER.size
    views = []
    for _ in range(view_count):
        if offset + _VIEW_HEADER.size > len(data):
            raise _invalid("truncated finger view")
        position, view_impression, quality, count = _VIEW_HEADER.unpack_from(data, offset)
        offset += _VIEW_HEADER.size
        if offset + count * _MINUTIA.size + _EXTENDED_LENGTH.size > len(data):
            raise _invalid("truncated minutiae")
        try:
            impression = ImpressionType(view_impression & 0x0F)
        except ValueError:
            raise _invalid("unknown impression type") from None
        minutiae = []
        for _ in range(count):
            type_x, reserved_y, angle, minutia_quality = _MINUTIA.unpack_from(data, offset)
            offset += _MINUTIA.size
            kind_bits = type_x >> 14
            if kind_bits == 3 or reserved_y >> 14:
                raise _invalid("bad minutia type or reserved bits")
            minutiae.append(
                IsoMinutia(
                    MinutiaType(kind_bits),
                    type_x & (_COORDINATE_LIMIT - 1),
                    reserved_y,
                    angle,
                    minutia_quality,
                )
            )
        (extended_length,) = _EXTENDED_LENGTH.unpack_from(data, offset)
        offset += _EXTENDED_LENGTH.size + extended_length
        if offset > len(data):
            raise _invalid("truncated extended data")
        if position > 10 or quality > 100:
            raise _invalid("finger position or quality out of range")
        views.append(
            FingerView(position, view_impression >> 4, impression, quality, tuple(minutiae))
        )
    if offset != len(data):
        raise _invalid("trailing bytes")
    return FingerMinutiaeRecord(width, height, x_res, y_res, tuple(views), equipment)
