"""Every HTML page: its security headers, nothing inline for the policy to refuse, its texts from
the `pages` catalogue in the reader's language, and the static files it links."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po
from jinja2.ext import babel_extract
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from eid.i18n import SUPPORTED, gettext
from eid.i18n.catalogues import po_path
from eid.web.security import SecurityHeaders
from eid.web.templating import TEMPLATES

CSP = "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
OFFICER_PAGES = ("/console", "/reviews", "/dashboard", "/locks", "/profiles")
_INLINE = re.compile(r"<style|\sstyle=|\son[a-z]+=|javascript:", re.IGNORECASE)
_SCRIPT = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)


def _directives(header: str) -> dict[str, str]:
    return {
        part.strip().split(" ", 1)[0]: part.strip().partition(" ")[2]
        for part in header.split(";")
        if part.strip()
    }


def assert_page_is_safe(response: Any) -> None:
    """The headers every page carries, and a body with nothing the policy would refuse."""
    policy = _directives(response.headers["content-security-policy"])
    assert policy["default-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'" and policy["base-uri"] == "'none'"
    assert policy["form-action"].startswith("'self'")
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-store"
    html = response.text
    assert not _INLINE.search(html), _INLINE.search(html)
    for attributes in _SCRIPT.findall(html):
        # A script is a file of this origin, or a JSON data block (never executed).
        assert re.search(r'src="/static/[\w.-]+\?v=\w+"', attributes) or (
            'type="application/json"' in attributes
        ), attributes
    assert "//" not in "".join(re.findall(r'(?:src|href)="(//|https?:)', html))


@pytest.mark.parametrize("path", OFFICER_PAGES)
def test_officer_pages_carry_the_policy_and_nothing_inline(api: Any, path: str) -> None:
    response = api.get(path)
    assert response.status_code == 200
    assert_page_is_safe(response)
    if path == "/reviews":  # portraits are shown from blob: URLs of fetched images
        assert response.headers["content-security-policy"] == CSP.replace(
            "default-src 'self';", "default-src 'self'; img-src 'self' blob:;"
        )
    else:
        assert response.headers["content-security-policy"] == CSP
    assert 'name="csrf-token"' not in response.text  # not signed in: no session, no token


def test_holder_login_page_carries_the_policy(api: Any) -> None:
    response = api.get("/oauth2/login", headers={"Accept-Language": "ja,en;q=0.5"})
    assert response.status_code == 200
    assert_page_is_safe(response)
    assert '<html lang="ja">' in response.text
    assert gettext("ja", "Sign in with your e-ID", domain="pages") in response.text


def test_every_response_carries_the_headers_and_api_errors_too(api: Any) -> None:
    for response in (api.get("/healthz"), api.get("/api/v1/reviews"), api.get("/no-such-page")):
        assert response.headers["content-security-policy"] == CSP
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "strict-transport-security" not in response.headers  # not in production


def test_the_api_docs_of_development_work_without_the_policy(api: Any) -> None:
    """Swagger UI loads from a CDN with an inline script: a developer's tool, exempt outside
    production; the OpenAPI document itself keeps the policy."""
    docs = api.get("/docs")
    assert docs.status_code == 200 and "content-security-policy" not in docs.headers
    assert docs.headers["x-content-type-options"] == "nosniff"
    assert api.get("/openapi.json").headers["content-security-policy"] == CSP


def test_production_adds_strict_transport_security() -> None:
    def hello(_: Any) -> PlainTextResponse:
        return PlainTextResponse("hello")

    for production, expected in ((True, "max-age=31536000; includeSubDomains"), (False, None)):
        app = SecurityHeaders(Starlette(routes=[Route("/", hello)]), production=production)
        response = TestClient(app).get("/")
        assert response.headers.get("strict-transport-security") == expected
        assert response.headers["content-security-policy"] == CSP


def test_static_files_are_served_with_a_long_cache_and_their_type(api: Any) -> None:
    page = api.get("/console").text
    links = re.findall(r'(?:src|href)="(/static/[^"]+)"', page)
    assert {link.split("?")[0] for link in links} == {
        "/static/officer.css",
        "/static/console.css",
        "/static/officer.js",
        "/static/console.js",
    }
    for link in links:
        response = api.get(link)
        assert response.status_code == 200
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert response.headers["x-content-type-options"] == "nosniff"
        kind = "text/css" if ".css" in link else "text/javascript"
        assert response.headers["content-type"].startswith(kind)
        # The version in the URL is the file's: a changed file is a new URL.
        assert link.split("?v=")[1] in _digest(response.content)


def _digest(content: bytes) -> str:
    import hashlib

    return hashlib.sha256(content).hexdigest()


@pytest.mark.parametrize(
    ("accept_language", "expected"),
    [
        ("en-GB,en;q=0.9", "en"),
        ("vi-VN", "vi"),
        ("ko-KR,ko", "vi"),
        ("ko, en;q=0.5", "en"),
        ("", "vi"),
    ],
)
def test_officer_pages_speak_vietnamese_or_english(
    api: Any, accept_language: str, expected: str
) -> None:
    response = api.get("/console", headers={"Accept-Language": accept_language})
    assert f'<html lang="{expected}">' in response.text
    title = gettext(expected, "Officer sign-in", domain="pages")
    assert f"<h2>{title}</h2>" in response.text


def test_a_language_picked_on_a_page_is_kept_for_the_next_pages(api: Any) -> None:
    picked = api.get("/console?lang=en", headers={"Accept-Language": "vi"})
    assert '<html lang="en">' in picked.text
    assert picked.cookies.get("eid_lang") == "en"
    # The next page, without ?lang=, stays in English although the browser prefers Vietnamese.
    assert '<html lang="en">' in api.get("/reviews", headers={"Accept-Language": "vi"}).text
    # The picker offers officers Vietnamese and English only.
    assert 'hreflang="vi"' in picked.text and 'hreflang="ko"' not in picked.text
    holder = api.get("/oauth2/login?lang=ko")
    assert '<html lang="ko">' in holder.text
    assert all(f'hreflang="{code}"' in holder.text for code in SUPPORTED if code != "ko")


def _template_messages() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted(Path(TEMPLATES).rglob("*.html")):
        with path.open("rb") as source:
            for line, _, message, _ in babel_extract(
                source, ("_", "gettext", "ngettext"), [], {"extensions": "jinja2.ext.i18n"}
            ):
                text = message if isinstance(message, str) else (message or (None,))[0]
                assert text, f"{path.name}:{line} translates no text"
                found.setdefault(text, []).append(f"{path.name}:{line}")
    return found


def test_every_text_of_the_templates_is_in_the_catalogue_and_nothing_else() -> None:
    """A text added to a template without its translations fails here (each catalogue then has
    every message: tests/i18n); a text removed from the templates leaves the catalogues too."""
    used = _template_messages()
    with po_path("en", "pages").open("rb") as source:
        catalogue = {str(m.id) for m in read_po(source) if m.id}
    assert sorted(set(used) - catalogue) == []
    assert sorted(catalogue - set(used)) == []


def test_templates_hold_no_text_outside_gettext() -> None:
    """Visible words in a template come from the catalogue: strip tags, Jinja and entities, and
    only symbols, numbers and the name eID may remain."""
    allowed = re.compile(r"^(?:[\s\d—·:()+./,\-✓☎]|eID)*$")
    for path in Path(TEMPLATES).rglob("*.html"):
        source = path.read_text(encoding="utf-8")
        source = re.sub(r"\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}", " ", source, flags=re.DOTALL)
        source = re.sub(r"<script\b.*?</script>|<[^>]+>", " ", source, flags=re.DOTALL)
        assert allowed.match(source), (path.name, source.split())
