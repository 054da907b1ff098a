"""A check's reason kept as a message survives the JSON column and reads in any language."""

from __future__ import annotations

import json

from eid.i18n import N_
from eid.verification import reasons
from eid.verification.service import Outcome


def _through_the_column(details: dict[str, object]) -> dict[str, object]:
    loaded: dict[str, object] = json.loads(json.dumps(details))
    return loaded


def test_a_reason_with_message_parameters_reads_in_each_language_after_storage() -> None:
    out = Outcome()
    out.add(
        "identity_data",
        "fail",
        N_("differs from the immigration database: %(fields)s"),
        params={"fields": reasons.field_names(["date_of_birth", "nationality"])},
    )
    [check] = out.checks
    assert check.reason == "differs from the immigration database: date of birth; nationality"
    details = _through_the_column(check.details)
    read = {
        language: reasons.reason_in(language, check.reason, details)
        for language in ("vi", "en", "zh", "ko", "ja")
    }
    assert read["vi"] == "khác với CSDL xuất nhập cảnh: ngày sinh; quốc tịch"
    assert read["en"] == check.reason
    assert read["ja"] == "出入国データベースと異なります\uff1a生年月日; 国籍"  # full-width colon
    assert len(set(read.values())) == 5


def test_a_number_parameter_and_a_status_the_list_does_not_know() -> None:
    out = Outcome()
    out.add(
        "fingerprints_1to1",
        "review",
        N_("none of the %(count)s fingers compared matches the file"),
        params={"count": 3},
        details={"matched": [], "compared": [1, 2, 7]},
    )
    out.add(
        "registry_record",
        "fail",
        N_("the immigration database marks the person %(status)s"),
        params={"status": reasons.registry_status("suspended")},
    )
    fingers, record = (_through_the_column(c.details) for c in out.checks)
    assert fingers["compared"] == [1, 2, 7]  # the check's own details are kept beside it
    assert (
        reasons.reason_in("ko", None, fingers) == "대조한 손가락 3개 모두 보관 지문과 일치하지 않음"
    )
    assert (
        reasons.reason_in("vi", None, record) == "CSDL xuất nhập cảnh ghi nhận người này suspended"
    )


def test_a_row_without_its_message_or_with_a_broken_one_shows_its_text() -> None:
    assert reasons.reason_in("vi", "kept text", {"states": {}}) == "kept text"
    assert reasons.reason_in("vi", None, {}) is None
    broken = {"reason": {"msgid": "the immigration database marks the person %(status)s"}}
    assert reasons.reason_in("vi", "kept text", broken) == "kept text"


def test_a_refusal_names_the_failed_checks_in_words() -> None:
    assert reasons.failures("vi", [("passport", "x"), ("residence_card", None)]) == (
        "Hộ chiếu: x; Thẻ cư trú"
    )
    assert reasons.failures("en", [("some_new_check", "y")]) == "some_new_check: y"
