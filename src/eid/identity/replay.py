"""Single-use JWT ids (`jti`) of client assertions and DPoP proofs, kept in PostgreSQL until the
JWT would be refused for its age anyway; `tasks.purge_expired` deletes the spent ones later."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from eid.identity.models import SpentJwtId

MAX_JTI = 200


def spend(session: Session, scope: str, jti: object, until: dt.datetime) -> bool:
    """True the first time (`scope`, `jti`) is seen, False for a replay. Two simultaneous
    requests with the same jti: the second waits on the first's row and then sees it (the
    primary key), so only one of them is accepted."""
    if not isinstance(jti, str) or not jti or len(jti) > MAX_JTI:
        return False
    spent = session.execute(
        insert(SpentJwtId)
        .values(scope=scope[:200], jti=jti, expires_at=until)
        .on_conflict_do_nothing()
        .returning(SpentJwtId.jti)
    ).first()
    return spent is not None
