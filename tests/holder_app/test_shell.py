"""The app's shell over HTTP: start page, web manifest, service worker, offline page."""

from __future__ import annotations

import json
from typing import Any

import pytest

from eid.i18n import SUPPORTED, gettext
from tests.web.test_pages import assert_page_is_safe

WAYS = {
    "/app/register": "Register (Level 1)",
    "/app/activate": "Activate an account",
    "/app/sign-in": "Sign in",
}


@pytest.mark.parametrize("lang", SUPPORTED)
def test_the_start_page_offers_the_three_ways_in(api: Any, lang: str) -> None:
    response = api.get(f"/app?lang={lang}")
    assert response.status_code == 200
    assert_page_is_safe(response)
    html = response.text
    assert f'<html lang="{lang}"' in html
    for path, label in WAYS.items():
        assert f'href="{path}"' in html
        assert gettext(lang, label, domain="pages") in html
    assert 'rel="manifest" href="/app/manifest.webmanifest' in html
    # The picker names each language in itself and keeps the choice in a cookie.
    assert all(f'hreflang="{code}"' in html for code in SUPPORTED if code != lang)
    assert response.cookies.get("eid_lang") == lang
    assert 'name="csrf-token"' not in html  # nobody signed in


def test_the_start_page_follows_the_browser_and_then_the_pick(api: Any) -> None:
    assert '<html lang="ko"' in api.get("/app", headers={"Accept-Language": "ko-KR"}).text
    api.get("/app?lang=ja")
    assert '<html lang="ja"' in api.get("/app", headers={"Accept-Language": "ko-KR"}).text


def test_the_manifest_makes_the_app_installable(api: Any) -> None:
    response = api.get("/app/manifest.webmanifest?lang=vi")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/manifest+json")
    manifest = json.loads(response.text)
    assert manifest["start_url"] == "/app" and manifest["scope"] == "/app"
    assert manifest["display"] == "standalone" and manifest["lang"] == "vi"
    assert manifest["name"] == gettext("vi", "eID for foreign residents of Viet Nam")
    assert manifest["theme_color"].startswith("#")
    sizes = {(icon["sizes"], icon["purpose"]) for icon in manifest["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes
    for icon in manifest["icons"]:
        image = api.get(icon["src"])
        assert image.status_code == 200 and image.headers["content-type"] == "image/png"
        width = int.from_bytes(image.content[16:20], "big")  # the PNG's IHDR
        assert f"{width}x{width}" == icon["sizes"]


def test_the_service_worker_keeps_the_shell_and_never_the_api(api: Any) -> None:
    response = api.get("/app/sw.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["service-worker-allowed"] == "/app"
    assert response.headers["cache-control"] == "no-cache"
    source = response.text
    shell = json.loads(source.split("\n", 1)[0].removeprefix("const SHELL = ").rstrip(";"))
    assert set(shell["offline"]) == set(SUPPORTED)
    assert all(path.startswith("/static/") and "?v=" in path for path in shell["assets"])
    assert 'url.pathname.startsWith("/api/")) return;' in source
    for path in shell["assets"] + list(shell["offline"].values()):
        assert api.get(path).status_code == 200, path


@pytest.mark.parametrize("lang", SUPPORTED)
def test_the_offline_page_speaks_the_holders_language(api: Any, lang: str) -> None:
    response = api.get(f"/app/offline/{lang}")
    assert response.status_code == 200
    assert_page_is_safe(response)
    assert f'<html lang="{lang}"' in response.text
    assert gettext(lang, "You are offline", domain="pages") in response.text
    assert "eid_lang" not in response.cookies  # the worker's fetch changes no pick
