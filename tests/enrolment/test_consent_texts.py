"""The consent text in the five languages: the Vietnamese original, and translations that say
the Vietnamese text prevails."""

from __future__ import annotations

from typing import Any

import pytest

from eid.enrolment import consent
from eid.i18n import SUPPORTED

VERSION = consent.CURRENT_VERSION
NOTICE = {
    "en": "the Vietnamese text prevails",
    "zh": "以越南语原文为准",
    "ko": "베트남어 원문이 우선합니다",
    "ja": "ベトナム語原文が優先します",
}


@pytest.mark.parametrize("language", SUPPORTED)
def test_each_language_has_its_own_text_and_translations_defer_to_vietnamese(
    language: str,
) -> None:
    text = consent.text_for(VERSION, language)
    assert text is not None and "69/2024" in text
    original = consent.text_for(VERSION, "vi")
    assert original is not None
    if language == "vi":
        assert original.startswith("Tôi đồng ý để cơ quan quản lý xuất nhập cảnh thu thập")
        assert not any(notice in original for notice in NOTICE.values())
    else:
        assert text != original and NOTICE[language] in text


def test_unknown_versions_have_no_text_and_other_languages_read_english() -> None:
    assert consent.text_for("1999-01-v0", "vi") is None
    assert consent.language_for("fr", "ko-KR") == "ko"
    assert consent.language_for("de") == "en"
    assert consent.has_text("zh-Hans") and not consent.has_text("fr")


def test_the_text_endpoint_answers_the_language_it_shows(api: Any) -> None:
    shown = api.get(f"/api/v1/consent-texts/{VERSION}", params={"language": "ja-JP"}).json()
    assert shown["language"] == "ja" and NOTICE["ja"] in shown["text"]
    by_header = api.get(f"/api/v1/consent-texts/{VERSION}", headers={"Accept-Language": "ko"})
    assert by_header.json()["language"] == "ko"
    french = api.get(f"/api/v1/consent-texts/{VERSION}", params={"language": "fr"}).json()
    assert french["language"] == "en" and NOTICE["en"] in french["text"]
    unknown = api.get("/api/v1/consent-texts/1999-01-v0", headers={"Accept-Language": "vi"})
    assert unknown.status_code == 422
    assert unknown.json()["error"] == {
        "code": "CONSENT_TEXT_UNKNOWN",
        "message": "không có văn bản đồng ý với phiên bản hoặc ngôn ngữ này",
        "details": {},
    }
