"""PUT /api/v1/me/language: the holder's language kept on the account (what notifications are
written in), with a bearer token or the app's cookie and its CSRF header; an unknown language
is refused in the caller's language and changes nothing."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from eid.authority import service as authority
from eid.core.audit import AuditEvent
from eid.core.database import unit_of_work
from eid.i18n import gettext
from eid.identity import service
from eid.identity.dependencies import COOKIE, CSRF_HEADER
from tests.identity import factories
from tests.support import outbox

LANGUAGE = "/api/v1/me/language"
UNSUPPORTED = "choose one of the languages eid offers: %(languages)s"


def _holder() -> factories.TestHolder:
    with unit_of_work() as db:
        return factories.make_holder(db, language="en")


def _language(account_id: uuid.UUID) -> str:
    with unit_of_work() as db:
        return authority.get_account(db, account_id).language


def _changes(account_id: uuid.UUID) -> list[tuple[str, str, dict[str, Any]]]:
    """The audited changes of the account's language: (actor kind, actor id, details)."""
    with unit_of_work() as db:
        events = db.execute(
            select(AuditEvent).where(
                AuditEvent.action == "account.language_changed",
                AuditEvent.subject_id == str(account_id),
            )
        ).scalars()
        return [(e.actor_kind, e.actor_id, e.details) for e in events]


def test_bearer_sets_the_language_the_next_notification_is_written_in(api: TestClient) -> None:
    holder = _holder()
    bearer = {"Authorization": f"Bearer {holder.session_token}"}
    response = api.put(LANGUAGE, json={"language": "ja"}, headers=bearer)
    assert response.status_code == 200, response.text
    assert response.json() == {"language": "ja"}
    assert _language(holder.account_id) == "ja"
    assert _changes(holder.account_id) == [
        ("holder", str(holder.account_id), {"from": "en", "to": "ja"})
    ]
    # The same language again changes nothing and records nothing.
    assert api.put(LANGUAGE, json={"language": "ja"}, headers=bearer).status_code == 200
    assert len(_changes(holder.account_id)) == 1

    assert api.post("/api/v1/me/lock", headers=bearer).status_code == 200
    with unit_of_work() as db:
        sent = outbox(db, holder.account_id, "account_locked")
    assert {m.channel for m in sent} == {"app", "sms", "email"}
    assert {m.language for m in sent} == {"ja"}
    assert all("ロック" in m.text for m in sent), [m.text for m in sent]


def test_the_cookie_needs_the_csrf_header(api: TestClient) -> None:
    holder = _holder()
    api.cookies.set(COOKIE, holder.session_token)
    forged = api.put(LANGUAGE, json={"language": "ko"})
    assert forged.status_code == 403 and forged.json()["error"]["code"] == "CSRF_FAILED"
    assert _language(holder.account_id) == "en"
    token = service.holder_csrf_token(holder.session_token)
    response = api.put(LANGUAGE, json={"language": "ko"}, headers={CSRF_HEADER: token})
    assert response.status_code == 200 and response.json() == {"language": "ko"}
    assert _language(holder.account_id) == "ko"
    # The profile and the cookie session report it.
    assert api.get("/api/v1/me").json()["language"] == "ko"
    assert api.get("/api/v1/identity/sessions/current").json()["language"] == "ko"


def test_an_unknown_language_is_refused_in_the_callers_language(api: TestClient) -> None:
    holder = _holder()
    bearer = {"Authorization": f"Bearer {holder.session_token}"}
    for language, asked in (("fr", "vi"), ("JA", "zh"), ("", "ko"), ("en-US", "ja")):
        response = api.put(
            LANGUAGE, json={"language": language}, headers={**bearer, "Accept-Language": asked}
        )
        assert response.status_code == 422, (language, response.text)
        error = response.json()["error"]
        assert error["code"] == "UNSUPPORTED_LANGUAGE"
        assert error["details"] == {"allowed": ["vi", "en", "zh", "ko", "ja"]}
        expected = gettext(asked, UNSUPPORTED, languages="vi, en, zh, ko, ja")
        assert error["message"] == expected and expected != UNSUPPORTED % {
            "languages": "vi, en, zh, ko, ja"
        }
    assert _language(holder.account_id) == "en" and _changes(holder.account_id) == []
    # No credential: nothing to change.
    anonymous = api.put(LANGUAGE, json={"language": "vi"}, headers={"Authorization": ""})
    assert anonymous.status_code == 401
