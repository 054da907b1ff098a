from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from eid.core.errors import ValidationFailed
from eid.enrolment.rules import check_tk01
from eid.enrolment.schemas import TK01
from eid.registry.mrz import td3

TODAY = dt.date(2026, 11, 23)


def form(**changes: Any) -> TK01:
    base: dict[str, Any] = {
        "full_name": "Kim  Min jun",
        "date_of_birth": "1990-01-31",
        "sex": "M",
        "nationality": "KOR",
        "passport": {
            "number": "m12345678",
            "type": "P",
            "issuing_state": "KOR",
            "issue_date": "2021-05-01",
            "expiry_date": "2031-04-30",
        },
        "residence_card": {"number": "TT1234567", "kind": "TRC", "expiry_date": "2027-12-31"},
        "address": "12 Trang Tien, Ha Noi",
        "phone": "+84 912 345 678",
        "language": "vi",
    }
    base.update(changes)
    return TK01.model_validate(base)


def code_of(f: TK01) -> str:
    with pytest.raises(ValidationFailed) as err:
        check_tk01(f, TODAY)
    return err.value.code


def test_a_valid_form_is_normalised() -> None:
    out = check_tk01(form(), TODAY)
    assert out.full_name == "KIM MIN JUN"
    assert out.phone == "+84912345678"
    assert out.passport.number == "M12345678"


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"date_of_birth": "2021-01-01"}, "AGE_BELOW_MINIMUM"),
        ({"date_of_birth": "2015-01-01"}, "GUARDIAN_REQUIRED"),
        (
            {"residence_card": {"number": "TT1", "kind": "TRC", "expiry_date": "2026-11-22"}},
            "RESIDENCE_CARD_EXPIRED",
        ),
        ({"phone": "+84 24 3825 1234"}, "PHONE_NOT_MOBILE"),
        ({"phone": "12345"}, "PHONE_INVALID"),
        ({"phone": "+1 202 555 01"}, "PHONE_INVALID"),
        ({"email": "not-an-address"}, "EMAIL_INVALID"),
    ],
)
def test_rules_refuse_with_stable_codes(changes: dict[str, Any], code: str) -> None:
    if "residence_card" in changes:
        changes["residence_card"]["number"] = "TT1234567"
    assert code_of(form(**changes)) == code


def test_expired_passport_is_refused_on_the_day_after_expiry() -> None:
    passport = {
        "number": "M12345678",
        "type": "P",
        "issuing_state": "KOR",
        "issue_date": "2016-11-23",
        "expiry_date": "2026-11-22",
    }
    assert code_of(form(passport=passport)) == "PASSPORT_EXPIRED"
    still_valid = passport | {"expiry_date": "2026-11-23"}
    check_tk01(form(passport=still_valid), TODAY)


def test_mrz_check_digits_and_agreement_with_the_form() -> None:
    lines = td3(
        doc_type="P",
        issuing_state="KOR",
        full_name="KIM MIN JUN",
        number="M12345678",
        nationality="KOR",
        date_of_birth=dt.date(1990, 1, 31),
        sex="M",
        expiry_date=dt.date(2031, 4, 30),
    )
    passport = {
        "number": "M12345678",
        "type": "P",
        "issuing_state": "KOR",
        "issue_date": "2021-05-01",
        "expiry_date": "2031-04-30",
        "mrz": list(lines),
    }
    check_tk01(form(passport=passport), TODAY)
    broken = [lines[0], lines[1][:9] + "0" + lines[1][10:]]
    assert code_of(form(passport=passport | {"mrz": broken})) == "MRZ_INVALID"
    other = passport | {"expiry_date": "2031-05-30"}
    assert code_of(form(passport=other)) == "MRZ_MISMATCH"


def test_a_child_declares_with_the_guardians_phone() -> None:
    guardian = {
        "full_name": "KIM AH",
        "relation": "mother",
        "document_number": "M7654321",
        "phone": "+84987654321",
    }
    child = form(date_of_birth="2016-06-01", guardian=guardian)
    assert code_of(child) == "GUARDIAN_PHONE_REQUIRED"
    ok = check_tk01(
        form(date_of_birth="2016-06-01", guardian=guardian, phone="+84987654321"), TODAY
    )
    assert ok.guardian is not None and ok.guardian.phone == "+84987654321"


@pytest.mark.parametrize("local", ["0912 345 678", "0912345678", "0912-345-678", "+84 912 345 678"])
def test_a_vietnamese_mobile_is_accepted_without_its_country_code(local: str) -> None:
    assert check_tk01(form(phone=local), TODAY).phone == "+84912345678"


def test_a_wrong_phone_is_named_in_the_callers_language() -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_tk01(form(phone="12345"), TODAY)
    vi = refused.value.to_dict("vi")["error"]
    assert vi["code"] == "PHONE_INVALID"
    assert vi["message"].startswith("phone phải là số di động hợp lệ")
