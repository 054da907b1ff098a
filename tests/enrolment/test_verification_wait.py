"""Waiting for verification's outcome on PostgreSQL LISTEN/NOTIFY: woken by the worker's commit,
not by polling, and None when the wait runs out."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
import uuid

from sqlalchemy import select
from sqlalchemy.engine import Engine

from eid.core.audit import Actor
from eid.core.database import unit_of_work
from eid.enrolment import service
from eid.enrolment.models import Application
from eid.enrolment.state import transition
from eid.staff.service import create_officer

SYSTEM = Actor.system("test")


def _captured_application() -> uuid.UUID:
    office = f"HN-{uuid.uuid4().hex[:4]}"
    with unit_of_work() as session:
        officer = create_officer(
            session,
            username=f"wait.{uuid.uuid4().hex[:8]}",
            password="a long enough password",
            office=office,
            role="officer",
            actor=SYSTEM,
        )
        app = Application(
            office_code=office,
            created_by=officer.id,
            status="captured",
            full_name="PERSON",
            date_of_birth=dt.date(1990, 1, 1),
            sex="F",
            nationality="JPN",
            passport={"number": "TW0000001", "issuing_state": "TWN"},
            passport_key=uuid.uuid4().hex,
            residence_card={"number": "TT0000001"},
            address="1 Kim Ma, Ha Noi",
            phone="+84912345678",
            language="en",
        )
        session.add(app)
        session.flush()
        return app.id


def _verify_later(app_id: uuid.UUID, delay: float) -> threading.Thread:
    def run() -> None:
        time.sleep(delay)  # stands for the worker's run, so the wait has started first
        with unit_of_work() as session:
            app = session.execute(select(Application).where(Application.id == app_id)).scalar_one()
            transition(session, app, "verified", actor=SYSTEM, reason="all checks passed")

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_the_wait_ends_at_the_commit_that_moves_the_application_on(committed: Engine) -> None:
    app_id = _captured_application()
    worker = _verify_later(app_id, 0.5)
    started = time.monotonic()
    status = asyncio.run(service.wait_for_verification(app_id, timeout=20))
    waited = time.monotonic() - started
    worker.join()
    assert status == "verified"
    assert 0.4 < waited < 5, waited  # woken by the notice, long before the timeout


def test_the_wait_gives_up_after_its_timeout(committed: Engine) -> None:
    app_id = _captured_application()
    started = time.monotonic()
    assert asyncio.run(service.wait_for_verification(app_id, timeout=0.5)) is None
    assert 0.4 < time.monotonic() - started < 5
