from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from eid.core import clock, jobs
from eid.core.database import unit_of_work
from eid.core.errors import EidError
from eid.core.heartbeat import WorkerHeartbeat
from eid.core.jobs import Job, Worker, enqueue, task

calls: list[dict[str, Any]] = []


@task("test.record")
def _record(session: Session, payload: dict[str, Any], _: object) -> None:
    session.execute(
        text("INSERT INTO offices (code, name, province) VALUES (:c, 'x', 'y')"),
        {"c": payload["code"]},
    )
    calls.append(payload)
    if payload.get("fail_times", 0) >= len([c for c in calls if c["code"] == payload["code"]]):
        raise EidError("the gateway is down", code="GATEWAY_DOWN")


def test_rolled_back_request_enqueues_nothing(committed: Engine) -> None:
    try:
        with unit_of_work() as session:
            enqueue(session, "test.record", {"code": "J1"}, key="k-rollback")
            raise ValueError("request failed")
    except ValueError:
        pass
    with unit_of_work() as session:
        assert (
            session.execute(select(Job).where(Job.idempotency_key == "k-rollback")).first() is None
        )


def test_same_key_enqueues_once_and_runs_once(committed: Engine) -> None:
    calls.clear()
    for _ in range(3):
        with unit_of_work() as session:
            enqueue(session, "test.record", {"code": "J2"}, key="k-once")
    assert Worker(context=None).drain() == 1
    assert [c["code"] for c in calls] == ["J2"]


def test_failure_is_retried_with_backoff_and_its_writes_rolled_back(committed: Engine) -> None:
    calls.clear()
    with unit_of_work() as session:
        enqueue(session, "test.record", {"code": "J3", "fail_times": 1}, key="k-retry")
    worker = Worker(context=None)
    worker.drain()
    with unit_of_work() as session:
        job = session.execute(select(Job).where(Job.idempotency_key == "k-retry")).scalar_one()
        assert (job.status, job.attempts) == ("queued", 1)
        assert job.last_error == "GATEWAY_DOWN: the gateway is down"
        assert job.run_at > clock.now()
        assert session.execute(text("SELECT count(*) FROM offices WHERE code='J3'")).scalar() == 0
    clock.shift(timedelta(seconds=5))
    worker.drain()
    with unit_of_work() as session:
        job = session.execute(select(Job).where(Job.idempotency_key == "k-retry")).scalar_one()
        assert (job.status, job.attempts, job.last_error) == ("done", 2, None)
        assert session.execute(text("SELECT count(*) FROM offices WHERE code='J3'")).scalar() == 1


def test_job_gives_up_after_max_attempts_and_says_why(committed: Engine) -> None:
    calls.clear()
    with unit_of_work() as session:
        enqueue(
            session, "test.record", {"code": "J4", "fail_times": 99}, key="k-fail", max_attempts=2
        )
    worker = Worker(context=None)
    for _ in range(3):
        worker.drain()
        clock.shift(timedelta(minutes=1))
    with unit_of_work() as session:
        job = session.execute(select(Job).where(Job.idempotency_key == "k-fail")).scalar_one()
        assert job.status == "dead" and job.attempts == 2
        assert jobs.queue_counts(session).get("dead", 0) >= 1
        assert [(d.task, d.last_error) for d in jobs.dead_letters(session)] == [
            ("test.record", "GATEWAY_DOWN: the gateway is down")
        ]


def test_a_dead_workers_job_is_reaped_and_run(committed: Engine) -> None:
    calls.clear()
    with unit_of_work() as session:
        enqueue(session, "test.record", {"code": "J5"}, key="k-reap")
    dead = Worker(context=None, name="dead", lease=timedelta(seconds=30))
    claimed = dead._claim()  # claims, then "dies" before running
    assert claimed is not None
    assert Worker(context=None).drain() == 0  # the lease still holds
    clock.shift(timedelta(seconds=31))
    assert Worker(context=None).drain() == 1
    assert [c["code"] for c in calls] == ["J5"]
    with unit_of_work() as session:
        job = session.execute(select(Job).where(Job.idempotency_key == "k-reap")).scalar_one()
        assert (job.status, job.attempts) == ("done", 2)  # the lost run counted


def test_a_clock_set_back_does_not_put_reaping_off(committed: Engine) -> None:
    """A worker that looked while the clock was days ahead (a test's shift, an NTP step back)
    still reaps a dead worker's job once its lease is over, not days later."""
    calls.clear()
    worker = Worker(context=None)
    clock.shift(timedelta(days=14))
    assert worker.drain() == 0  # looked (and reaped nothing) at the later time
    clock.reset()
    with unit_of_work() as session:
        enqueue(session, "test.record", {"code": "J6"}, key="k-reap-back")
    dead = Worker(context=None, name="dead", lease=timedelta(seconds=30))
    assert dead._claim() is not None
    clock.shift(timedelta(seconds=31))
    assert worker.drain() == 1
    assert [c["code"] for c in calls] == ["J6"]


