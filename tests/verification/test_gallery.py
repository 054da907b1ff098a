"""The in-memory 1:N index is loaded from the gallery table in bounded batches."""

from __future__ import annotations

import datetime as dt
import uuid

import httpx
import numpy as np
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from eid.biometrics.face import serialize_face_template
from eid.biometrics.matcher import EngineMatcher
from eid.core.audit import Actor
from eid.core.crypto import seal
from eid.enrolment.models import Application
from eid.staff.service import create_officer
from eid.verification.gallery import Gallery, face_aad
from eid.verification.models import IdentityTemplate
from eid.wiring import Ports
from tests.support import LiveServer, WorkerThread


def _face(rng: np.random.Generator) -> bytes:
    vector = rng.standard_normal(128).astype(np.float32)
    return serialize_face_template(vector / np.linalg.norm(vector))


def _issued(
    session: Session, count: int, rng: np.random.Generator
) -> list[tuple[Application, bytes]]:
    """`count` applications of one new officer, each with a random face, not yet in the gallery."""
    office = f"HN-{uuid.uuid4().hex[:4]}"
    officer = create_officer(
        session,
        username=f"gallery.{uuid.uuid4().hex[:8]}",
        password="a long enough password",
        office=office,
        role="officer",
        actor=Actor.system("test"),
    )
    made = []
    for i in range(count):
        app = Application(
            office_code=office,
            created_by=officer.id,
            full_name=f"PERSON {i}",
            date_of_birth=dt.date(1990, 1, 1),
            sex="F",
            nationality="JPN",
            passport={"number": f"TG{i:07d}", "issuing_state": "KOR"},
            passport_key=uuid.uuid4().hex,
            residence_card={"number": f"TT{i:07d}"},
            address="1 Kim Ma, Ha Noi",
            phone="+84912345678",
            language="en",
        )
        session.add(app)
        session.flush()
        made.append((app, _face(rng)))
    return made


def _sealed(app: Application, face: bytes) -> bytes:
    return seal(face, aad=face_aad(app.id))


def test_gallery_loads_in_batches_and_skips_withdrawn_templates(db: Session) -> None:
    issued = _issued(db, 25, np.random.default_rng(5))
    for i, (app, face) in enumerate(issued):
        sealed = None if i == 3 else _sealed(app, face)
        db.add(IdentityTemplate(application_id=app.id, face=sealed, active=i != 7))
    db.flush()

    matcher = EngineMatcher()
    gallery = Gallery(matcher)
    gallery.sync(db, batch=10)  # three batches: 10, 10, 5
    assert matcher.indexed() == 23  # no face on row 3; row 7 withdrawn
    probe_app, probe = issued[0]
    assert matcher.search_faces(probe, 1)[0][0] == str(probe_app.id)
    gallery.sync(db, batch=10)  # nothing new: the cursor holds
    assert matcher.indexed() == 23


def test_warm_up_at_worker_start_loads_the_committed_gallery(committed: Engine) -> None:
    from eid.core.database import unit_of_work
    from eid.wiring import build_ports
    from eid.worker import warm_up

    with unit_of_work() as session:
        [(app, face)] = _issued(session, 1, np.random.default_rng(8))
        session.add(IdentityTemplate(application_id=app.id, face=_sealed(app, face)))
        app_id = app.id
    ports = build_ports()
    warm_up(ports).join(timeout=60)
    assert ports.matcher.search_faces(face, 1)[0][0] == str(app_id)


# Two tests in this order: a face one test puts in the gallery is not found by the next.
_ENROLLED_BY_THE_FIRST: list[tuple[uuid.UUID, bytes]] = []


def test_a_face_enters_this_tests_gallery(committed: Engine, ports: Ports) -> None:
    from eid.core.database import unit_of_work

    with unit_of_work() as session:
        [(app, face)] = _issued(session, 1, np.random.default_rng(11))
        session.add(IdentityTemplate(application_id=app.id, face=_sealed(app, face)))
        app_id = app.id
    with unit_of_work() as session:
        ports.gallery.sync(session)  # as the verification job does before its search
    assert ports.matcher.search_faces(face, 1)[0][0] == str(app_id)
    _ENROLLED_BY_THE_FIRST.append((app_id, face))


def test_the_next_test_starts_from_an_empty_gallery(
    committed: Engine, ports: Ports, _live: LiveServer, live: str, worker_thread: WorkerThread
) -> None:
    from sqlalchemy import func, select

    from eid.core.database import unit_of_work

    assert _ENROLLED_BY_THE_FIRST, "runs after test_a_face_enters_this_tests_gallery"
    [(_, face)] = _ENROLLED_BY_THE_FIRST
    with unit_of_work() as session:
        assert session.execute(select(func.count()).select_from(IdentityTemplate)).scalar_one() == 0
        ports.gallery.sync(session)
    assert ports.matcher.indexed() == 0
    assert ports.matcher.search_faces(face, 1) == []
    # The live server and the worker search this test's index, not one left by an earlier test.
    assert worker_thread.worker.context is ports
    assert _live.app.state.ports is ports
    assert httpx.get(f"{live}/healthz").status_code == 200
