from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from eid.core import audit
from eid.core.audit import Actor


def test_audit_log_is_append_only_at_the_database(db: Session) -> None:
    actor = Actor(kind="officer", id="o-1", role="officer", office="HN-01")
    audit.record(db, actor, "application.read", "application", "a-1", reason="test")
    db.flush()
    row = db.execute(
        text("SELECT actor_role, office, action FROM audit_events WHERE subject_id = 'a-1'")
    ).one()
    assert tuple(row) == ("officer", "HN-01", "application.read")
    for statement in (
        "UPDATE audit_events SET reason = 'x'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
    ):
        with pytest.raises(DBAPIError, match="append-only"), db.begin_nested():
            db.execute(text(statement))
