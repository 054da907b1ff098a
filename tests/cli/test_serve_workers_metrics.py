"""`/metrics` under `eid serve --workers 2`: whichever process answers the scrape, the HTTP series
are the whole server's (summed over both processes' files), and a killed process's gauges leave
while its counts stay."""

from __future__ import annotations

import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy.engine import Engine

from eid.core.roles import DatabaseRoles
from tests.cli.test_serve_workers import _server_children, wait_serving
from tests.support import free_port

ROUTE = "/api/v1/reviews"
K = 40
DURATION_COUNT = re.compile(
    r'^eid_http_request_duration_seconds_count\{method="GET",route="/api/v1/reviews",'
    r'status="4xx"\} (\S+)$',
    re.M,
)


def _gauge(text: str, name: str) -> float:
    found = re.findall(rf"^{name} (\S+)$", text, re.M)
    assert len(found) == 1, (name, text)  # summed into one series, not one per process
    return float(found[0])


def _route_count(text: str) -> float:
    found = DURATION_COUNT.findall(text)
    assert len(found) <= 1, text
    return float(found[0]) if found else 0.0


def _scrape(base: str) -> str:
    # A fresh connection each time, so the scrapes land on either process.
    r = httpx.get(f"{base}/metrics", timeout=10, headers={"Connection": "close"})
    assert r.status_code == 200, r.text
    return r.text


def _own_count(directory: Path, pid: int) -> float:
    """What one process alone has counted for the route (its own file)."""
    files = [str(f) for f in directory.glob(f"histogram_{pid}.db")]
    total = 0.0
    for metric in MultiProcessCollector.merge(files):  # type: ignore[no-untyped-call]
        for sample in metric.samples:
            if (
                sample.name == "eid_http_request_duration_seconds_count"
                and sample.labels.get("route") == ROUTE
            ):
                total += sample.value
    return total


def _wait_for(check: Callable[[], bool], what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def _metrics_dir(pid: int) -> Path:
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    found = [e.split(b"=", 1)[1] for e in environ if e.startswith(b"PROMETHEUS_MULTIPROC_DIR=")]
    assert len(found) == 1, "the server processes inherit the run's metrics directory"
    return Path(found[0].decode())


@pytest.fixture
def two_processes(
    committed: Engine, database_roles: DatabaseRoles, tmp_path: Path
) -> Iterator[tuple[str, subprocess.Popen[bytes], Path]]:
    port = free_port()
    env = {
        **os.environ,
        "EID_DATABASE_URL": database_roles.app_url,
        "EID_MIGRATION_DATABASE_URL": database_roles.owner_url,
        "EID_DATA_DIR": str(tmp_path),
        "EID_JSON_LOGS": "true",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "eid.cli", "serve", "--workers", "2", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_serving(server, base)
        directory = _metrics_dir(_server_children(server.pid)[0])
        yield base, server, directory
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            pytest.fail("the server did not stop within 30 s of SIGTERM")
    assert not directory.exists(), "the run's metrics directory is removed at exit"


def _refused(base: str) -> None:
    r = httpx.get(
        f"{base}{ROUTE}",
        headers={"Authorization": "Bearer not-a-real-token", "Connection": "close"},
        timeout=10,
    )
    assert r.status_code == 401, r.text


def _hold_a_request(port: int) -> socket.socket:
    """A request admitted and left waiting for the rest of its body: in flight until dropped."""
    conn = socket.create_connection(("127.0.0.1", port), timeout=10)
    conn.sendall(
        b"POST /api/v1/registrations HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
    )
    return conn


def test_metrics_sum_both_processes_and_forget_a_dead_ones_gauges(
    two_processes: tuple[str, subprocess.Popen[bytes], Path],
) -> None:
    base, server, directory = two_processes
    port = int(base.rsplit(":", 1)[1])
    children = _server_children(server.pid)
    assert len(children) == 2
    assert _metrics_dir(children[1]) == directory
    assert directory.name.startswith("eid-metrics-")
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700

    # K requests on fresh connections, a few at a time, so both processes take some.
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda _: _refused(base), range(K)))
    # A request is counted just after its answer is sent: give the last one that moment.
    _wait_for(lambda: _route_count(_scrape(base)) == K, f"the route's count reaches {K}")
    own = {pid: _own_count(directory, pid) for pid in children}
    assert sum(own.values()) == K
    assert all(0 < n < K for n in own.values()), own  # each process alone saw only part

    seen = []
    for _ in range(12):
        text = _scrape(base)
        seen.append(_route_count(text))
        assert _gauge(text, "eid_http_requests_in_flight") == 0
        assert _gauge(text, "eid_http_requests_waiting") == 0
        assert _gauge(text, "eid_http_requests_shed_total") == 0
        assert text.count("# TYPE eid_jobs gauge") == 1  # the database series, once
        assert "eid_metrics_database_up 1.0" in text
    assert seen == [K] * 12, seen

    # One request held in flight: the sum shows it whichever process answers.
    held = _hold_a_request(port)
    try:
        _wait_for(
            lambda: all(_gauge(_scrape(base), "eid_http_requests_in_flight") == 1 for _ in "abc"),
            "the held request is in flight",
        )
        holder = next(
            pid
            for pid in children
            if any(
                s.value == 1
                for m in MultiProcessCollector.merge(  # type: ignore[no-untyped-call]
                    [str(directory / f"gauge_livesum_{pid}.db")]
                )
                if m.name == "eid_http_requests_in_flight"
                for s in m.samples
            )
        )
        os.kill(holder, signal.SIGKILL)  # no goodbye: the supervisor must notice
        _wait_for(
            lambda: not (directory / f"gauge_livesum_{holder}.db").exists(),
            "the dead process's live gauges are removed",
        )
        _wait_for(lambda: len(_server_children(server.pid)) == 2, "a replacement runs")
    finally:
        held.close()
    survivor = next(pid for pid in children if pid != holder)
    assert (directory / f"gauge_livesum_{survivor}.db").exists()
    assert (directory / f"histogram_{holder}.db").exists()  # its counts stay counted

    def replacement_serving() -> bool:
        try:
            return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    _wait_for(replacement_serving, "serving after the kill")
    after = []
    for _ in range(12):
        text = _scrape(base)
        after.append(_route_count(text))
        assert _gauge(text, "eid_http_requests_in_flight") == 0  # the dead one's 1 is gone
    assert after == [K] * 12, after  # nothing lost, never less than before

    _refused(base)
    _wait_for(lambda: _route_count(_scrape(base)) == K + 1, "counting goes on")
