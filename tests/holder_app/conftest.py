"""The holder app's tests: a phone-sized Chromium page, and holders signed in through the
session cookie the app's pages read."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.axe import PHONE


@pytest.fixture
def phone(page: Any) -> Any:
    """The `page` fixture at a phone's size (390x844)."""
    page.set_viewport_size(PHONE)
    return page


@pytest.fixture
def holder(committed: Any) -> Any:
    """An active Level-2 holder, committed (the app's requests see it), with a live session."""
    from eid.core.database import unit_of_work
    from tests.identity.factories import make_holder

    with unit_of_work() as db:
        return make_holder(db, language="en")


@pytest.fixture
def signed_in(api: Any, holder: Any) -> Any:
    """The in-process app's client with the holder's session cookie, as a browser holds it."""
    api.cookies.set("eid_holder_session", holder.session_token)
    return api


@pytest.fixture
def holder_with_history(holder: Any) -> Any:
    """The holder with a consent given to a bank and a release of claims to it, so the
    history and consents pages have something to show."""
    from eid.core.database import unit_of_work
    from eid.identity import consents, service
    from eid.identity.models import RelyingParty
    from tests.identity.factories import TEST_ACTOR

    with unit_of_work() as db:
        client_id, _ = service.create_client(
            db,
            name="Vietcombank",
            redirect_uris=["https://bank.example/cb"],
            scopes=["openid", "ekyc_basic"],
            purpose="Open a bank account",
            actor=TEST_ACTOR,
        )
        client = db.get(RelyingParty, client_id)
        assert client is not None
        consents.give_consent(db, holder.account_id, client, ["openid", "ekyc_basic"])
        consents.record_release(db, holder.account_id, client, ["name", "birthdate"], "userinfo")
    return holder


def sign_in_browser(page: Any, base_url: str, holder: Any) -> None:
    """Signs the browser in as a page does: `POST /api/v1/identity/sessions` with
    `"cookie": true` (password and passcode), which sets the HttpOnly session cookie in the
    page's context and answers the CSRF token, never the session."""
    from tests.identity.factories import PASSCODE, PASSWORD

    response = page.request.post(
        f"{base_url}/api/v1/identity/sessions",
        data={
            "eid_number": holder.eid_number,
            "password": PASSWORD,
            "passcode": PASSCODE,
            "cookie": True,
        },
    )
    assert response.status == 201, response.text()
    assert "access_token" not in response.json() and response.json()["csrf_token"]
    cookie = {c["name"]: c for c in page.context.cookies()}["eid_holder_session"]
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Lax"
