"""A worker killed (SIGKILL) in the middle of issuance loses nothing and does nothing twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine

from eid.core import clock
from eid.core.database import unit_of_work
from eid.core.jobs import LEASE
from tests.procedure.conftest import tk01, verify_phone
from tests.support import Peers, WorkerThread, wait_until


def _count(model: Any, *where: Any) -> int:
    with unit_of_work() as session:
        return int(
            session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()
        )


def test_worker_killed_mid_issuance(
    make_officer: Callable[..., httpx.Client],
    registry_person: Callable[..., dict[str, Any]],
    shared_data: Path,
    engine: Engine,
    worker_thread: WorkerThread,
    peers: Peers,
) -> None:
    from eid.authority.models import Account
    from eid.core.jobs import Job
    from eid.notify.models import Notification

    faces, prints = shared_data / "faces", shared_data / "fingerprints"
    person = registry_person(number="R55555555", name="IVANOV OLGA", nationality="RUS")
    officer = make_officer("officer")
    app_id = officer.post("/api/v1/applications", json=tk01(person)).json()["id"]
    officer.put(
        f"/api/v1/applications/{app_id}/portrait",
        content=(faces / "df09_deepface_img12.jpg").read_bytes(),
    )
    for pos, name in ((2, "pyfnprint_011_1.png"), (7, "pyfnprint_012_1.png")):
        officer.put(
            f"/api/v1/applications/{app_id}/fingerprints/{pos}",
            content=(prints / name).read_bytes(),
        )
    officer.post(f"/api/v1/applications/{app_id}/verification")
    wait_until(lambda: officer.get(f"/api/v1/applications/{app_id}").json()["status"] == "verified")
    verify_phone(officer, app_id, peers[1])
    officer.post(
        f"/api/v1/applications/{app_id}/consent",
        json={"by": "applicant", "text_version": "2025-07-v1", "language": "vi"},
    )

    # Hold the notifications table: issuance then blocks half-way, after the account row is
    # written in its transaction and before the holder's messages are. The test's own worker
    # is paused so that the worker process under test is the one inside issuance.
    worker_thread.pause()
    r = officer.post(f"/api/v1/applications/{app_id}/submission")
    assert r.status_code == 200, r.text
    blocker = engine.connect()
    tx = blocker.begin()
    blocker.execute(text("LOCK TABLE notifications IN ACCESS EXCLUSIVE MODE"))
    proc = None
    try:
        env = dict(os.environ) | peers.env()  # the process delivers to the same peers
        proc = subprocess.Popen(
            [sys.executable, "-m", "eid.cli", "worker", "--concurrency", "1"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        # The worker process is now inside issuance, waiting on the lock (PostgreSQL signals
        # nothing here: polled, each look on a connection given back to the pool).
        def blocked_on_notifications() -> bool:
            with engine.connect() as conn:
                waiting = conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND query ILIKE '%notifications%'"
                    )
                ).scalar_one()
            return bool(waiting > 0)

        waiting = wait_until(blocked_on_notifications, timeout=30)
        assert waiting
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        tx.rollback()
        blocker.close()
        if proc and proc.poll() is None:
            proc.kill()

    assert _count(Account) == 0, "the killed transaction left no account behind"
    # The killed worker's claim stays `running` until its lease and its heartbeat have both
    # run out (30 s); move the clock past them rather than wait, then a worker finishes it.
    clock.shift(LEASE + timedelta(seconds=1))
    worker_thread.resume()
    wait_until(
        lambda: officer.get(f"/api/v1/applications/{app_id}").json()["status"] == "issued",
        timeout=90,
    )
    assert _count(Account) == 1
    per_channel = {}
    with unit_of_work() as session:
        rows = session.execute(
            select(Notification.channel, func.count())
            .where(Notification.template == "account_issued")
            .group_by(Notification.channel)
        ).all()
        per_channel = {c: n for c, n in rows}
    assert per_channel == {"email": 1, "sms": 1, "app": 1}
    assert _count(Job, Job.task == "authority.account_request", Job.status == "done") == 1
