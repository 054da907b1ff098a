"""PostgreSQL LISTEN/NOTIFY: a committed change wakes whoever waits for it, with no polling and
no thread held while waiting (an asyncio connection of its own)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
from psycopg import sql
from sqlalchemy import text
from sqlalchemy.orm import Session

from eid.core.database import get_engine


def publish(session: Session, channel: str, message: str) -> None:
    """Sent when (and only if) the session's transaction commits. `message` names a row, never
    personal data: every listener of the channel reads it."""
    session.execute(
        text("SELECT pg_notify(:channel, :message)"), {"channel": channel, "message": message}
    )


@asynccontextmanager
async def listening(channel: str) -> AsyncIterator[psycopg.AsyncConnection[tuple[object, ...]]]:
    """An autocommit connection to the process's database, listening on `channel` from the
    moment this is entered: read the state you wait for after that, then wait for notices."""
    conninfo = get_engine().url.set(drivername="postgresql").render_as_string(hide_password=False)
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
        yield conn
