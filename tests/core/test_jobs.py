from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from eid.core import clock, jobs
from eid.core.database import unit_of_work
from eid.core.errors import EidError
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
        assert job.status == "failed" and job.attempts == 2
        assert jobs.queue_counts(session).get("failed", 0) >= 1


def test_a_dead_workers_job_is_reaped_and_run(committed: Engine) -> None:
    calls.clear()
    with unit_of_work() as session:
        enqueue(session, "test.record", {"code": "J5"}, key="k-reap")
    dead = Worker(context=None, name="dead", lease=timedelta(seconds=30))
    claimed = dead._claim()  # claims, then "dies" before running
    assert claimed is not None
    assert Worker(context=None).drain() == 0  # the lease still holds
    clock.shift(timedelta(minutes=1))
    assert Worker(context=None).drain() == 1
    assert [c["code"] for c in calls] == ["J5"]


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
