"""The holder's pages in Chromium at a phone's size: every GET page of /app scanned by axe-core
in every language (zero serious or critical violations), the actions (mark read, withdraw a
consent, lock and unlock) with their announcements and focus, and errors in each language."""

from __future__ import annotations

from typing import Any

import pytest

from eid.i18n import SUPPORTED, gettext
from tests.holder_app.conftest import sign_in_browser
from tests.identity.factories import PASSCODE, PASSWORD
from tests.web.axe import app_pages, axe_scan, screenshot
from tests.web.browser import watch_csp

# Filled by the scan tests: page -> violations per language (printed for the report).
SCANNED: dict[str, dict[str, int]] = {}


def _name(path: str) -> str:
    return path.strip("/").replace("/", "-") or "root"


@pytest.mark.parametrize("lang", SUPPORTED)
def test_every_app_page_passes_axe(
    live: str, _live: Any, phone: Any, holder_with_history: Any, lang: str
) -> None:
    """Every GET route under /app that renders HTML (found in the app's routes, so pages other
    modules add are scanned too), signed in, in `lang`."""
    sign_in_browser(phone, live, holder_with_history)
    csp = watch_csp(phone)
    pages = app_pages(_live.app, examples={"lang": lang})
    assert {"/app", "/app/home", "/app/card", "/app/lock"} <= set(pages)
    found: dict[str, list[str]] = {}
    for path in pages:
        response = phone.goto(f"{live}{path}?lang={lang}")
        assert response is not None
        if response.status == 404 and not path.startswith("/app/check/"):
            continue  # a page another module links to before it exists
        assert phone.get_attribute("html", "lang") == lang, path
        violations = axe_scan(phone)
        SCANNED.setdefault(path, {})[lang] = len(violations)
        if violations:
            found[path] = [str(v) for v in violations]
        screenshot(phone, f"{_name(path)}-{lang}")
    csp.assert_clean()
    scanned = [p for p in pages if lang in SCANNED.get(p, {})]
    print(
        f"axe {lang}: {len(scanned)} pages, serious/critical: {sum(len(v) for v in found.values())}"
    )
    assert found == {}, found


def test_inbox_mark_read_is_announced_and_keeps_focus(live: str, phone: Any, holder: Any) -> None:
    sign_in_browser(phone, live, holder)
    phone.goto(f"{live}/app/inbox?lang=ko")
    button = phone.locator("[data-mark-read]").first
    button.wait_for()
    before = phone.locator("[data-mark-read]").count()
    button.click()
    status = phone.locator("#app-status")
    status.wait_for(state="visible")
    assert status.inner_text() == gettext("ko", "Marked as read.", domain="pages")
    assert phone.locator("[data-mark-read]").count() == before - 1
    assert phone.evaluate("() => document.activeElement.tagName") == "H2"
    phone.reload()
    assert phone.locator("[data-mark-read]").count() == before - 1  # kept by the server


def test_a_consent_is_withdrawn_after_a_confirmation(
    live: str, phone: Any, holder_with_history: Any
) -> None:
    sign_in_browser(phone, live, holder_with_history)
    phone.goto(f"{live}/app/consents?lang=zh")
    phone.locator("[data-withdraw]").click()
    confirm = phone.locator("[data-confirm-withdraw]")
    assert confirm.is_visible()
    assert phone.evaluate("() => document.activeElement.dataset.confirmWithdraw") is not None
    assert axe_scan(phone) == []
    confirm.click()
    phone.locator("#app-status").wait_for(state="visible")
    assert phone.locator("#app-status").inner_text() == gettext(
        "zh", "Consent withdrawn.", domain="pages"
    )
    phone.reload()
    assert phone.locator("[data-withdraw]").count() == 0
    assert gettext("zh", "Withdrawn", domain="pages") in phone.locator("main").inner_text()
    phone.goto(f"{live}/app/history?lang=zh")
    assert "Vietcombank" in phone.locator("main").inner_text()  # the history stays


def test_lock_now_then_unlock_with_the_credentials(live: str, phone: Any, holder: Any) -> None:
    sign_in_browser(phone, live, holder)
    csp = watch_csp(phone)
    phone.goto(f"{live}/app/lock?lang=en")
    phone.locator("[data-lock]").click()
    phone.locator("[data-lock-confirm]").click()
    status = phone.locator("#app-status")
    status.wait_for(state="visible")
    assert "Your account is locked" in status.inner_text()
    assert phone.evaluate("() => document.activeElement.id") == "unlock-heading"
    screenshot(phone, "app-locked-en")
    # The session stopped with the lock: the account's pages ask to sign in again.
    response = phone.request.get(f"{live}/app/home", max_redirects=0)
    assert response.status == 303
    phone.fill("#unlock-eid", holder.eid_number)
    phone.fill("#unlock-password", PASSWORD)
    phone.fill("#unlock-passcode", PASSCODE)
    phone.locator("#unlock-form button[type=submit]").click()
    phone.locator("#unlock-next").wait_for(state="visible")
    assert "unlocked" in status.inner_text()
    csp.assert_clean()


LOGIN_FAILED = "wrong e-ID number or credentials, or too many attempts: wait and try again"


@pytest.mark.parametrize("lang", SUPPORTED)
def test_bad_input_gets_a_message_in_the_holders_language(
    live: str, phone: Any, holder: Any, lang: str
) -> None:
    phone.goto(f"{live}/app/lock?lang={lang}")
    form = phone.locator("#unlock-form")
    # Nothing filled in: the page names what to fill, focus on the first empty field.
    form.locator("button[type=submit]").click()
    alert = phone.locator("#app-error")
    assert alert.inner_text() == gettext(
        lang, "Fill in your e-ID number, password and 6-digit passcode.", domain="pages"
    )
    assert phone.evaluate("() => document.activeElement.id") == "unlock-eid"
    assert phone.get_attribute("#unlock-eid", "aria-invalid") == "true"
    # Wrong credentials: the server's answer, in the page's language (Accept-Language).
    phone.fill("#unlock-eid", holder.eid_number)
    phone.fill("#unlock-password", "Wrong!Pass1")
    phone.fill("#unlock-passcode", "000000")
    form.locator("button[type=submit]").click()
    expected = gettext(lang, LOGIN_FAILED)
    phone.wait_for_function(
        f"() => document.getElementById('app-error').textContent === {expected!r}"
    )
    assert expected != LOGIN_FAILED or lang == "en"
    assert axe_scan(phone) == []
    screenshot(phone, f"app-error-{lang}")


def test_sign_out_ends_the_session_and_the_pages_ask_to_sign_in(
    live: str, phone: Any, holder: Any
) -> None:
    sign_in_browser(phone, live, holder)
    phone.goto(f"{live}/app/home?lang=ja")
    assert holder.eid_number in phone.locator("main").inner_text()
    phone.locator("[data-sign-out]").click()
    phone.wait_for_url(f"{live}/app")
    phone.goto(f"{live}/app/card")
    assert phone.url.startswith(f"{live}/app/sign-in?next=%2Fapp%2Fcard")
    assert phone.get_attribute("html", "lang") == "ja"  # the pick stays
    # The session ended on the server, whatever the browser kept.
    assert phone.request.get(f"{live}/api/v1/me").status == 401
