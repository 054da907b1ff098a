"""/healthz, /readyz, and a server that comes back by itself when its database does."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from eid.app import create_app
from eid.core import clock, database
from eid.core.database import configure_engine
from eid.core.health import schema_heads
from eid.core.jobs import Worker
from eid.core.settings import get_settings
from tests.support import free_port


@pytest.fixture
def client(committed: Engine) -> Iterator[TestClient]:
    with TestClient(create_app()) as test_client:
        yield test_client


@pytest.fixture
def database_gone(engine: Engine) -> Iterator[None]:
    """The process's engine points at a port where no PostgreSQL listens."""
    configure_engine(
        create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/eid", pool_size=1)
    )
    yield
    configure_engine(engine)


def test_healthz_answers_without_a_database_and_readyz_says_it_is_gone(
    database_gone: None,
) -> None:
    with TestClient(create_app()) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.headers["retry-after"] == "5"
        error = ready.json()["error"]
        assert error["code"] == "NOT_READY"
        assert error["details"]["failed"] == ["database"]
        assert error["details"]["checks"]["database"] == "failed: OperationalError"
        # Any request that needs the database is told to come back, not that the server broke.
        login = client.post(
            "/api/v1/officer/sessions", json={"username": "a", "password": "b", "totp": "123456"}
        )
        assert login.status_code == 503
        assert login.json()["error"]["code"] == "DATABASE_UNAVAILABLE"


def _failed(client: TestClient) -> list[str]:
    answer = client.get("/readyz")
    if answer.status_code == 200:
        assert answer.json()["status"] == "ready"
        return []
    assert answer.status_code == 503
    failed: list[str] = answer.json()["error"]["details"]["failed"]
    return failed


def test_readyz_needs_a_worker_whose_heartbeat_is_fresh(client: TestClient) -> None:
    assert _failed(client) == ["worker"]  # nobody has beaten yet
    worker = Worker(context=None, name="ready-worker", lease=timedelta(seconds=30))
    worker.beat()
    assert _failed(client) == []
    clock.shift(timedelta(seconds=31))  # the worker missed its beats: dead or stuck
    assert _failed(client) == ["worker"]
    worker.beat()
    assert _failed(client) == []


def test_readyz_fails_when_the_schema_is_not_at_the_migrations_head(
    client: TestClient, owner_engine: Engine
) -> None:
    Worker(context=None, name="schema-worker").beat()
    (head,) = schema_heads()
    with owner_engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    try:
        answer = client.get("/readyz")
        assert answer.status_code == 503
        details = answer.json()["error"]["details"]
        assert details["failed"] == ["schema"]
        assert details["checks"]["schema"] == f"failed: at ['0001'], expected ['{head}']"
    finally:
        with owner_engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})
    assert _failed(client) == []


@pytest.fixture
def production_engine(
    database_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Engine, str]]:
    """The engine `eid serve` builds (eid.core.database.get_engine), tagged so a test can find
    its connections among the other tests'."""
    tag = f"eid-recovery-{uuid.uuid4().hex[:8]}"
    url = make_url(database_url).update_query_dict({"application_name": tag})
    monkeypatch.setenv("EID_DATABASE_URL", url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    database._engine = None
    built = database.get_engine()
    yield built, tag
    built.dispose()
    get_settings.cache_clear()
    configure_engine(engine)


def _terminate(admin: Engine, tag: str) -> int:
    """What a PostgreSQL restart does to the server's connections, from a superuser's session."""
    with admin.connect() as conn:
        return len(
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = :tag AND pid <> pg_backend_pid()"
                ),
                {"tag": tag},
            ).all()
        )


def test_every_request_succeeds_after_the_servers_connections_are_killed(
    committed: Engine, superuser_engine: Engine, production_engine: tuple[Engine, str]
) -> None:
    built, tag = production_engine
    Worker(context=None, name="recovery-worker").beat()
    with TestClient(create_app()) as client:
        # Several pooled connections, each to be killed under the pool's feet.
        held: list[Any] = [built.connect() for _ in range(3)]
        for conn in held:
            conn.execute(text("SELECT 1"))
        for conn in held:
            conn.close()
        assert _failed(client) == []
        assert _terminate(superuser_engine, tag) >= 3
        # Pre-ping finds each dead connection at checkout and replaces it: no request fails.
        answers = [client.get("/readyz") for _ in range(5)]
        assert [a.status_code for a in answers] == [200] * 5
        held = [built.connect() for _ in range(3)]
        assert [c.execute(text("SELECT 1")).scalar() for c in held] == [1, 1, 1]
        for conn in held:
            conn.close()