@task("test.duplicate_office")
def _duplicate(session: Session, payload: dict[str, Any], _: object) -> None:
    for _ in range(2):
        session.execute(
            text("INSERT INTO offices (code, name, province) VALUES (:c, 'x', 'y')"),
            {"c": payload["code"]},
        )


def test_a_failed_jobs_reason_keeps_no_personal_data(committed: Engine) -> None:
    with unit_of_work() as session:
        enqueue(session, "test.duplicate_office", {"code": "NGUYEN VAN A"}, key="k-pii")
    Worker(context=None).drain()
    with unit_of_work() as session:
        job = session.execute(select(Job).where(Job.idempotency_key == "k-pii")).scalar_one()
    assert job.last_error is not None
    assert "NGUYEN" not in job.last_error
    assert "UniqueViolation" in job.last_error and "pk_offices" in job.last_error


@task("test.refused_with_trace")
def _refused(session: Session, payload: dict[str, Any], _: object) -> None:
    session.execute(
        text("INSERT INTO offices (code, name, province) VALUES (:c, 'x', 'y')"),
        {"c": payload["code"]},
    )
    raise EidError("refused", code="REFUSED", keep_writes=payload["keep"])


def test_a_job_refusal_keeps_its_writes_only_when_it_says_so(committed: Engine) -> None:
    """The one rule of requests holds for jobs too: `keep_writes` commits the bookkeeping, any
    other failure leaves nothing; either way the job is retried with its reason."""
    with unit_of_work() as session:
        enqueue(session, "test.refused_with_trace", {"code": "K1", "keep": True}, key="k-keep")
        enqueue(session, "test.refused_with_trace", {"code": "K2", "keep": False}, key="k-drop")
    assert Worker(context=None).drain() == 2
    with unit_of_work() as session:
        offices = session.execute(
            text("SELECT code FROM offices WHERE code IN ('K1', 'K2')")
        ).scalars()
        assert list(offices) == ["K1"]
        jobs_left = session.execute(
            select(Job.status, Job.last_error).where(Job.idempotency_key.in_(["k-keep", "k-drop"]))
        ).all()
    assert sorted(jobs_left) == [("queued", "REFUSED: refused")] * 2


def _job(key: str) -> Job:
    with unit_of_work() as session:
        return session.execute(select(Job).where(Job.idempotency_key == key)).scalar_one()


def test_a_running_job_stays_with_its_worker_while_the_worker_beats(committed: Engine) -> None:
    """However long the job runs: the heartbeat, not the claim's lease, says the worker lives."""
    with unit_of_work() as session:
        enqueue(session, "test.record", {"code": "J6"}, key="k-long")
    slow = Worker(context=None, name="slow", lease=timedelta(seconds=30))
    slow.beat()
    assert slow._claim() is not None
    for _ in range(4):  # two minutes of a job, four leases
        clock.shift(timedelta(seconds=29))
        slow.beat()
        assert Worker(context=None).reap() == 0
    clock.shift(timedelta(seconds=31))  # its beats stopped: it died
    assert Worker(context=None).reap() == 1
    assert (_job("k-long").status, _job("k-long").last_error) == (
        "queued",
        "worker lost (attempt 1 of 8)",
    )


def test_a_job_that_kills_its_worker_is_dead_lettered_after_its_last_attempt(
    committed: Engine,
) -> None:
    with unit_of_work() as session:
        enqueue(session, "test.record", {"code": "J7"}, key="k-poison", max_attempts=3)
    for attempt in (1, 2, 3):
        victim = Worker(context=None, name=f"victim-{attempt}")
        victim.beat()
        assert victim._claim() is not None  # ... and the worker dies running it
        clock.shift(timedelta(seconds=31))
        assert Worker(context=None).reap() == 1
    job = _job("k-poison")
    assert (job.status, job.attempts) == ("dead", 3)
    assert job.last_error == "worker lost (attempt 3 of 3)"
    assert Worker(context=None).drain() == 0  # never taken again
    with unit_of_work() as session:
        assert jobs.queue_counts(session)["dead"] == 1
        assert [d.id for d in jobs.dead_letters(session)] == [job.id]


def test_an_operator_sees_dead_jobs_and_retries_one(committed: Engine) -> None:
    from typer.testing import CliRunner

    from eid.cli import app

    calls.clear()
    with unit_of_work() as session:
        enqueue(
            session, "test.record", {"code": "J8", "fail_times": 1}, key="k-dlq", max_attempts=1
        )
    Worker(context=None).drain()
    runner = CliRunner()
    listed = runner.invoke(app, ["jobs", "list"])
    assert listed.exit_code == 0, listed.output
    shown = json.loads(listed.output)
    assert shown["counts"] == {"dead": 1}
    dead_id = _job("k-dlq").id
    assert [(d["id"], d["task"], d["last_error"]) for d in shown["dead"]] == [
        (dead_id, "test.record", "GATEWAY_DOWN: the gateway is down")
    ]
    retried = runner.invoke(app, ["jobs", "retry", str(dead_id)])
    assert retried.exit_code == 0, retried.output
    assert Worker(context=None).drain() == 1
    assert (_job("k-dlq").status, _job("k-dlq").attempts) == ("done", 1)
    again = runner.invoke(app, ["jobs", "retry", str(dead_id)])
    assert again.exit_code != 0  # only a dead job can be retried


