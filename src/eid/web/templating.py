"""Every HTML page of eid: one Jinja2 environment (autoescape, gettext of the `pages` domain),
templates under `web/templates/`, scripts and styles as static files under `web/static/`.

The language is a per-render value (`lang` in the template context), so one environment serves
every request and every language at once: the gettext callables read the catalogue of the
context's language. This module imports only `eid.i18n` and Jinja2, so a domain whose pages
must stay with its endpoints (the holder's OpenID Connect pages) renders through it without
pulling `eid.web`'s officer pages in.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context
from jinja2.runtime import Context
from starlette.requests import Request

from eid.i18n import SUPPORTED, negotiate, translations

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
DOMAIN = "pages"

# Officers work in Vietnamese or English (DESIGN.md §1); Vietnamese unless the browser prefers
# English. Holders read any of the five languages, English when none of theirs is offered.
OFFICER_LANGUAGES: tuple[str, ...] = ("vi", "en")
OFFICER_FALLBACK = "vi"
# A person's explicit choice from a page's language picker, kept for their next pages.
LANGUAGE_COOKIE = "eid_lang"
# Each language named in itself, as a picker shows it.
LANGUAGE_NAMES: dict[str, str] = {
    "vi": "Tiếng Việt",
    "en": "English",
    "zh": "简体中文",
    "ko": "한국어",
    "ja": "日本語",
}


@pass_context
def _gettext(context: Context, message: str) -> str:
    return translations(context["lang"], DOMAIN).gettext(message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    return translations(context["lang"], DOMAIN).ngettext(singular, plural, n)


@functools.cache
def static_url(path: str) -> str:
    """`/static/<path>?v=<digest>`: the digest changes with the file, so browsers may keep each
    version for a year (see `StaticAssets`) and still never run yesterday's script."""
    digest = hashlib.sha256((STATIC / path).read_bytes()).hexdigest()[:12]
    return f"/static/{path}?v={digest}"


@functools.cache
def environment() -> Environment:
    """Built once per process. StrictUndefined: a misspelt variable fails the render (and the
    tests), instead of leaving a silent blank on a page."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # newstyle: `_("... %(name)s", name=x)` formats after translating and escapes the values.
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=_gettext, ngettext=_ngettext, newstyle=True
    )
    env.globals["language_names"] = LANGUAGE_NAMES
    env.globals["static"] = static_url
    return env


def render(name: str, *, lang: str, **context: Any) -> str:
    return environment().get_template(name).render(lang=lang, **context)


def chosen_language(request: Request) -> str | None:
    """The language picked on a page (`?lang=`), else the one picked earlier (cookie)."""
    picked = request.query_params.get("lang")
    if picked in SUPPORTED:
        return picked
    kept = request.cookies.get(LANGUAGE_COOKIE)
    return kept if kept in SUPPORTED else None


def officer_language(request: Request) -> str:
    return negotiate(
        chosen_language(request),
        request.headers.get("accept-language"),
        among=OFFICER_LANGUAGES,
        fallback=OFFICER_FALLBACK,
    )


def holder_language(request: Request, *hints: str | None) -> str:
    """The holder's pick first, then `hints` in order (their language on file, an OpenID
    `ui_locales` request), then the browser's Accept-Language, ending in English."""
    return negotiate(chosen_language(request), *hints, request.headers.get("accept-language"))


def language_links(
    path: str, params: Mapping[str, str], languages: tuple[str, ...] = SUPPORTED
) -> list[tuple[str, str]]:
    """(language, URL) for a picker: the same page with `lang` set, every other query kept."""
    kept = {k: v for k, v in params.items() if k != "lang"}
    return [(code, f"{path}?{urlencode({**kept, 'lang': code})}") for code in languages]
