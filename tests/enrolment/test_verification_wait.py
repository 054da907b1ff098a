"""Waiting for verification's outcome on PostgreSQL LISTEN/NOTIFY: woken by the worker's commit,
not by polling, and None when the wait runs out."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
import uuid

from sqlalchemy import select, text
from sqlalchemy.engine import Engine

from eid.core.audit import Actor
from eid.core.database import unit_of_work
from eid.enrolment import service
from eid.enrolment.models import Application
from eid.enrolment.state import transition
from eid.staff.service import create_officer
from tests.support import wait_until

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


def _waiting_on_notices(engine: Engine) -> bool:
    """Whether a waiter has read the status after its LISTEN and found nothing yet: from then
    on only a notice can end its wait. PostgreSQL has no signal for this, so it is polled."""
    with engine.connect() as conn:
        return bool(
            conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND state = 'idle' AND query LIKE 'SELECT status FROM applications%'"
                )
            ).scalar_one()
        )


def _verify_later(app_id: uuid.UUID, engine: Engine, committing: list[float]) -> threading.Thread:
    def run() -> None:
        wait_until(lambda: _waiting_on_notices(engine), timeout=20, every=0.01)
        with unit_of_work() as session:
            app = session.execute(select(Application).where(Application.id == app_id)).scalar_one()
            transition(session, app, "verified", actor=SYSTEM, reason="all checks passed")
            committing.append(time.monotonic())  # the commit (and its notice) comes next

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_the_wait_ends_at_the_commit_that_moves_the_application_on(committed: Engine) -> None:
    app_id = _captured_application()
    committing: list[float] = []
    worker = _verify_later(app_id, committed, committing)
    status = asyncio.run(service.wait_for_verification(app_id, timeout=20))
    returned = time.monotonic()
    worker.join()
    assert status == "verified"
    # Woken by the notice: after the worker's commit (the waiter had already read `captured`),
    # and long before the timeout.
    [commit] = committing
    assert 0 < returned - commit < 5, returned - commit


def test_the_wait_gives_up_after_its_timeout(committed: Engine) -> None:
    app_id = _captured_application()
    started = time.monotonic()
    assert asyncio.run(service.wait_for_verification(app_id, timeout=0.5)) is None
    assert 0.4 < time.monotonic() - started < 5
