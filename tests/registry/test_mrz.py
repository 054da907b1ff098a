from __future__ import annotations

import datetime as dt

import pytest

from eid.registry.mrz import MrzError, check_digit, parse_td3, td3


def test_icao_specimen_check_digits() -> None:
    # ICAO Doc 9303 part 4 specimen: L898902C3, 740812, 120415.
    assert check_digit("L898902C3") == "6"
    assert check_digit("740812") == "2"
    assert check_digit("120415") == "9"


def test_generated_mrz_round_trips_and_detects_tampering() -> None:
    l1, l2 = td3(
        doc_type="P",
        issuing_state="KOR",
        full_name="KIM MIN JUN",
        number="M12345678",
        nationality="KOR",
        date_of_birth=dt.date(1990, 1, 31),
        sex="M",
        expiry_date=dt.date(2031, 4, 30),
    )
    assert len(l1) == len(l2) == 44
    fields = parse_td3(l1, l2)
    assert fields["number"] == "M12345678" and fields["date_of_birth"] == "900131"
    tampered = l2[:13] + "900132" + l2[19:]
    with pytest.raises(MrzError) as err:
        parse_td3(l1, tampered)
    assert err.value.field == "date_of_birth"
