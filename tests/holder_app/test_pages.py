"""The signed-in holder's pages over HTTP: each needs the session, shows the account's own data
in the holder's language, and each view is an audited read."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from eid.core.audit import AuditEvent
from eid.core.database import unit_of_work
from eid.i18n import SUPPORTED, gettext
from tests.web.test_pages import assert_page_is_safe

PAGES = (
    "/app/home",
    "/app/status",
    "/app/card",
    "/app/documents",
    "/app/inbox",
    "/app/history",
    "/app/consents",
)


@pytest.mark.parametrize("path", PAGES)
def test_a_page_without_a_session_sends_the_browser_to_sign_in(api: Any, path: str) -> None:
    response = api.get(f"{path}?lang=ko", follow_redirects=False)
    assert response.status_code == 303
    assert (
        response.headers["location"] == f"/app/sign-in?next={path.replace('/', '%2F')}%3Flang%3Dko"
    )


@pytest.mark.parametrize("path", PAGES)
def test_each_page_shows_the_holders_data_and_is_audited(
    signed_in: Any, holder: Any, path: str
) -> None:
    for lang in SUPPORTED:
        response = signed_in.get(f"{path}?lang={lang}")
        assert response.status_code == 200, response.text
        assert_page_is_safe(response)
        assert f'<html lang="{lang}"' in response.text
        assert gettext(lang, "Sign out", domain="pages") in response.text
    with unit_of_work() as db:
        views = db.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "holder.page_viewed",
                AuditEvent.subject_id == str(holder.account_id),
            )
        ).all()
    assert len(views) == len(SUPPORTED)
    assert {v.details["page"] for v in views} == {path.removeprefix("/app/")}


def test_home_names_the_holder_and_the_account_state(signed_in: Any, holder: Any) -> None:
    html = signed_in.get("/app/home?lang=vi").text
    assert "NGUYEN VAN A" in html and holder.eid_number in html
    assert gettext("vi", "Level 2", domain="pages") in html
    assert gettext("vi", "Active", domain="pages") in html


def test_the_card_carries_a_qr_code_a_camera_reads(signed_in: Any, holder: Any) -> None:
    from eid.wallet import qr

    html = signed_in.get("/app/card?lang=en").text
    assert '<svg aria-hidden="true"' in html and "<style" not in html
    assert 'role="img" aria-label="QR code of your e-residence card"' in html
    assert holder.eid_number in html and "M12345678" in html
    link = html.split('data-link="', 1)[1].split('"', 1)[0]
    assert "/v/" in link
    measured = qr.density(link, error="m")
    assert measured.version <= 5 and measured.readable, measured
    # Whoever scans it sees the card's state and a few claims, without signing in.
    signed_in.cookies.clear()
    check = signed_in.get("/v/" + link.rsplit("/", 1)[1])
    assert check.status_code == 200 and "NGUYEN VAN A" in check.text
    assert "This e-residence card is valid now." in check.text
    assert "M12345678" not in check.text and holder.eid_number not in check.text
    assert signed_in.get("/v/" + "A" * 22).status_code == 404


def test_a_scanned_card_of_a_locked_account_is_not_valid(signed_in: Any, holder: Any) -> None:
    from eid.authority import service as authority
    from tests.identity.factories import TEST_ACTOR

    html = signed_in.get("/app/card?lang=en").text
    token = html.split('data-link="', 1)[1].split('"', 1)[0].rsplit("/", 1)[1]
    with unit_of_work() as db:
        authority.add_lock_ground(db, holder.account_id, "passport_expired", actor=TEST_ACTOR)
    check = signed_in.get(f"/v/{token}?lang=ko")
    assert check.status_code == 200
    assert (
        gettext("ko", "This e-residence card is suspended now: do not accept it.", domain="pages")
        in check.text
    )
    # The holder's own pages stop with the lock, as the API does.
    assert signed_in.get("/app/home", follow_redirects=False).status_code == 303


def test_status_lists_the_holders_applications(signed_in: Any) -> None:
    """This holder's account came straight from the authority (no application on file)."""
    html = signed_in.get("/app/status?lang=vi").text
    assert gettext("vi", "There is no application for your account.", domain="pages") in html


def test_status_says_whether_the_legal_deadline_was_kept() -> None:
    """Dates are Viet Nam's: a decision at 23:30 UTC on the deadline is a day late there."""
    import datetime as dt
    import uuid

    from eid.web.holder_api import HolderApplicationOut
    from eid.web.holder_app.overview import shown

    deadline = dt.date(2026, 12, 3)

    def item(status: str, decided_at: dt.datetime | None) -> HolderApplicationOut:
        return HolderApplicationOut(
            id=uuid.uuid4(),
            level=2,
            status=status,
            submitted_on=dt.date(2026, 11, 30),
            legal_deadline=deadline,
            decided_at=decided_at,
            eid_number=None,
        )

    on_time = item("issued", dt.datetime(2026, 12, 3, 16, 0, tzinfo=dt.UTC))  # 23:00 in Ha Noi
    late = item("rejected", dt.datetime(2026, 12, 3, 17, 30, tzinfo=dt.UTC))  # 00:30 next day
    assert (shown(on_time, deadline).timeliness, shown(on_time, deadline).decided_on) == (
        "on_time",
        deadline,
    )
    assert shown(late, deadline).timeliness == "late"
    assert shown(late, deadline).decided_on == dt.date(2026, 12, 4)
    waiting = item("in_review", None)
    assert shown(waiting, deadline).timeliness is None
    assert shown(waiting, deadline + dt.timedelta(days=1)).timeliness == "overdue"
    assert shown(item("cancelled", None), deadline + dt.timedelta(days=1)).timeliness is None


@pytest.mark.parametrize(
    ("target", "kept"),
    [
        ("/app/status?lang=ko", True),
        ("//evil.example", False),
        ("https://evil.example/app/", False),
        ("/app/..//evil.example", False),
        ("/app/%2e%2e//evil.example", False),
        ("/app/%2F%2Fevil.example", False),
        ("/app/\\evil.example", False),
    ],
)
def test_sign_in_goes_back_only_to_a_page_of_the_app(
    signed_in: Any, target: str, kept: bool
) -> None:
    """Fuzzing: `/app/..//evil.example` passed the `/app/` prefix check, and a browser
    resolves it to `//evil.example`; only plain paths of the app are followed."""
    response = signed_in.get("/app/sign-in", params={"next": target}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == (target if kept else "/app/home")


def test_the_registration_page_names_every_application_status(api: Any) -> None:
    """register.js reads `data-status-<status>` through `dataset` (kebab-case to camelCase): a
    status written with an underscore in the attribute ("in_review") never reaches the page."""
    import re

    from eid.enrolment.models import STATUSES

    page = api.get("/app/register?lang=en").text
    attributes = set(re.findall(r"data-(status-[a-z-]+)=", page))
    for status in STATUSES:
        assert f"status-{status.replace('_', '-')}" in attributes, status
