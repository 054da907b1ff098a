"""The benchmarks' database: a scratch one on the server given by --db, dropped afterwards."""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from contextlib import contextmanager

DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def add_db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        default=os.environ.get("EID_BENCH_DATABASE_URL", DEFAULT_SERVER),
        help="PostgreSQL server to create the scratch database on (EID_BENCH_DATABASE_URL)",
    )


@contextmanager
def scratch(server_url: str, prefix: str) -> Iterator[str]:
    """A fresh database on that server (the project's own helper), made the configured one for
    this process while the benchmark runs."""
    from eid.core.database import scratch_database
    from eid.core.settings import get_settings

    os.environ["EID_DATABASE_URL"] = server_url
    get_settings.cache_clear()
    with scratch_database(prefix) as url:
        os.environ["EID_DATABASE_URL"] = url
        get_settings.cache_clear()
        yield url
