"""Every catalogue holds every message id any other holds, each translated, placeholders kept."""

from __future__ import annotations

import re

import pytest
from babel.messages.pofile import read_po

from eid.i18n import DOMAINS, N_, OFFICER_LANGUAGES, SUPPORTED, gettext, negotiate
from eid.i18n.catalogues import po_path
from eid.i18n.extract import formatted_messages, used_message_ids

_PLACEHOLDER = re.compile(r"%\((\w+)\)s|\{(\w+)\}")


def _catalogue(language: str, domain: str) -> dict[str, str]:
    with po_path(language, domain).open("rb") as source:
        catalog = read_po(source, locale=language)
    return {str(m.id): str(m.string) for m in catalog if m.id}


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_language_has_every_message(domain: str) -> None:
    catalogues = {language: _catalogue(language, domain) for language in SUPPORTED}
    every_id = set().union(*(set(c) for c in catalogues.values()))
    for language, catalogue in catalogues.items():
        missing = sorted(every_id - set(catalogue))
        assert not missing, f"{language}/{domain}.po lacks {missing[:5]}"
        untranslated = sorted(k for k, v in catalogue.items() if not v.strip())
        assert not untranslated, f"{language}/{domain}.po leaves {untranslated[:5]} empty"


@pytest.mark.parametrize("domain", DOMAINS)
def test_translations_keep_their_placeholders(domain: str) -> None:
    for language in SUPPORTED:
        for msgid, text in _catalogue(language, domain).items():
            wanted = set(_PLACEHOLDER.findall(msgid))
            assert set(_PLACEHOLDER.findall(text)) == wanted, (language, msgid)


def test_negotiation_prefers_the_callers_order_and_ends_in_english() -> None:
    assert negotiate("ko") == "ko"
    assert negotiate("vi-VN") == "vi"
    assert negotiate("zh-Hans-CN") == "zh"
    assert negotiate("fr", "ja;q=0.5, de, vi;q=0.9") == "vi"
    assert negotiate(None, "ko;q=0, ja") == "ja"
    assert negotiate("fr-FR") == "en"
    assert negotiate() == "en"


def test_unknown_message_falls_back_to_itself() -> None:
    assert gettext("ko", "no such message %(n)s", n=3) == "no such message 3"


def test_every_message_the_code_marks_is_in_the_catalogues() -> None:
    """An error, notification or consent text added to the code without its translations fails
    here (run `python -m eid.i18n.extract` to add it to every `.po` file, then translate)."""
    used = used_message_ids()
    assert len(used) > 100  # the extractor still finds the code's messages
    english = _catalogue("en", "messages")
    missing = {msgid: places[0] for msgid, places in used.items() if msgid not in english}
    assert not missing, missing
    # An f-string message would be skipped by the extractor and read English everywhere.
    assert not formatted_messages()


def test_a_message_given_as_a_parameter_is_translated_with_its_sentence() -> None:
    text = gettext(
        "vi",
        "cannot %(action)s an application that is %(status)s",
        action=N_("submit"),
        status="draft",
    )
    assert text == "không thể gửi hồ sơ đang ở trạng thái draft"


def test_officers_are_answered_in_vietnamese_or_english_only() -> None:
    assert negotiate("ko, vi;q=0.5", among=OFFICER_LANGUAGES) == "vi"
    assert negotiate("ja", among=OFFICER_LANGUAGES) == "en"
