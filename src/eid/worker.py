"""The job worker: `eid worker` runs it alone; `eid serve` runs it inside the server process."""

from __future__ import annotations

import logging
import signal
import threading
import time

from eid.app import import_all_tasks
from eid.core.database import as_worker, unit_of_work
from eid.core.jobs import Worker
from eid.core.schema import import_all_models
from eid.wiring import Ports, build_ports

log = logging.getLogger(__name__)


def warm_up(ports: Ports) -> threading.Thread:
    """Load the 1:N gallery into memory in the background, so the first verification after a
    start does not pay for reading and decrypting every issued identity's face template."""

    def load() -> None:
        started = time.perf_counter()
        try:
            with unit_of_work() as session:
                size = ports.gallery.warm(session)
        except Exception as exc:  # the first verification loads it instead
            log.warning("1:N gallery not preloaded: %s", type(exc).__name__)
            return
        log.info("1:N gallery loaded: %d faces in %.1f s", size, time.perf_counter() - started)

    thread = threading.Thread(target=as_worker(load), name="gallery-warm-up", daemon=True)
    thread.start()
    return thread


def load_tasks() -> None:
    """Every job handler, and every table: a handler's flush orders its rows by the foreign keys
    of all tables, and the task modules alone do not import every model (`applications`
    references `offices`, which only the staff domain's models define). Inside `eid serve` the
    routers import them all; `eid worker` alone failed every verification job without this."""
    import_all_tasks()
    import_all_models()


def run_worker(concurrency: int = 1, ports: Ports | None = None) -> None:
    """`eid worker`: its own ports, one set for all its threads (one engine, one 1:N index)."""
    load_tasks()
    ports = ports or build_ports()
    warm_up(ports)
    workers = [Worker(context=ports) for _ in range(concurrency)]
    threads = [
        threading.Thread(target=as_worker(w.run_forever), name=f"worker-{i}", daemon=True)
        for i, w in enumerate(workers)
    ]

    def stop(*_: object) -> None:
        for w in workers:
            w.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for t in threads:
        t.start()
    for t in threads:
        while t.is_alive():
            t.join(timeout=0.5)


def start_embedded(concurrency: int, ports: Ports) -> list[Worker]:
    """Workers as daemon threads of the server (one-command start on a laptop), sharing the
    server's ports."""
    load_tasks()
    warm_up(ports)
    workers = [Worker(context=ports) for _ in range(concurrency)]
    for i, w in enumerate(workers):
        threading.Thread(
            target=as_worker(w.run_forever), name=f"embedded-worker-{i}", daemon=True
        ).start()
    log.info("embedded worker started with %d thread(s)", concurrency)
    return workers
