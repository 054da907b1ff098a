from __future__ import annotations

import datetime as dt

import pytest

from eid.core.errors import ValidationFailed
from eid.notify.templates import TEMPLATES, render, resolve_language

ISSUED = {"full_name": "KIM MIN-JUN", "eid_number": "123456789012", "activation_code": "04711234"}


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("vi", "vi"),
        ("vi-VN", "vi"),
        ("VI_vn", "vi"),
        ("en", "en"),
        ("en-GB", "en"),
        ("ko-KR", "en"),
        ("fr", "en"),
        ("", "en"),
    ],
)
def test_language_is_chosen_on_the_primary_subtag(tag: str, expected: str) -> None:
    assert resolve_language(tag) == expected


def test_account_issued_in_vietnamese_carries_number_code_and_how_to_activate() -> None:
    text = render("account_issued", "vi-VN", ISSUED)
    assert text.language == "vi"
    assert text.subject == "Tài khoản định danh điện tử của Quý vị đã được tạo"
    assert "Số định danh điện tử: 123456789012" in text.body
    assert "Mã kích hoạt: 04711234" in text.body
    assert "Cách kích hoạt" in text.body
    assert "04711234" in text.sms and "123456789012" in text.sms
    assert "04711234" not in text.subject  # subjects are stored in clear


def test_other_languages_fall_back_to_english() -> None:
    text = render("account_issued", "ko", ISSUED)
    assert text.language == "en"
    assert "Activation code: 04711234" in text.body
    assert "To activate it" in text.body


def test_dates_are_written_the_local_way() -> None:
    params = {"full_name": "A", "legal_deadline": dt.date(2026, 3, 3)}
    assert "03/03/2026" in render("application_received", "vi", params).body
    assert "3 March 2026" in render("application_received", "en", params).body
    warning = render(
        "document_expiry_warning", "vi", {"eid_number": "1", "expiry_date": "2026-09-30"}
    )
    assert "30/09/2026" in warning.sms


def test_lock_grounds_are_put_in_words() -> None:
    params = {"eid_number": "123456789012", "ground": "residence_card_expired"}
    assert "thẻ tạm trú/thẻ thường trú đã hết hạn" in render("account_locked", "vi", params).body
    assert "the residence card has expired" in render("account_locked", "en", params).body


def test_rejection_carries_the_reason() -> None:
    text = render("application_rejected", "en", {"full_name": "A", "reason": "card expired"})
    assert "Reason: card expired" in text.body


def test_every_template_exists_in_both_languages() -> None:
    assert set(TEMPLATES) >= {
        "application_received",
        "account_issued",
        "application_rejected",
        "document_expiry_warning",
        "account_locked",
        "account_unlocked",
        "device_rebind_otp",
    }
    assert all(set(texts) == {"vi", "en"} for texts in TEMPLATES.values())


def test_missing_parameters_and_unknown_templates_are_refused() -> None:
    with pytest.raises(ValidationFailed) as missing:
        render("account_issued", "en", {"full_name": "A", "eid_number": "1"})
    assert missing.value.code == "TEMPLATE_PARAMS_MISSING"
    assert missing.value.details["missing"] == ["activation_code"]
    with pytest.raises(ValidationFailed) as unknown:
        render("welcome", "en", {})
    assert unknown.value.code == "UNKNOWN_TEMPLATE"


def test_braces_in_a_value_are_not_interpreted() -> None:
    text = render("application_rejected", "en", {"full_name": "{eid_number}", "reason": "{0}"})
    assert "Dear {eid_number}" in text.body


def test_device_rebind_code_goes_in_the_text_not_the_subject() -> None:
    text = render("device_rebind_otp", "vi", {"otp": "482913"})
    assert "482913" in text.sms and "482913" in text.body
    assert "482913" not in text.subject
