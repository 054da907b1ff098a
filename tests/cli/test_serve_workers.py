"""`eid serve --workers 2` as an operator runs it: two server processes on one port, both
answering from the database, and a clean stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine

from eid.core.roles import DatabaseRoles
from tests.support import free_port


def _server_children(parent: int) -> list[int]:
    """The processes uvicorn spawned for the app (multiprocessing's spawn)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:"))
        if int(ppid) == parent and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return found


def wait_serving(server: subprocess.Popen[bytes], base: str, seconds: float = 90) -> None:
    """Until `eid serve` answers /healthz (its output shown if it died first)."""
    deadline = time.monotonic() + seconds
    while True:
        assert server.poll() is None, server.stdout.read().decode()  # type: ignore[union-attr]
        assert time.monotonic() < deadline, f"not serving within {seconds:.0f} s"
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)


def test_serve_with_two_workers_starts_both_and_answers_from_the_database(
    committed: Engine, database_roles: DatabaseRoles, tmp_path: Path
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "EID_DATABASE_URL": database_roles.app_url,
        "EID_MIGRATION_DATABASE_URL": database_roles.owner_url,
        "EID_DATA_DIR": str(tmp_path),
        "EID_JSON_LOGS": "true",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "eid.cli", "serve", "--workers", "2", "--port", str(port)],
        env=env,
        cwd=tmp_path,  # no shared biometric data here: the development seed stays small
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_serving(server, base)
        assert len(_server_children(server.pid)) == 2

        # Answers that need the database (a bearer token is looked up there), many times over
        # so both processes take some; a credential endpoint would soon answer 429 instead.
        with httpx.Client(base_url=base, timeout=10) as client:
            for _ in range(20):
                refused = client.get(
                    "/api/v1/reviews", headers={"Authorization": "Bearer not-a-real-token"}
                )
                assert refused.status_code == 401, refused.text
                assert refused.json()["error"]["code"] == "INVALID_TOKEN", refused.text
            ready = client.get("/readyz")  # the database and schema are; no worker runs yet
            assert ready.status_code == 503 and "worker" in ready.text, ready.text
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            output = server.communicate(timeout=30)[0].decode()
        except subprocess.TimeoutExpired:
            server.kill()
            pytest.fail("the server did not stop within 30 s of SIGTERM")
    assert not _server_children(server.pid)
    # Each process logs as JSON (uvicorn configures no logging in a spawned process).
    assert output.count('"message": "Application startup complete."') == 2, output[-3000:]
    assert "no job worker among them" in output
