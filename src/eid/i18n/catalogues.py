"""The gettext catalogues: `.po` files read and compiled to `.mo` in memory by Babel, once per
process and language. Only `.po` files are kept in the repository, so a compiled catalogue can
never be older than its source."""

from __future__ import annotations

import functools
import io
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from eid.i18n.negotiation import FALLBACK, SUPPORTED

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAINS: tuple[str, ...] = ("messages", "pages")


def po_path(language: str, domain: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{domain}.po"


def _compiled(language: str, domain: str) -> NullTranslations:
    path = po_path(language, domain)
    if not path.exists():
        return NullTranslations()
    with path.open("rb") as source:
        catalog = read_po(source, locale=language, domain=domain)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(fp=buffer, domain=domain)


@functools.cache
def translations(language: str, domain: str = "messages") -> NullTranslations:
    """The catalogue of `domain` in `language` (a supported primary subtag), falling back to
    English for any message it lacks, and to the message id itself after that."""
    if language not in SUPPORTED:
        language = FALLBACK
    found = _compiled(language, domain)
    if language != FALLBACK:
        found.add_fallback(translations(FALLBACK, domain))
    return found


class Msgid(str):
    """A message id given as a parameter of another message (an action, a reason): it is
    translated into the same language as the message it fills. Mark it with `N_`."""


def N_(message: str) -> Msgid:
    """Marks `message` for extraction and for translation where it is finally shown."""
    return Msgid(message)


def gettext(language: str, message: str, /, domain: str = "messages", **params: Any) -> str:
    """`message` (the English msgid) in `language`, with `%(name)s` placeholders filled; a
    parameter that is itself a `Msgid`, or a list of them, is translated too."""
    catalogue = translations(language, domain)
    text = catalogue.gettext(message)
    if not params:
        return text

    def value_in_language(value: Any) -> Any:
        if isinstance(value, Msgid):
            return catalogue.gettext(value)
        if isinstance(value, list | tuple) and value and all(isinstance(v, Msgid) for v in value):
            return "; ".join(catalogue.gettext(v) for v in value)
        return value

    return text % {name: value_in_language(value) for name, value in params.items()}
