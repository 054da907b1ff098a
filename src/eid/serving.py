"""`eid serve --workers N`: N uvicorn processes on one port, each with its own app, ports and pools.

The parent (uvicorn's supervisor) migrates, checks the keys and the database role, then spawns
the N processes, which import `app_factory` by name. Each builds its own pools, sized by
`eid.core.database.pool_options` (so N processes hold N x EID_DB_POOL_SIZE connections), and its
own ports (the 1:N gallery is per worker, not per server process: the API never searches it).
No server process runs the job worker: several would each warm a 1:N gallery and compete for
the same CPU as the requests; `eid worker` runs beside them (as many as wanted, one PostgreSQL).

`/metrics` tells the whole server's truth whichever process answers: the supervisor makes a fresh
private directory for the run and names it in `PROMETHEUS_MULTIPROC_DIR` before spawning (the
processes inherit the environment and import prometheus-client afresh), each process writes its
HTTP series there, the scrape sums them (`eid.core.observability`), the supervisor removes a dead
process's live gauges, and the directory goes when the server stops.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from socket import socket
from typing import Any

from fastapi import FastAPI
from sqlalchemy import text
from uvicorn import Config
from uvicorn.supervisors import Multiprocess

from eid.core.observability import MULTIPROC_DIR_ENV, forget_process
from eid.core.settings import Settings

log = logging.getLogger(__name__)
APP_FACTORY = "eid.serving:app_factory"


def app_factory() -> FastAPI:
    """Run in each server process: its logging (uvicorn configures none here), then its app."""
    from eid.app import create_app
    from eid.core.settings import get_settings

    if get_settings().json_logs:
        from eid.core.observability import configure_json_logging

        configure_json_logging()
    else:
        logging.basicConfig(level=logging.INFO)
    return create_app()


def run_processes(host: str, port: int, processes: int, log_config: dict[str, Any] | None) -> None:
    """What `uvicorn.run(APP_FACTORY, factory=True, workers=N)` does, with our supervisor and
    the run's metrics directory. uvicorn's supervisor handles SIGTERM itself: it stops the
    processes, then returns here."""
    with shared_metrics() as metrics_dir:
        # Our request log replaces uvicorn's access log (see `eid.cli.serve`).
        config = Config(
            APP_FACTORY,
            factory=True,
            workers=processes,
            host=host,
            port=port,
            log_level="info",
            log_config=log_config,
            access_log=False,
        )
        sock = config.bind_socket()
        try:
            Supervisor(config, [sock], metrics_dir=metrics_dir).run()
        except KeyboardInterrupt:
            pass
        finally:
            sock.close()


def share_database(database_url: str) -> None:
    """The processes connect straight to the database the parent resolved (the embedded server's
    application role included) instead of each starting or joining it."""
    os.environ["EID_DATABASE_URL"] = database_url


def connections_needed(settings: Settings, processes: int) -> int:
    return processes * settings.db_pool_size


def warn_about_connections(settings: Settings, processes: int) -> None:
    """N processes hold N pools: say so before PostgreSQL refuses the last ones under load."""
    from eid.core.database import get_engine

    with get_engine().connect() as conn:
        allowed = int(conn.execute(text("SHOW max_connections")).scalar_one())
    needed = connections_needed(settings, processes)
    if needed > allowed * 3 // 4:
        log.warning(
            "%d server processes x EID_DB_POOL_SIZE=%d = %d connections, PostgreSQL allows %d "
            "(and workers need theirs): lower EID_DB_POOL_SIZE or raise max_connections",
            processes,
            settings.db_pool_size,
            needed,
            allowed,
        )


@contextmanager
def shared_metrics() -> Iterator[str]:
    """A fresh directory for this run's metrics (0700, under TMPDIR), named in the environment
    the processes will inherit, removed at exit: the documented multiprocess deployment, wiped
    before start by being new. Any directory already named in the environment is not ours to
    wipe, so it is replaced for this run."""
    directory = tempfile.mkdtemp(prefix="eid-metrics-")
    previous = os.environ.get(MULTIPROC_DIR_ENV)
    os.environ[MULTIPROC_DIR_ENV] = directory
    try:
        yield directory
    finally:
        if previous is None:
            os.environ.pop(MULTIPROC_DIR_ENV, None)
        else:
            os.environ[MULTIPROC_DIR_ENV] = previous
        shutil.rmtree(directory, ignore_errors=True)


class Supervisor(Multiprocess):
    """uvicorn's supervisor, which also tells the metrics when a process it ran is gone (died and
    replaced, or retired by SIGHUP or SIGTTOU), like gunicorn's `child_exit` hook in
    prometheus-client's documentation."""

    def __init__(self, config: Config, sockets: list[socket], *, metrics_dir: str) -> None:
        super().__init__(config, sockets=sockets)
        self.metrics_dir = metrics_dir

    def keep_subprocess_alive(self) -> None:
        before = self._pids()
        super().keep_subprocess_alive()
        self._forget(before)

    def handle_signals(self) -> None:
        before = self._pids()
        super().handle_signals()
        self._forget(before)

    def _pids(self) -> set[int]:
        return {p.pid for p in self.processes if p.pid is not None}

    def _forget(self, before: set[int]) -> None:
        for pid in before - self._pids():
            forget_process(pid, self.metrics_dir)
