"""One language negotiation for the whole system.

The order of preference is the caller's: an applicant's chosen `language` first (notifications,
consent texts), else the `Accept-Language` header (officers and holders), each tried in turn;
the first supported language wins, and the chain always ends in English.
"""

from __future__ import annotations

from collections.abc import Iterable

# Foreign residents of Viet Nam read at least these (DESIGN.md §1). `zh` is Simplified Chinese.
SUPPORTED: tuple[str, ...] = ("vi", "en", "zh", "ko", "ja")
FALLBACK = "en"
# Officers work in Vietnamese or English (DESIGN.md §1).
OFFICER_LANGUAGES: tuple[str, ...] = ("vi", "en")


def _primary(tag: str) -> str:
    return tag.replace("_", "-").split("-", 1)[0].strip().lower()


def _accept_language(header: str) -> list[str]:
    """Tags of an Accept-Language header, best first (RFC 9110 §12.5.4); q=0 means 'not this'."""
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip()
        if not tag or tag == "*":
            continue
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            weighted.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(weighted)]


def negotiate(
    *preferences: str | None,
    among: tuple[str, ...] = SUPPORTED,
    fallback: str = FALLBACK,
) -> str:
    """The first supported language among `preferences` (BCP 47 tags or whole Accept-Language
    headers, best first; None skipped), else English. `vi-VN` is Vietnamese, `zh-Hans-CN` Chinese.
    A narrower audience names its own languages and fallback (officers: `among=("vi", "en")`,
    `fallback="vi"`).
    """
    candidates: Iterable[str] = (
        tag for preference in preferences if preference for tag in _accept_language(preference)
    )
    for tag in candidates:
        primary = _primary(tag)
        if primary in among:
            return primary
    return fallback
