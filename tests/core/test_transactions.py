"""One rule for a refusal that must leave a trace: its error's `keep_writes`, honoured by the
request's boundary and, for an endpoint that renders the error itself, by `refusal_savepoint`."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from eid.core.database import unit_of_work
from eid.core.errors import EidError, Unauthorized
from eid.core.web import refusal_savepoint


def _office(session: Session, code: str) -> None:
    session.execute(
        text("INSERT INTO offices (code, name, province) VALUES (:c, 'x', 'y')"), {"c": code}
    )


def _offices(session: Session) -> list[str]:
    return list(
        session.execute(
            text("SELECT code FROM offices WHERE code LIKE 'TX-%' ORDER BY code")
        ).scalars()
    )


def test_the_boundary_keeps_a_refusals_writes_only_when_it_says_so(committed: Engine) -> None:
    with pytest.raises(Unauthorized), unit_of_work() as session:
        _office(session, "TX-KEPT")
        raise Unauthorized("wrong code", keep_writes=True)
    with pytest.raises(Unauthorized), unit_of_work() as session:
        _office(session, "TX-DROPPED")
        raise Unauthorized("wrong code")
    with unit_of_work() as session:
        assert _offices(session) == ["TX-KEPT"]


def test_a_refusal_rendered_by_the_endpoint_follows_the_same_rule(db: Session) -> None:
    _office(db, "TX-BEFORE")
    for code, keep in (("TX-KEPT", True), ("TX-DROPPED", False)):
        with pytest.raises(EidError), refusal_savepoint(db):
            _office(db, code)
            raise EidError("refused", keep_writes=keep)
    with refusal_savepoint(db):
        _office(db, "TX-OK")
    assert _offices(db) == ["TX-BEFORE", "TX-KEPT", "TX-OK"]
