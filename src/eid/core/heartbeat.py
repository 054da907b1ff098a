"""Workers say they are alive: one row per worker, renewed every few seconds.

The row's `lease_until` is the worker's promise to beat again before then. `/readyz` reads it
(is any worker alive?), and the job reaper does too: a running job whose worker still beats is
not taken from it, however long it runs."""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

from sqlalchemy import DateTime, Integer, String, delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from eid.core import clock
from eid.core.database import Base


class WorkerHeartbeat(Base):
    __tablename__ = "workers"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    host: Mapped[str] = mapped_column(String(100))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    beat_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    lease_until: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


def beat(session: Session, name: str, lease: timedelta) -> None:
    """Record that the worker `name` is alive, and will say so again within `lease`."""
    now = clock.now()
    stmt = insert(WorkerHeartbeat).values(
        name=name,
        host=socket.gethostname()[:100],
        pid=os.getpid(),
        started_at=now,
        beat_at=now,
        lease_until=now + lease,
    )
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["name"],
            set_={"beat_at": now, "lease_until": now + lease},
        )
    )


def leave(session: Session, name: str) -> None:
    """A worker that stops cleanly says so, rather than leaving its lease to run out."""
    session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.name == name))


def live_worker_count(session: Session) -> int:
    return int(
        session.execute(
            select(func.count())
            .select_from(WorkerHeartbeat)
            .where(WorkerHeartbeat.lease_until >= clock.now())
        ).scalar_one()
    )
