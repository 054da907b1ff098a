from __future__ import annotations

import datetime as dt

import pytest

from eid.core.errors import ValidationFailed
from eid.enrolment.notices import REFUSAL_TEXT
from eid.i18n import SUPPORTED
from eid.notify.templates import (
    APP_PAGES,
    MASK,
    TEMPLATES,
    fields,
    render,
    resolve_language,
    sms_fits,
)

ISSUED = {"full_name": "KIM MIN-JUN", "eid_number": "123456789012", "activation_code": "04711234"}


SAMPLE = {
    "full_name": "KIM MIN-JUN",
    "eid_number": "123456789012",
    "activation_code": "04711234",
    "legal_deadline": dt.date(2026, 3, 3),
    "expiry_date": "2026-09-30",
    "reason": "card expired",
    "ground": "residence_card_expired",
    "otp": "482913",
}
# A phrase each language's account_issued SMS must carry (the word for "activation code").
ACTIVATION = {
    "vi": "Mã kích hoạt",
    "en": "Activation code",
    "zh": "激活码",
    "ko": "활성화 코드",
    "ja": "有効化コード",
}


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("vi", "vi"),
        ("vi-VN", "vi"),
        ("VI_vn", "vi"),
        ("en", "en"),
        ("en-GB", "en"),
        ("ko-KR", "ko"),
        ("zh-Hans-CN", "zh"),
        ("ja", "ja"),
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


@pytest.mark.parametrize("language", SUPPORTED)
@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_every_template_renders_in_every_language(template: str, language: str) -> None:
    text = render(template, language, SAMPLE)
    assert text.language == language
    for part in (text.subject, text.body, text.sms):
        assert part.strip() and "%(" not in part and "{" not in part
    for name in fields(TEMPLATES[template]) - {"legal_deadline", "expiry_date", "ground"}:
        assert str(SAMPLE[name]) in text.body + text.sms, (name, text.body)
    if language != "en":  # really translated, not English read out in another language
        english = render(template, "en", SAMPLE)
        assert (text.subject, text.sms) != (english.subject, english.sms)


@pytest.mark.parametrize("language", SUPPORTED)
def test_activation_sms_is_short_in_every_language(language: str) -> None:
    sms = render("account_issued", language, ISSUED).sms
    assert ACTIVATION[language] in sms and "123456789012" in sms and "04711234" in sms
    # GSM-7 carries 160 characters in one SMS; UCS-2 (Vietnamese, CJK) 67 per part of two.
    limit = 160 if sms.isascii() else 2 * 67
    assert len(sms) <= limit, (language, len(sms))


def test_a_language_without_texts_reads_english() -> None:
    text = render("account_issued", "fr-FR", ISSUED)
    assert text.language == "en"
    assert "Activation code: 04711234" in text.body
    assert "To activate it" in text.body


def test_dates_are_written_the_local_way() -> None:
    params = {"full_name": "A", "legal_deadline": dt.date(2026, 3, 3)}
    assert "03/03/2026" in render("application_received", "vi", params).body
    assert "March 3, 2026" in render("application_received", "en", params).body
    assert "2026年3月3日" in render("application_received", "zh", params).body
    assert "2026년 3월 3일" in render("application_received", "ko", params).body
    assert "2026年3月3日" in render("application_received", "ja", params).body
    warning = render(
        "document_expiry_warning", "vi", {"eid_number": "1", "expiry_date": "2026-09-30"}
    )
    assert "30/09/2026" in warning.sms


def test_lock_grounds_are_put_in_words() -> None:
    params = {"eid_number": "123456789012", "ground": "residence_card_expired"}
    assert "thẻ tạm trú/thẻ thường trú đã hết hạn" in render("account_locked", "vi", params).body
    assert "the residence card has expired" in render("account_locked", "en", params).body
    assert "在留カード" in render("account_locked", "ja", params).body
    assert "residence_card_expired" not in render("account_locked", "ko", params).body


def test_rejection_carries_the_reason() -> None:
    text = render("application_rejected", "en", {"full_name": "A", "reason": "card expired"})
    assert "Reason: card expired" in text.body


def test_a_known_refusal_reads_in_the_applicants_language() -> None:
    params = {"full_name": "A", "reason": REFUSAL_TEXT["ACCOUNT_EXISTS"]}
    assert "이미 전자신원 계정을 보유" in render("application_rejected", "ko", params).body
    assert "you already hold" in render("application_rejected", "en", params).body


def test_missing_parameters_and_unknown_templates_are_refused() -> None:
    with pytest.raises(ValidationFailed) as missing:
        render("account_issued", "en", {"full_name": "A", "eid_number": "1"})
    assert missing.value.code == "TEMPLATE_PARAMS_MISSING"
    assert missing.value.details["missing"] == ["activation_code"]
    with pytest.raises(ValidationFailed) as unknown:
        render("welcome", "en", {})
    assert unknown.value.code == "UNKNOWN_TEMPLATE"


def test_placeholders_in_a_value_are_not_interpreted() -> None:
    params = {"full_name": "%(eid_number)s {eid_number}", "reason": "%s {0}"}
    text = render("application_rejected", "en", params)
    assert "Dear %(eid_number)s {eid_number}" in text.body
    assert "Reason: %s {0}" in text.body


def test_device_rebind_code_goes_in_the_text_not_the_subject() -> None:
    text = render("device_rebind_otp", "vi", {"otp": "482913"})
    assert "482913" in text.sms and "482913" in text.body
    assert "482913" not in text.subject


ISSUER = "https://eid.example.vn"


@pytest.mark.parametrize("language", SUPPORTED)
@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_every_message_links_its_app_page_and_its_sms_keeps_the_budget(
    template: str, language: str
) -> None:
    assert template in APP_PAGES, "say which page of the eid app the message is about"
    page = APP_PAGES[template]
    text = render(template, language, SAMPLE, issuer=ISSUER)
    assert "VNeID" not in text.body + text.sms
    if page is None:
        assert "/app" not in text.body + text.sms
        return
    link = f"{ISSUER}{page}"
    assert link in text.body and "eid" in text.body.replace(link, "")
    assert sms_fits(text.sms), (len(text.sms), text.sms)
    if link in text.sms:
        assert "eid" in text.sms.replace(link, "")


def test_the_sms_drops_the_link_rather_than_grow_past_two_parts() -> None:
    short = render("account_issued", "en", ISSUED, issuer="https://e.vn")
    assert "https://e.vn/app/activate" in short.sms
    long_issuer = "https://" + "x" * 80 + ".vn"
    long = render("account_issued", "en", ISSUED, issuer=long_issuer)
    assert long_issuer not in long.sms and "04711234" in long.sms
    assert f"{long_issuer}/app/activate" in long.body


def test_the_masked_body_hides_only_the_secret() -> None:
    text = render("account_issued", "ja", ISSUED, issuer=ISSUER)
    assert text.masked_body is not None
    assert "04711234" not in text.masked_body and MASK in text.masked_body
    assert "123456789012" in text.masked_body and f"{ISSUER}/app/activate" in text.masked_body
    assert render("account_locked", "ja", SAMPLE).masked_body is None


@pytest.mark.parametrize("language", SUPPORTED)
def test_the_activation_sms_links_the_app_in_every_language(language: str) -> None:
    sms = render("account_issued", language, ISSUED, issuer=ISSUER).sms
    assert f"{ISSUER}/app/activate" in sms and sms_fits(sms), (len(sms), sms)
