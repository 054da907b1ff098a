"""The app's shell in Chromium at a phone's size: the start page in each language, the service
worker installed and in control, the offline page, and axe-core's verdict."""

from __future__ import annotations

from typing import Any

import pytest

from eid.i18n import SUPPORTED, gettext
from tests.web.axe import axe_scan, screenshot
from tests.web.browser import watch_csp

WAYS = ("Register (Level 1)", "Activate an account", "Sign in")


@pytest.mark.parametrize("lang", SUPPORTED)
def test_the_start_page_in_each_language(live: str, phone: Any, lang: str) -> None:
    csp = watch_csp(phone)
    phone.goto(f"{live}/app?lang={lang}")
    assert phone.get_attribute("html", "lang") == lang
    title = gettext(lang, "Your e-ID in Viet Nam", domain="pages")
    assert phone.title() == f"{title} — eID"
    assert phone.locator("h1").inner_text() == title
    ways = phone.locator(".ways .way-title").all_inner_texts()
    assert ways == [gettext(lang, way, domain="pages") for way in WAYS]
    # Nothing wider than the phone: no sideways scrolling.
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= 390
    assert axe_scan(phone) == []
    screenshot(phone, f"app-start-{lang}")
    csp.assert_clean()


def test_the_picked_language_is_remembered(live: str, phone: Any) -> None:
    phone.goto(f"{live}/app")
    assert phone.get_attribute("html", "lang") == "vi"  # the browser's locale (vi-VN)
    phone.get_by_role("link", name="한국어").click()
    phone.wait_for_url("**lang=ko")
    phone.goto(f"{live}/app")
    assert phone.get_attribute("html", "lang") == "ko"


def test_the_service_worker_controls_the_app_and_keeps_no_api_answer(live: str, phone: Any) -> None:
    phone.goto(f"{live}/app?lang=ja")
    phone.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=15000)
    scope = phone.evaluate(
        "async () => (await navigator.serviceWorker.getRegistration('/app')).scope"
    )
    assert scope == f"{live}/app"
    # Calls to the API while controlled: a refusal and a health check.
    statuses = phone.evaluate(
        "async () => Promise.all(['/api/v1/me', '/healthz'].map("
        "async (p) => (await fetch(p, {headers: {Accept: 'application/json'}})).status))"
    )
    assert statuses[0] == 401
    phone.goto(f"{live}/app/offline/ja")  # a page visit through the worker
    kept = phone.evaluate(
        "async () => { const urls = []; for (const name of await caches.keys()) {"
        " const cache = await caches.open(name);"
        " for (const r of await cache.keys()) urls.push(new URL(r.url).pathname); }"
        " return urls; }"
    )
    assert "/static/app.js" in kept and "/app/offline/ko" in kept
    assert not [url for url in kept if url.startswith("/api/")], kept
    # Pages are not kept either (they may show who is signed in): only the offline pages.
    assert {url for url in kept if url.startswith("/app")} <= {
        *(f"/app/offline/{code}" for code in SUPPORTED),
        "/app/__language",
    }
    # Offline, a page of the app answers with the offline page in the holder's language.
    phone.goto(f"{live}/app?lang=ja")
    phone.wait_for_function("() => navigator.serviceWorker.controller !== null")
    phone.wait_for_timeout(200)  # the page's language message reaches the worker
    phone.context.set_offline(True)
    phone.goto(f"{live}/app/home")
    assert phone.get_attribute("html", "lang") == "ja"
    assert phone.locator("h1").inner_text() == gettext("ja", "You are offline", domain="pages")
    screenshot(phone, "app-offline-ja")
    phone.context.set_offline(False)


def test_axe_cannot_come_in_as_an_inline_script(live: str, phone: Any) -> None:
    """Why the harness injects axe through the DevTools protocol: an inline script tag is refused
    by the app's policy, as any injected script would be."""
    phone.goto(f"{live}/app")
    with pytest.raises(Exception, match=r"violates the following Content Security Policy"):
        phone.add_script_tag(content="window.injected = true;")
    assert phone.evaluate("() => window.injected === undefined")