HANGING_WORKER = """
import sys, threading
from eid.core.jobs import Worker, task

@task("test.hang")
def hang(session, payload, context):
    print("running", flush=True)
    threading.Event().wait()  # killed here, in the middle of the job

Worker(context=None, name="doomed").run_forever(idle_sleep=0.05)
"""


@task("test.hang")
def _hang_no_more(session: Session, payload: dict[str, Any], _: object) -> None:
    calls.append(payload)


def test_a_killed_worker_process_job_runs_again_once_its_lease_runs_out(
    committed: Engine,
) -> None:
    calls.clear()
    with unit_of_work() as session:
        enqueue(session, "test.hang", {"code": "J9"}, key="k-killed")
    proc = subprocess.Popen(
        [sys.executable, "-c", HANGING_WORKER], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "running"
        assert Worker(context=None).drain() == 0  # a live worker's job is left alone
    finally:
        proc.kill()
        proc.wait()
    # PostgreSQL ends the dead worker's session and with it the lock on the job's row: wait
    # for exactly that, by taking the lock.
    with committed.begin() as conn:
        conn.execute(text("SET LOCAL lock_timeout = '30s'"))
        conn.execute(text("SELECT 1 FROM jobs WHERE idempotency_key = 'k-killed' FOR UPDATE"))
    assert Worker(context=None).drain() == 0  # its lease and heartbeat still hold
    clock.shift(jobs.LEASE + timedelta(seconds=1))
    assert Worker(context=None).drain() == 1
    job = _job("k-killed")
    assert (job.status, job.attempts, calls) == ("done", 2, [{"code": "J9"}])


def test_done_jobs_are_pruned_after_the_retention_but_not_dead_or_pending_ones(
    committed: Engine,
) -> None:
    Worker(context=None, name="gone-last-week").beat()
    clock.shift(timedelta(days=8))
    Worker(context=None, name="alive").beat()
    with unit_of_work() as session:
        for key, status, age_days in (
            ("k-old-done", "done", 8),
            ("k-young-done", "done", 6),
            ("k-old-dead", "dead", 30),
            ("k-queued", "queued", None),
        ):
            enqueue(session, "test.record", {"code": key}, key=key)
            if age_days is not None:
                session.execute(
                    update(Job)
                    .where(Job.idempotency_key == key)
                    .values(status=status, finished_at=clock.now() - timedelta(days=age_days))
                )
    with unit_of_work() as session:
        assert jobs.prune(session, older_than=timedelta(days=7)) == 1
        left = set(session.execute(select(Job.idempotency_key)).scalars())
        workers = set(session.execute(select(WorkerHeartbeat.name)).scalars())
    assert left == {"k-young-done", "k-old-dead", "k-queued"}
    assert workers == {"alive"}


@task("test.daily")
def _daily(session: Session, payload: dict[str, Any], _: object) -> None:
    calls.append({"code": "daily"})


def test_pruning_never_lets_a_periodic_task_run_twice_in_its_period(
    committed: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only this periodic task, so the other domains' do not run here.
    monkeypatch.setattr(jobs, "_periodic", {})
    jobs.periodic("test.daily", every=timedelta(days=1))(_daily)
    calls.clear()
    with unit_of_work() as session:
        jobs.schedule_periodic(session)
    assert Worker(context=None).drain() == 1
    clock.shift(timedelta(hours=1))
    with unit_of_work() as session:
        jobs.prune(session, older_than=timedelta(0))  # even asked to keep nothing
        jobs.schedule_periodic(session)  # the same day: its done row still says "ran"
    assert Worker(context=None).drain() == 0
    assert calls == [{"code": "daily"}]


def test_the_prune_job_is_scheduled_and_reads_the_retention_setting(committed: Engine) -> None:
    from eid.core.settings import get_settings
    from eid.core.tasks import prune_jobs

    assert jobs._periodic["jobs.prune"] == timedelta(hours=1)
    assert get_settings().job_retention_days == 7
    with unit_of_work() as session:
        enqueue(session, "test.record", {"code": "P1"}, key="k-prune-task")
        session.execute(
            update(Job)
            .where(Job.idempotency_key == "k-prune-task")
            .values(status="done", finished_at=clock.now() - timedelta(days=8))
        )
    with unit_of_work() as session:
        prune_jobs(session, {}, None)
        assert (
            session.execute(select(Job).where(Job.idempotency_key == "k-prune-task")).first()
            is None
        )
