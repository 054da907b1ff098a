"""The holder app at a phone's size with the keyboard alone (a phone with a keyboard, or a
switch or screen reader that moves like one): sign-in, the account page, the language picker
and self-lock with its confirmation. Every step after the page is loaded is Tab, Shift+Tab,
Enter, Space or typing; every focus stop has a visible focus ring, a refusal is announced
(role=alert) with the focus kept or on the field to correct, and the Tab order has no trap."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from eid.authority import service as authority
from eid.core.database import unit_of_work
from tests.identity.factories import PASSCODE, PASSWORD
from tests.web.browser import watch_csp
from tests.web.keyboard import assert_focus_visible, assert_no_trap, is_focused, shot, tab_to


def _focus_on(page: Any, selector: str) -> None:
    page.wait_for_function(
        "(s) => !!document.activeElement && document.activeElement.matches(s)", arg=selector
    )
    assert_focus_visible(page)


def _account(holder: Any) -> Any:
    with unit_of_work() as db:
        return authority.get_account(db, holder.account_id)


def test_sign_in_account_language_and_self_lock_by_keyboard(
    live: str, phone: Any, holder: Any
) -> None:
    csp = watch_csp(phone)
    phone.goto(f"{live}/app/sign-in?lang=en")

    # The skip link comes first and takes the focus past the header to the content.
    phone.keyboard.press("Tab")
    assert is_focused(phone, "a.skip")
    assert_focus_visible(phone)
    shot(phone, "app-skip-link")
    phone.keyboard.press("Enter")
    assert is_focused(phone, "main")
    phone.keyboard.press("Tab")
    assert is_focused(phone, "#passkey-sign-in")
    assert assert_no_trap(phone) > 5
    assert assert_no_trap(phone, back=True) > 5

    # Sign-in with a wrong password from the Sign in button: refused, announced, focus kept.
    tab_to(phone, "#eid_number")
    phone.keyboard.type(holder.eid_number)
    phone.keyboard.press("Tab")
    phone.keyboard.type("not-the-password-1!")
    phone.keyboard.press("Tab")
    phone.keyboard.type(PASSCODE)
    tab_to(phone, "#password-sign-in button[type=submit]")
    shot(phone, "app-sign-in-button")
    phone.keyboard.press("Enter")
    phone.wait_for_function("() => document.getElementById('app-error').textContent !== ''")
    assert phone.get_attribute("#app-error", "role") == "alert"
    _focus_on(phone, "#password-sign-in button[type=submit]")
    # Corrected, signed in with Enter from the password field.
    tab_to(phone, "#password", back=True)
    phone.keyboard.press("Control+A")
    phone.keyboard.type(PASSWORD)
    phone.keyboard.press("Enter")
    phone.wait_for_url(lambda url: urlsplit(url).path == "/app/home")

    # The account page: the nav, the ways, no trap; its lock link reached by Tab.
    phone.keyboard.press("Tab")
    assert is_focused(phone, "a.skip")
    assert assert_no_trap(phone) > 15
    tab_to(phone, "nav.appnav a[href='/app/lock']")
    shot(phone, "app-nav-focus")

    # The language picker: Vietnamese, kept on the account (the link's own Enter).
    assert _account(holder).language == "en"
    tab_to(phone, "nav.languages a[hreflang=vi]", back=True)
    shot(phone, "app-language-focus")
    phone.keyboard.press("Enter")
    phone.wait_for_url(lambda url: "lang=vi" in url)
    assert phone.get_attribute("html", "lang") == "vi"
    assert _account(holder).language == "vi"

    # Self-lock: the link on the account page, the confirmation, cancel, then confirm.
    tab_to(phone, "a.way[href='/app/lock']")
    phone.keyboard.press("Enter")
    phone.wait_for_url(lambda url: urlsplit(url).path == "/app/lock")
    tab_to(phone, "[data-lock]")
    phone.keyboard.press("Enter")
    _focus_on(phone, "[data-lock-confirm]")
    shot(phone, "app-lock-confirm")
    phone.keyboard.press("Tab")
    assert is_focused(phone, "[data-lock-cancel]")
    phone.keyboard.press("Space")
    assert phone.is_hidden("#lock-confirm")
    _focus_on(phone, "[data-lock]")
    phone.keyboard.press("Enter")
    _focus_on(phone, "[data-lock-confirm]")
    phone.keyboard.press("Escape")  # closes the confirmation too
    assert phone.is_hidden("#lock-confirm")
    _focus_on(phone, "[data-lock]")
    phone.keyboard.press("Space")
    _focus_on(phone, "[data-lock-confirm]")
    phone.keyboard.press("Enter")
    _focus_on(phone, "#unlock-heading")
    assert phone.inner_text("#app-status") != ""
    assert _account(holder).lock_grounds
    shot(phone, "app-locked")

    # Unlock, with the passcode left out first: the focus goes to it.
    phone.keyboard.press("Tab")
    assert is_focused(phone, "#unlock-eid")
    phone.keyboard.type(holder.eid_number)
    phone.keyboard.press("Tab")
    phone.keyboard.type(PASSWORD)
    phone.keyboard.press("Enter")
    _focus_on(phone, "#unlock-passcode[aria-invalid=true]")
    phone.keyboard.type(PASSCODE)
    phone.keyboard.press("Enter")
    phone.locator("#unlock-next").wait_for(state="visible")
    _focus_on(phone, "#unlock-heading")
    assert not _account(holder).lock_grounds
    csp.assert_clean()
