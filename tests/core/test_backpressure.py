"""Load held, not stalled: a live server with small bounds answers 200 or 503 + Retry-After."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine

from eid.core import database
from eid.core.settings import get_settings
from tests.core.conftest import add_registry_person, officer_token, tk01_form
from tests.support import LiveServer

SMALL = {
    "EID_DB_POOL_SIZE": "4",
    "EID_DB_POOL_TIMEOUT_SECONDS": "1",
    "EID_MAX_REQUESTS_WAITING": "20",
    "EID_MAX_QUEUE_WAIT_SECONDS": "1",
    "EID_REQUEST_TIMEOUT_SECONDS": "10",
}


@pytest.fixture
def small_server(committed: Engine) -> Iterator[tuple[str, Engine]]:
    """The app with a 4-connection pool (sized by `pool_options`, as in production)."""
    from eid.app import create_app

    os.environ.update(SMALL)
    get_settings.cache_clear()
    pooled = database._create_engine(get_settings(), worker=False)
    database.configure_engine(pooled)
    try:
        with LiveServer(create_app()) as server:
            yield server.url, pooled
    finally:
        database.configure_engine(committed)
        pooled.dispose()
        for name in SMALL:
            os.environ.pop(name, None)
        get_settings.cache_clear()


def _officer_with_application(url: str) -> tuple[dict[str, str], str]:
    add_registry_person(tk01_form())
    with httpx.Client(base_url=url, timeout=30) as client:
        headers = {"Authorization": f"Bearer {officer_token(client)}"}
        r = client.post("/api/v1/applications", json=tk01_form(), headers=headers)
        assert r.status_code == 201, r.text
        return headers, str(r.json()["id"])


def test_a_burst_is_answered_200_or_503_with_retry_after_never_a_stall(
    small_server: tuple[str, Engine],
) -> None:
    url, _ = small_server
    headers, app_id = _officer_with_application(url)
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=0)

    def read(client: httpx.Client) -> tuple[int, dict[str, Any], float]:
        started = time.monotonic()
        r = client.get(f"/api/v1/applications/{app_id}", headers=headers)
        return (
            r.status_code,
            {"retry": r.headers.get("retry-after"), **r.json()},
            (time.monotonic() - started),
        )

    with (
        httpx.Client(base_url=url, timeout=15, limits=limits) as client,
        ThreadPoolExecutor(max_workers=150) as pool,
    ):
        results = list(pool.map(lambda _: read(client), range(150)))

    statuses = [status for status, _, _ in results]
    assert set(statuses) <= {200, 503}, statuses
    assert statuses.count(200) >= 4
    assert statuses.count(503) > 0  # 150 at once is well over 4 running + 20 waiting
    for status, body, _ in results:
        if status == 503:
            assert body["error"]["code"] == "OVERLOADED" and body["retry"] == "2"
        else:
            assert body["id"] == app_id
    assert max(elapsed for _, _, elapsed in results) < 10


def test_a_connection_that_does_not_come_is_a_503_not_a_stall(
    small_server: tuple[str, Engine],
) -> None:
    url, pooled = small_server
    headers, app_id = _officer_with_application(url)
    held = [pooled.connect() for _ in range(4)]  # the whole API pool, elsewhere
    try:
        started = time.monotonic()
        r = httpx.get(f"{url}/api/v1/applications/{app_id}", headers=headers, timeout=15)
        elapsed = time.monotonic() - started
    finally:
        for conn in held:
            conn.close()
    assert r.status_code == 503 and r.json()["error"]["code"] == "OVERLOADED"
    assert r.headers["retry-after"] == "2"
    assert elapsed < 5  # the 1 s pool timeout, not 30 s
    r = httpx.get(f"{url}/api/v1/applications/{app_id}", headers=headers, timeout=15)
    assert r.status_code == 200  # and it recovers at once


def test_the_worker_has_its_own_pool(engine: Engine) -> None:
    """As `eid serve` builds them: the API's pool bounded with no overflow, and worker threads
    on a pool of their own, so a saturated API cannot starve the jobs."""
    import threading

    database._engine = None  # as at process start
    try:
        api_engine = database.get_engine()
        api_bind = database.session_factory().kw["bind"]
        seen: list[Any] = []
        thread = threading.Thread(
            target=database.as_worker(lambda: seen.append(database.session_factory().kw["bind"]))
        )
        thread.start()
        thread.join()
        worker_bind = seen[0]
        settings = get_settings()
        assert api_bind is api_engine and worker_bind is not api_engine
        assert api_engine.pool.size() == settings.db_pool_size  # type: ignore[attr-defined]
        assert api_engine.pool._max_overflow == 0  # type: ignore[attr-defined]
        assert worker_bind.pool.size() == settings.worker_db_pool_size
        assert database.session_factory().kw["bind"] is api_engine  # this thread: still the API
        worker_bind.dispose()
        api_engine.dispose()
    finally:
        database.configure_engine(engine)


def test_a_request_that_runs_too_long_is_answered_503_at_the_timeout(committed: Engine) -> None:
    from eid.app import create_app

    os.environ["EID_REQUEST_TIMEOUT_SECONDS"] = "1"
    get_settings.cache_clear()
    try:
        app = create_app()
        finished = threading.Event()

        @app.get("/api/v1/slow-for-test")
        def slow() -> dict[str, str]:
            time.sleep(3)  # a stuck dependency, say
            finished.set()
            return {"status": "late"}

        with LiveServer(app) as server:
            started = time.monotonic()
            r = httpx.get(f"{server.url}/api/v1/slow-for-test", timeout=15)
            elapsed = time.monotonic() - started
            assert r.status_code == 503 and r.json()["error"]["code"] == "REQUEST_TIMEOUT"
            assert r.headers["retry-after"] == "2"
            assert elapsed < 2.5
            assert httpx.get(f"{server.url}/healthz").status_code == 200
            assert finished.wait(10)  # the handler ran to its end, unheard
    finally:
        os.environ.pop("EID_REQUEST_TIMEOUT_SECONDS", None)
        get_settings.cache_clear()
