"""The language picker of a signed-in holder keeps the pick on the account (PUT
/api/v1/me/language through `eidApp.api`), so the next notification (SMS and the app's inbox)
comes in it; without scripts the picker's links still change the pages' language."""

from __future__ import annotations

from typing import Any

from eid.authority import service as authority
from eid.core.database import unit_of_work
from eid.i18n import gettext
from eid.notify.templates import render
from tests.holder_app.conftest import sign_in_browser
from tests.identity.factories import PASSCODE, PASSWORD
from tests.support import Peers, WorkerThread
from tests.web.axe import PHONE, screenshot
from tests.web.browser import watch_csp


def _language(holder: Any) -> str:
    with unit_of_work() as db:
        return authority.get_account(db, holder.account_id).language


def test_picking_japanese_makes_the_next_notification_japanese(
    live: str, phone: Any, holder: Any, peers: Peers, worker_thread: WorkerThread
) -> None:
    """From the picker to the SMS gateway (the worker delivers) and the app's inbox."""
    sign_in_browser(phone, live, holder)
    csp = watch_csp(phone)
    phone.goto(f"{live}/app/home?lang=en")
    assert _language(holder) == "en"
    phone.locator("nav.languages a[hreflang=ja]").click()
    phone.wait_for_url("**/app/home?lang=ja")
    assert phone.get_attribute("html", "lang") == "ja"
    assert _language(holder) == "ja"  # stored before the page changed

    # Lock through the app (the page in Japanese from the remembered pick).
    phone.goto(f"{live}/app/lock")
    assert phone.get_attribute("html", "lang") == "ja"
    phone.locator("[data-lock]").click()
    phone.locator("[data-lock-confirm]").click()
    phone.locator("#unlock-heading").wait_for()
    params = {"ground": "holder_request", "eid_number": holder.eid_number}
    notice = render("account_locked", "ja", params, issuer=live).sms
    assert "ロックされました" in notice
    peers.sms.inbox.wait_for(lambda m: m["text"] == notice)

    # Unlocked and signed in again: the lock notice is in the inbox, in Japanese.
    phone.fill("#unlock-eid", holder.eid_number)
    phone.fill("#unlock-password", PASSWORD)
    phone.fill("#unlock-passcode", PASSCODE)
    phone.locator("#unlock-form button[type=submit]").click()
    phone.locator("#unlock-next").wait_for(state="visible")
    sign_in_browser(phone, live, holder)
    phone.goto(f"{live}/app/inbox")
    inbox = phone.locator("main").inner_text()
    assert gettext("ja", "Your e-ID account has been locked") in inbox
    assert gettext("ja", "Your e-ID account has been unlocked") in inbox
    screenshot(phone, "app-inbox-picked-ja")
    csp.assert_clean()


def test_without_scripts_the_picker_still_changes_the_pages(
    live: str, phone: Any, holder: Any
) -> None:
    context = phone.context.browser.new_context(java_script_enabled=False, viewport=PHONE)
    page = context.new_page()
    try:
        sign_in_browser(page, live, holder)
        page.goto(f"{live}/app/home?lang=en")
        page.locator("nav.languages a[hreflang=ko]").click()
        page.wait_for_url("**/app/home?lang=ko")
        assert page.get_attribute("html", "lang") == "ko"
        page.goto(f"{live}/app/card")  # the pick is remembered by the browser
        assert page.get_attribute("html", "lang") == "ko"
        assert _language(holder) == "en"  # the account keeps its own without the script
    finally:
        context.close()
