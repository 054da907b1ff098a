"""Supervisors see submitted applications whose legal deadline has passed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import update

from eid.core import clock
from eid.core.database import unit_of_work
from tests.procedure.conftest import tk01


def test_overdue_list_for_supervisors(
    make_officer: Callable[..., httpx.Client],
    registry_person: Callable[..., dict[str, Any]],
) -> None:
    from eid.enrolment.models import Application

    officer = make_officer("officer")
    supervisor = make_officer("supervisor")
    person = registry_person(number="D40000004", name="MUELLER ANNA", nationality="DEU")
    app_id = officer.post("/api/v1/applications", json=tk01(person)).json()["id"]
    # Stand for an application submitted two weeks ago that the authority has not answered.
    submitted_on = clock.today_vn() - dt.timedelta(days=14)
    with unit_of_work() as session:
        session.execute(
            update(Application)
            .where(Application.id == app_id)
            .values(
                status="submitted",
                submitted_on=submitted_on,
                legal_deadline=submitted_on + dt.timedelta(days=5),
            )
        )
    assert officer.get("/api/v1/applications/overdue").status_code == 403
    overdue = supervisor.get("/api/v1/applications/overdue").json()
    assert [row["id"] for row in overdue] == [app_id]
    other_office = make_officer("supervisor", office="DN-01")
    assert other_office.get("/api/v1/applications/overdue").json() == []
