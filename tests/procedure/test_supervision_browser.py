"""The supervision pages in a real browser (headless Chromium): a lock asked by another agency
recorded by an officer, approved by a supervisor and lifted; the person's profile opened with a
stated reason; the campaign dashboard after a seeded day, with its CSV export. One sign-in per
browser serves every tab; every page passes axe (nothing serious or critical) and its CSP."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from eid.authority.models import Account
from eid.core import clock
from eid.core.audit import AuditEvent
from eid.core.database import unit_of_work
from eid.enrolment.models import Application
from eid.notify.models import Notification
from eid.staff.models import Officer
from tests.conftest import SHOTS
from tests.procedure.conftest import PASSWORD, new_officer
from tests.web.axe import axe_scan
from tests.web.browser import assert_session_unreadable, watch_csp


def _active_account(registry_ref: str) -> str:
    from eid.authority.service import (
        activate,
        new_activation_code,
        receive_account_request,
        sign_request,
    )
    from eid.core.audit import Actor
    from tests.authority.factories import account_request

    message = account_request(registry_ref=registry_ref, full_name="PARK SOO AH")
    with unit_of_work() as session:
        receive_account_request(session, message, sign_request(message), portrait=None)
        account = session.execute(
            select(Account).where(Account.registry_ref == registry_ref)
        ).scalar_one()
        code = new_activation_code(session, account.id, actor=Actor.system("tests"))
        activate(session, account.eid_number, code)
        return account.eid_number


def _sign_in(page: Any, live: str, path: str, role: str, office: str = "HN-01") -> str:
    name, code = new_officer(role, office)
    page.goto(f"{live}{path}")
    if page.locator("#who").is_visible():
        page.click("#sign-out")
        page.wait_for_selector("#login", state="visible")
    page.fill("#login [name=username]", name)
    page.fill("#login [name=password]", PASSWORD)
    page.fill("#login [name=totp]", code)
    page.click("#login button")
    page.wait_for_selector("#who", state="visible")
    return name


def _no_blocking_violations(page: Any) -> None:
    found = axe_scan(page)
    assert found == [], [str(v) for v in found]


def _audit(action: str, subject: str | None = None) -> list[AuditEvent]:
    with unit_of_work() as session:
        stmt = select(AuditEvent).where(AuditEvent.action == action)
        if subject is not None:
            stmt = stmt.where(AuditEvent.subject_id == subject)
        return list(session.execute(stmt).scalars())


def _application(
    form: dict[str, Any], *, office: str, officer: uuid.UUID, **fields: Any
) -> Application:
    """An application row of a TK01 form (a seeded past, not a walk through the procedure)."""
    born = form["date_of_birth"]
    return Application(
        id=uuid.uuid4(),
        office_code=office,
        created_by=officer,
        full_name=form["full_name"],
        date_of_birth=born if isinstance(born, dt.date) else dt.date.fromisoformat(born),
        sex=form.get("sex", "F"),
        nationality=form["nationality"],
        passport=form["passport"],
        residence_card=form["residence_card"],
        address=form["address"],
        phone=form["phone"],
        email=form["email"],
        language="ko",
        integrations={},
        **fields,
    )


def _refused_application(person: dict[str, Any], ref: str) -> str:
    """An earlier application of the person, refused after its checks (as verification leaves
    one: the run's checks, the face held for review, a supervisor's refusal)."""
    from eid.verification.models import ApplicationCheck
    from tests.procedure.conftest import tk01

    new_officer("officer", "HN-01")
    with unit_of_work() as session:
        officer = (
            session.execute(select(Officer).where(Officer.office_code == "HN-01")).scalars().first()
        )
        assert officer is not None
        form = tk01(person)
        app = _application(
            form,
            office="HN-01",
            officer=officer.id,
            status="rejected",
            registry_ref=ref,
            verification_run=1,
            decided_at=clock.now() - dt.timedelta(days=30),
            rejection_code="REVIEW_REJECTED",
            created_at=clock.now() - dt.timedelta(days=31),
        )
        session.add(app)
        session.flush()
        for name, outcome in (
            ("registry_record", "pass"),
            ("passport", "pass"),
            ("face_1to1", "review"),
            ("duplicates_1toN", "pass"),
        ):
            session.add(ApplicationCheck(application_id=app.id, run=1, name=name, outcome=outcome))
        return str(app.id)


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_agency_lock_requested_approved_lifted_and_the_profile_opened_with_a_reason(
    registry_person: Callable[..., dict[str, Any]], live: str, page: Any
) -> None:
    from eid.registry.service import ReferenceRegistry

    person = registry_person(number="P40000004", name="PARK SOO AH")
    with unit_of_work() as session:
        record = ReferenceRegistry(session).find_by_passport(person["passport"]["number"])
        assert record is not None
        ref = record.person_ref
    eid_number = _active_account(ref)
    refused = _refused_application(person, ref)
    csp = watch_csp(page)

    # An officer records the request: nothing is locked yet.
    _sign_in(page, live, "/locks", "officer")
    assert_session_unreadable(page)
    # The header shows an officer the pages of their role only.
    links = page.locator("nav.pages a:visible").all_inner_texts()
    assert len(links) == 2, links  # intake and agency locks
    page.wait_for_selector("#lock-form", state="visible")
    page.fill("#lock-form [name=eid_number]", eid_number)
    page.select_option("#lock-form [name=ground]", "agency_request")
    page.fill("#lock-form [name=agency]", "Công an TP Hà Nội, PC03")
    page.fill("#lock-form [name=reference]", "123/QĐ-PC03")
    page.fill("#lock-form [name=note]", "decision received by post on the day")
    page.click("#lock-form button")
    requested = page.locator(f"article.lock[data-eid='{eid_number}']")
    requested.wait_for()
    assert requested.get_attribute("data-status") == "requested"
    assert requested.locator(".decide").is_hidden()  # an officer does not decide
    _no_blocking_violations(page)

    # One sign-in per browser: a second tab is signed in already.
    second = page.context.new_page()
    second.goto(f"{live}/locks")
    second.wait_for_selector(f"article.lock[data-eid='{eid_number}']")
    assert second.locator("#login-box").is_hidden()
    second.close()

    # A supervisor (another officer) approves: the account locks, the holder is told.
    _sign_in(page, live, "/locks", "supervisor")
    # Their one sign-in serves every officer page, in any tab; each passes axe.
    for path in ("/reviews", "/profiles", "/dashboard"):
        tab = page.context.new_page()
        tab.goto(f"{live}{path}")
        tab.wait_for_load_state("networkidle")
        assert tab.locator("#login-box").is_hidden() and tab.locator("#who").is_visible()
        assert tab.locator("nav.pages a").count() == 5
        _no_blocking_violations(tab)
        tab.close()
    lock = page.locator(f"article.lock[data-eid='{eid_number}']")
    lock.locator(".decide textarea").fill("decision 123/QĐ-PC03 checked with the agency")
    _shot(page, "agency-locks")
    lock.locator(".decide button[value=approve]").click()
    page.wait_for_selector(f"article.lock[data-eid='{eid_number}'][data-status=active]")
    with unit_of_work() as session:
        account = session.execute(
            select(Account).where(Account.eid_number == eid_number)
        ).scalar_one()
        assert account.status == "locked" and account.lock_grounds == ["agency_request"]
        told = session.execute(
            select(Notification.language).where(
                Notification.recipient_id == account.id, Notification.template == "account_locked"
            )
        ).scalars()
        assert set(told) == {"ko"}  # the holder's language
    _no_blocking_violations(page)

    # The agency lifts its ground: recorded, and the account unlocks.
    lock = page.locator(f"article.lock[data-eid='{eid_number}']")
    lock.locator(".lift [name=reference]").fill("130/QĐ-PC03")
    lock.locator(".lift textarea").fill("the agency lifted its decision")
    lock.locator(".lift button").click()
    page.wait_for_selector(f"#closed tr[data-status=lifted] >> text={eid_number}")
    with unit_of_work() as session:
        account = session.execute(
            select(Account).where(Account.eid_number == eid_number)
        ).scalar_one()
        assert account.status == "active" and account.lock_grounds == []
        account_id = str(account.id)
    steps = ("agency_lock.requested", "agency_lock.approved", "agency_lock.lifted")
    assert [len(_audit(step, account_id)) for step in steps] == [1, 1, 1]

    # The person's profile: the reason first, then the data; the opening is audited with it.
    page.goto(f"{live}/profiles")
    page.wait_for_selector("#search", state="visible")
    assert page.locator("#profile").is_hidden()
    page.select_option("#search [name=by]", "passport")
    page.fill("#search [name=query]", person["passport"]["number"])
    page.select_option("#search [name=purpose]", "agency_request")
    page.fill("#search [name=note]", "file 123/QĐ-PC03")
    page.click("#search button")
    page.wait_for_selector("#profile", state="visible")
    assert page.inner_text("#profile-name") == "PARK SOO AH"
    row = page.locator(f"#accounts tr[data-eid='{eid_number}']")
    assert row.get_attribute("data-status") == "active"
    assert "130/QĐ-PC03" not in row.inner_text() and "123/QĐ-PC03" in row.inner_text()
    assert "P40000004" in page.inner_text("#documents")
    # The earlier application, with its checks and the refusal in words, not codes.
    earlier = page.locator("#applications .application[data-status=rejected]")
    assert earlier.count() == 1, refused
    checks = earlier.locator("tr[data-check]")
    assert [c.get_attribute("data-check") for c in checks.all()] == [
        "registry_record",
        "passport",
        "face_1to1",
        "duplicates_1toN",
    ]
    words = earlier.inner_text()
    assert "REVIEW_REJECTED" not in words and "face_1to1" not in words, words
    assert earlier.locator(".refusal").inner_text().strip() != ""
    opened = _audit("profile.opened", ref)
    assert [e.reason for e in opened] == ["agency_request: file 123/QĐ-PC03"]
    _no_blocking_violations(page)
    _shot(page, "profile")
    csp.assert_clean()


def _seed_day(day: dt.date) -> None:
    """A day at two offices: applications submitted, issued (one late), refused, in review."""
    from tests.procedure.conftest import tk01

    with unit_of_work() as session:
        officers = {
            o.office_code: o.id
            for o in session.execute(
                select(Officer).where(Officer.office_code.in_(("HN-01", "HCM-01")))
            ).scalars()
        }
    noon = dt.datetime.combine(day, dt.time(5, 0), tzinfo=dt.UTC)  # 12:00 in Viet Nam
    plan = [
        ("HN-01", "issued", 20, None),
        ("HN-01", "issued", 30, None),
        ("HN-01", "issued", 100, None),
        ("HN-01", "rejected", 10, "REVIEW_REJECTED"),
        ("HN-01", "in_review", None, None),
        ("HCM-01", "issued", 50, None),
        ("HCM-01", "issued", 200, None),
        ("HCM-01", "rejected", 5, "VERIFICATION_FAILED"),
        ("HCM-01", "submitted", None, None),
    ]
    with unit_of_work() as session:
        for n, (office, status, hours, code) in enumerate(plan):
            form = tk01(
                {
                    "full_name": f"SEED PERSON {n}",
                    "date_of_birth": dt.date(1990, 1, 1 + n),
                    "sex": "F",
                    "nationality": "KOR",
                    "passport": {
                        "number": f"S{n:08d}",
                        "type": "P",
                        "issuing_state": "KOR",
                        "issue_date": "2022-01-01",
                        "expiry_date": "2032-01-01",
                    },
                    "residence_card": {
                        "number": f"TS{n:07d}",
                        "kind": "TRC",
                        "expiry_date": "2028-01-01",
                    },
                }
            )
            decided = noon + dt.timedelta(hours=hours) if hours is not None else None
            session.add(
                _application(
                    form,
                    office=office,
                    officer=officers[office],
                    status=status,
                    submitted_at=noon,
                    submitted_on=day,
                    legal_deadline=day + dt.timedelta(days=3),
                    decided_at=decided,
                    rejection_code=code,
                    created_at=noon,
                )
            )


def test_dashboard_after_a_seeded_day_with_charts_filters_and_csv(live: str, page: Any) -> None:
    new_officer("officer", "HCM-01")  # the offices and their officers exist
    new_officer("officer", "HN-01")
    day = clock.today_vn() - dt.timedelta(days=10)
    _seed_day(day)
    csp = watch_csp(page)
    _sign_in(page, live, "/dashboard", "auditor")
    page.wait_for_selector("#chart-days[data-loaded=yes]")
    # Times in Viet Nam's time, to the minute (no seconds, no microseconds).
    scope = page.inner_text("#scope")
    assert not re.search(r"\d:\d\d:\d\d", scope) and "." not in scope.split("·")[-1], scope
    bars = page.locator("#chart-days svg rect")
    assert bars.count() == 14 * 4  # 14 days, four series
    titles = page.locator("#chart-days svg rect title").all_text_contents()
    seeded = day.strftime("%m-%d")
    assert any(t.startswith(f"{seeded} ·") and t.endswith(": 9") for t in titles), titles
    deadline = page.locator("#chart-deadline svg").inner_html()
    assert "<title>" in deadline
    # Refusals by reason, in words: the codes stay in the data, not on the page.
    reasons = page.locator("#chart-refused svg rect")
    assert sorted(r.get_attribute("data-code") for r in reasons.all()) == [
        "REVIEW_REJECTED",
        "VERIFICATION_FAILED",
    ]
    refused_words = " ".join(page.locator("#chart-refused svg text").all_text_contents())
    assert "_" not in refused_words and re.search(r"[^\W\d]", refused_words), refused_words
    hours = page.locator("#chart-hours svg rect title").all_text_contents()
    assert sum(int(t.rsplit(": ", 1)[1]) for t in hours) == 5  # five issued
    _no_blocking_violations(page)
    _shot(page, "dashboard")

    # Filtered to one office.
    page.fill("#filters [name=office]", "HCM-01")
    page.click("#filters button")
    page.wait_for_function("() => document.querySelector('#period').textContent.includes('HCM-01')")
    offices = page.locator("#chart-offices svg text").all_text_contents()
    assert "HCM-01" in offices and "HN-01" not in offices
    # The CSV export, with the page's session; audited.
    href = page.get_attribute("#csv", "href")
    assert href is not None and "office=HCM-01" in href
    exports = len(_audit("campaign.exported", "HCM-01"))
    answer = page.request.get(f"{live}{href}")
    assert answer.status == 200 and answer.headers["content-type"].startswith("text/csv")
    lines = answer.text().splitlines()
    assert lines[0] == "day,office,submitted,issued,activated,refused"
    assert f"{day.isoformat()},HCM-01,4,0,0,1" in lines  # issued on later days
    assert len(_audit("campaign.exported", "HCM-01")) == exports + 1
    assert "SEED PERSON" not in answer.text()
    assert_session_unreadable(page)
    csp.assert_clean()
