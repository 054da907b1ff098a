"""A durable job queue in PostgreSQL.

Why our own and not procrastinate: a job must be enqueued in the *same* transaction as the state
it belongs to (CONVENTIONS.md), and our requests run on SQLAlchemy sessions; procrastinate defers
through its own connector and connection. Here a job is a row added by the caller's session, so a
rolled-back request enqueues nothing and a committed one always does.

Exactly-once effects: a worker claims a job (status running, lease, attempt+1) and commits, so
the claim is visible; it then runs the handler in a second transaction that first locks the job
row and ends by marking it done. The handler's writes and the "done" mark commit together: a
worker killed at any point either committed both or neither. A job whose worker died stays
`running`, its row unlocked; once its lease and its worker's heartbeat (`eid.core.heartbeat`,
renewed every third of a lease while the worker lives, however long the job runs) have both
run out, the reaper puts it back in the queue. External side effects (SMTP, SMS) carry
idempotency keys derived from the job.

Every claim is an attempt, a run lost with its worker included: after `max_attempts` the job is
dead-lettered (status `dead`, with its reason) and stays until an operator retries it
(`eid jobs`). Finished (`done`) jobs are pruned after `EID_JOB_RETENTION_DAYS`; nothing may read
a finished job's row as a record of what happened (the domains keep their own).

Handlers receive `(session, payload, context)`: the context is what the worker was built with
(`Worker(context=...)`, the process's `eid.wiring.Ports`), so a handler reaches the SMS gateway or
the biometric engine without a module global, and a test hands it another by building another.
A handler raising an `EidError` with `keep_writes` keeps what it wrote, as a request does
(`core.database.unit_of_work`); the job is still retried or dead-lettered.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer, String, Text, delete, func, or_, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Mapped, Session, mapped_column

from eid.core import clock, heartbeat
from eid.core.database import Base, TimestampMixin, as_worker, session_factory

log = logging.getLogger(__name__)

# The third argument is the worker's context; each handler annotates the protocol it needs.
Handler = Callable[[Session, dict[str, Any], Any], None]
_handlers: dict[str, Handler] = {}


class Job(TimestampMixin, Base):
    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    task: Mapped[str] = mapped_column(String(64), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=8)
    run_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    worker: Mapped[str | None] = mapped_column(String(100))
    last_error: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RetryLater(Exception):
    """A handler asks to run again later without it counting as a failure."""

    def __init__(self, delay: timedelta) -> None:
        super().__init__(f"retry in {delay}")
        self.delay = delay


def task(name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        _handlers[name] = fn
        return fn

    return register


_periodic: dict[str, timedelta] = {}


def periodic(name: str, *, every: timedelta) -> Callable[[Handler], Handler]:
    """Run the task `name` once per period (the key per time bucket makes it once, cluster-wide)."""

    def register(fn: Handler) -> Handler:
        _periodic[name] = every
        return fn

    return register


def schedule_periodic(session: Session) -> None:
    now = clock.now()
    for name, every in _periodic.items():
        bucket = int(now.timestamp() // every.total_seconds())
        enqueue(session, name, {}, key=f"periodic:{name}:{bucket}", max_attempts=3)


def enqueue(
    session: Session,
    task_name: str,
    payload: dict[str, Any],
    *,
    key: str,
    run_at: datetime | None = None,
    max_attempts: int = 8,
) -> None:
    """Add a job in the caller's transaction; the same key twice enqueues once.

    Once a done job is pruned its key is free again: a caller that may enqueue the same key
    days later must find out from its own rows that the work was done (every caller does)."""
    stmt = (
        insert(Job)
        .values(
            task=task_name,
            payload=payload,
            idempotency_key=key,
            status="queued",
            attempts=0,
            max_attempts=max_attempts,
            run_at=run_at or clock.now(),
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
    )
    session.execute(stmt)


def describe_failure(exc: BaseException) -> str:
    """What a failed job keeps as its reason: enough to act on, never personal data.

    Our own errors carry stable codes and messages written without personal data. Database
    errors keep their class, SQLSTATE and constraint, not the server's DETAIL (which quotes the
    values). Anything else (an SMTP refusal quotes the address) keeps its class name only."""
    from sqlalchemy.exc import DBAPIError

    from eid.core.errors import EidError

    if isinstance(exc, EidError):
        return f"{exc.code}: {exc.message}"
    if isinstance(exc, DBAPIError):
        diag = getattr(exc.orig, "diag", None)
        state = getattr(exc.orig, "sqlstate", None)
        constraint = getattr(diag, "constraint_name", None)
        return f"{type(exc.orig).__name__} (sqlstate {state}, constraint {constraint})"
    return type(exc).__name__


def _settle_refusal(session: Session, exc: BaseException) -> None:
    """A failed run leaves nothing, unless its error keeps the bookkeeping written before it
    (`EidError.keep_writes`, the one rule shared with requests): then that commits, the job row
    still `running` and ours until `_reschedule` puts it back."""
    from eid.core.errors import EidError

    if isinstance(exc, EidError) and exc.keep_writes:
        session.commit()
    else:
        session.rollback()


# Short, because the heartbeat renews it: a dead worker's job is taken back within about this.
LEASE = timedelta(seconds=30)


def backoff(attempt: int) -> timedelta:
    """Exponential: 2 s, 4 s, 8 s ... capped at 30 minutes."""
    return timedelta(seconds=min(2**attempt, 1800))


REAP_EVERY = timedelta(seconds=5)


class Worker:
    def __init__(
        self,
        *,
        context: object,
        lease: timedelta = LEASE,
        name: str | None = None,
    ):
        self.context = context
        self.lease = lease
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
        self._stop = threading.Event()
        self._next_reap = clock.now()

    def stop(self) -> None:
        self._stop.set()

    def beat(self) -> None:
        """Say this worker is alive (and holds its running job) for one more lease."""
        with session_factory()() as session, session.begin():
            heartbeat.beat(session, self.name, self.lease)

    def _beat_until_stopped(self) -> None:
        # Its own thread: a handler running for minutes must not stop the beat.
        while True:
            try:
                self.beat()
            except Exception as exc:  # the database is away: beat again at the next tick
                log.warning("worker %s heartbeat failed: %s", self.name, type(exc).__name__)
            if self._stop.wait(self.lease.total_seconds() / 3):
                break
        try:
            with session_factory()() as session, session.begin():
                heartbeat.leave(session, self.name)
        except Exception as exc:  # its lease runs out instead
            log.warning("worker %s left without saying so: %s", self.name, type(exc).__name__)

    def _claim(self) -> Job | None:
        with session_factory()() as session, session.begin():
            job = session.execute(
                select(Job)
                .where(Job.status == "queued", Job.run_at <= clock.now())
                .order_by(Job.run_at, Job.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).scalar_one_or_none()
            if job is None:
                return None
            job.status = "running"
            job.attempts += 1
            job.worker = self.name
            job.lease_until = clock.now() + self.lease
            session.flush()
            session.expunge(job)
            return job

    def run_once(self) -> bool:
        """Run at most one job. Returns whether there was one."""
        # Reaping needs a lease to have expired, so looking every few seconds is enough; the
        # clock it reads is the shared one, so a moved clock (tests, demo) reaps at once. A
        # clock set back (NTP stepping, a test's shift undone) must not put reaping off by
        # the jump: the next look is never more than the interval away.
        now = clock.now()
        if now >= self._next_reap or self._next_reap - now > REAP_EVERY:
            self.reap()
            self._next_reap = clock.now() + REAP_EVERY
        job = self._claim()
        if job is None:
            return False
        handler = _handlers.get(job.task)
        session = session_factory()()
        try:
            locked = session.execute(
                select(Job).where(Job.id == job.id).with_for_update(nowait=False)
            ).scalar_one()
            if locked.status != "running" or locked.worker != self.name:
                session.rollback()  # reaped and taken by another worker meanwhile
                return True
            if handler is None:
                raise LookupError(f"no handler for task {job.task}")
            handler(session, dict(job.payload), self.context)
            locked.status = "done"
            locked.finished_at = clock.now()
            locked.last_error = None
            session.commit()
        except RetryLater as wait:
            session.rollback()
            self._reschedule(job.id, wait.delay, None, count_attempt=False)
        except Exception as exc:
            _settle_refusal(session, exc)
            reason = describe_failure(exc)
            log.warning("job %s (%s) failed: %s", job.id, job.task, type(exc).__name__)
            log.debug("job %s traceback\n%s", job.id, traceback.format_exc())
            self._reschedule(job.id, backoff(job.attempts), reason[:2000], count_attempt=True)
        finally:
            session.close()
        return True

    def _reschedule(
        self, job_id: int, delay: timedelta, reason: str | None, *, count_attempt: bool
    ) -> None:
        with session_factory()() as session, session.begin():
            job = session.get(Job, job_id, with_for_update=True)
            if job is None:
                return
            if not count_attempt:
                job.attempts = max(job.attempts - 1, 0)
            if count_attempt and job.attempts >= job.max_attempts:
                job.status = "dead"
                job.finished_at = clock.now()
            else:
                job.status = "queued"
                job.run_at = clock.now() + delay
            job.last_error = reason
            job.lease_until = None

    def reap(self) -> int:
        """Take back the jobs of workers that died: the claim's lease and the worker's heartbeat
        both ran out, and no transaction holds the row. The lost run was an attempt (a job that
        kills its worker would otherwise be reaped forever): it runs again at once (the lease
        already spaced the tries), or is dead-lettered after its last attempt."""
        now = clock.now()
        alive = select(heartbeat.WorkerHeartbeat.name).where(
            heartbeat.WorkerHeartbeat.lease_until >= now
        )
        with session_factory()() as session, session.begin():
            lost = (
                session.execute(
                    select(Job)
                    .where(
                        Job.status == "running",
                        Job.lease_until < now,
                        or_(Job.worker.is_(None), Job.worker.not_in(alive)),
                    )
                    .with_for_update(skip_locked=True)
                )
                .scalars()
                .all()
            )
            for job in lost:
                job.last_error = f"worker lost (attempt {job.attempts} of {job.max_attempts})"
                job.lease_until = None
                if job.attempts >= job.max_attempts:
                    job.status = "dead"
                    job.finished_at = now
                else:
                    job.status = "queued"
                    job.run_at = now
                log.warning("job %s (%s): %s", job.id, job.task, job.last_error)
            return len(lost)

    def run_forever(self, *, idle_sleep: float = 0.5) -> None:
        log.info("worker %s started", self.name)
        beating = threading.Thread(  # on the worker's pool: never starved by the API's
            target=as_worker(self._beat_until_stopped), name=f"heartbeat-{self.name}", daemon=True
        )
        beating.start()
        next_schedule = 0.0
        while not self._stop.is_set():
            try:
                if time.monotonic() >= next_schedule:
                    with session_factory()() as session, session.begin():
                        schedule_periodic(session)
                    next_schedule = time.monotonic() + 10
                busy = self.run_once()
            except OperationalError as exc:  # the database is away: pre-ping reconnects later
                log.warning(
                    "worker %s: database unavailable (%s)", self.name, type(exc.orig).__name__
                )
                busy = False
            except Exception:
                log.exception("worker loop error; retrying")
                busy = False
            if not busy:
                self._stop.wait(idle_sleep)
        beating.join()

    def drain(self, *, limit: int = 10_000) -> int:
        """Run every job that is due now (tests, the demo). Returns how many ran."""
        count = 0
        while count < limit and self.run_once():
            count += 1
        return count


def queue_counts(session: Session) -> dict[str, int]:
    rows = session.execute(text("SELECT status, count(*) FROM jobs GROUP BY status")).all()
    return {str(status): int(n) for status, n in rows}


def dead_letters(session: Session, *, limit: int = 100) -> list[Job]:
    """Jobs that used their last attempt, newest first, each with its reason."""
    return list(
        session.execute(
            select(Job).where(Job.status == "dead").order_by(Job.finished_at.desc()).limit(limit)
        ).scalars()
    )


def retry_dead(session: Session, job_id: int) -> bool:
    """An operator puts a dead job back in the queue with a fresh set of attempts."""
    job = session.get(Job, job_id, with_for_update=True)
    if job is None or job.status != "dead":
        return False
    job.status = "queued"
    job.attempts = 0
    job.run_at = clock.now()
    job.finished_at = None
    return True


def prune(session: Session, *, older_than: timedelta) -> int:
    """Delete jobs done for longer than `older_than`, and workers gone as long.

    Dead jobs stay: they are the dead-letter queue. One dependency on done rows is kept on
    purpose: a periodic task's key names its time bucket, so its done row must outlive the
    bucket or the task would run twice in it; the cut-off is never younger than two periods."""
    longest = max(_periodic.values(), default=timedelta(0))
    cutoff = clock.now() - max(older_than, 2 * longest)
    done = session.execute(delete(Job).where(Job.status == "done", Job.finished_at < cutoff))
    session.execute(
        delete(heartbeat.WorkerHeartbeat).where(heartbeat.WorkerHeartbeat.lease_until < cutoff)
    )
    return int(getattr(done, "rowcount", 0) or 0)
