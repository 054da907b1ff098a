"""`eid serve --workers N`: N uvicorn processes on one port, each with its own app, ports and pools.

The parent (uvicorn's supervisor) migrates, checks the keys and the database role, then spawns
the N processes, which import `app_factory` by name. Each builds its own pools, sized by
`eid.core.database.pool_options` (so N processes hold N x EID_DB_POOL_SIZE connections), and its
own ports (the 1:N gallery is per worker, not per server process: the API never searches it).
No server process runs the job worker: several would each warm a 1:N gallery and compete for
the same CPU as the requests; `eid worker` runs beside them (as many as wanted, one PostgreSQL).
"""

from __future__ import annotations

import logging
import os

from fastapi import FastAPI
from sqlalchemy import text

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
