from __future__ import annotations

import struct
from pathlib import Path

import pytest

from eid.biometrics import BiometricEngine
from eid.biometrics import iso19794_2 as iso
from eid.core.errors import BiometricError
from tests.biometrics.conftest import print_bytes


def small_record() -> iso.FingerMinutiaeRecord:
    minutiae = (
        iso.IsoMinutia(iso.MinutiaType.RIDGE_ENDING, 10, 321, 48, 5),
        iso.IsoMinutia(iso.MinutiaType.BIFURCATION, 16383, 7, 255, 100),
    )
    view = iso.FingerView(3, 0, iso.ImpressionType.LIVE_SCAN_PLAIN, 61, minutiae)
    return iso.FingerMinutiaeRecord(248, 338, 197, 197, (view,))


def test_layout_matches_the_standard_byte_for_byte() -> None:
    data = iso.encode(small_record())
    expected = (
        b"FMR\x00"
        + b" 20\x00"
        + struct.pack(">I", 24 + 4 + 2 * 6 + 2)
        + bytes.fromhex("000000f8015200c500c50100")  # equipment..reserved
        + bytes([3, 0x00, 61, 2])  # position, view/impression, quality, count
        + bytes.fromhex("400a01413005")  # ridge ending: type 01 + x, y, angle, quality
        + bytes.fromhex("bfff0007ff64")  # bifurcation: type 10 + x=16383
        + b"\x00\x00"  # no extended data
    )
    assert data == expected


def test_real_template_round_trips_byte_exactly(
    bio_data: Path, bio_engine: BiometricEngine
) -> None:
    template = bio_engine.fingerprint_template(print_bytes(bio_data, "pyfnprint_012_3.png"), 4)
    record = iso.decode(template)
    assert iso.encode(record) == template
    assert record.views[0].position == 4
    assert struct.unpack(">I", template[8:12])[0] == len(template)


def test_angle_units_are_360_over_256() -> None:
    assert iso.angle_code(67.5) == 48
    assert iso.angle_code(360.0) == 0
    assert iso.angle_code(-1.40625) == 255
    assert iso.IsoMinutia(iso.MinutiaType.OTHER, 0, 0, 64, 0).angle_degrees == 90.0


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d[:20],  # truncated header
        lambda d: d[:-1],  # length field no longer matches
        lambda d: b"FIR\x00" + d[4:],  # a face/finger image record, not minutiae
        lambda d: d[:28] + bytes([0xC0]) + d[29:],  # minutia type 11 does not exist
        lambda d: d + b"\x00",  # trailing bytes
    ],
)
def test_malformed_records_are_refused(damage: object) -> None:
    data = iso.encode(small_record())
    with pytest.raises(BiometricError) as raised:
        iso.decode(damage(data))  # type: ignore[operator]
    assert raised.value.code == "INVALID_TEMPLATE"


def test_writer_refuses_out_of_range_fields() -> None:
    bad = iso.FingerView(
        2,
        0,
        iso.ImpressionType.LIVE_SCAN_PLAIN,
        50,
        (iso.IsoMinutia(iso.MinutiaType.RIDGE_ENDING, 16384, 0, 0, 0),),
    )
    with pytest.raises(ValueError, match="x 16384"):
        iso.encode(iso.FingerMinutiaeRecord(10, 10, 197, 197, (bad,)))
