"""Dates, times and numbers as a reader of each language expects them (CLDR data via Babel)."""

from __future__ import annotations

import datetime as dt

from babel import dates, numbers

from eid.i18n.negotiation import FALLBACK, SUPPORTED

# Babel's locale names for our languages (zh is Simplified Chinese as used in mainland China).
_LOCALES = {"vi": "vi_VN", "en": "en", "zh": "zh_Hans_CN", "ko": "ko_KR", "ja": "ja_JP"}


def _locale(language: str) -> str:
    return _LOCALES[language if language in SUPPORTED else FALLBACK]


def format_date(value: dt.date, language: str, *, style: str = "long") -> str:
    return dates.format_date(value, format=style, locale=_locale(language))


def format_datetime(value: dt.datetime, language: str, *, style: str = "medium") -> str:
    return dates.format_datetime(
        value, format=style, tzinfo=dates.get_timezone("Asia/Ho_Chi_Minh"), locale=_locale(language)
    )


def format_number(value: float, language: str) -> str:
    return numbers.format_decimal(value, locale=_locale(language))
