"""Migration 0021 fills the blind index of every existing account's name, and the search by name
then finds the account through it (no name unsealed to search)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from eid.authority.models import Account
from eid.authority.service import find_by_name
from eid.core.audit import Actor
from eid.core.schema import alembic_config
from eid.core.sealed import index_value, normalise_name
from eid.registry.schemas import PersonIn
from eid.registry.service import ReferenceRegistry, add_person


@pytest.fixture
def scratch_database(database_at: Callable[[str], tuple[str, Engine]]) -> tuple[str, Engine]:
    return database_at("head")


def _account(n: int, name: str, status: str = "active") -> Account:
    return Account(
        eid_number=f"9{n:011d}",
        registry_ref=f"ref-{n}",
        status=status,
        full_name=name,
        date_of_birth=dt.date(1990, 1, 1),
        sex="F",
        nationality="KOR",
        passport={"number": f"M{n:08d}"},
        residence_card={"number": f"TT{n:07d}"},
        passport_expiry_date=dt.date(2031, 1, 1),
        card_expiry_date=dt.date(2029, 1, 1),
        phone="+84912345678",
        language="ko",
    )


def test_existing_names_get_their_index_and_are_found_by_it(
    scratch_database: tuple[str, Engine],
) -> None:
    url, engine = scratch_database
    with Session(engine) as session, session.begin():
        session.add_all(
            [
                _account(1, "Park  Soo Ah"),
                _account(2, "PARK SOO AH", status="closed"),
                _account(3, "LÊ THỊ PARK"),
            ]
        )
        add_person(
            session,
            PersonIn.model_validate(
                {
                    "full_name": "Park Soo  Ah",
                    "date_of_birth": "1990-01-01",
                    "sex": "F",
                    "nationality": "KOR",
                    "passport": {
                        "number": "M70000001",
                        "type": "P",
                        "issuing_state": "KOR",
                        "issue_date": "2022-01-01",
                        "expiry_date": "2032-01-01",
                    },
                    "residence_card": {
                        "number": "TT7000001",
                        "kind": "TRC",
                        "expiry_date": "2029-01-01",
                    },
                }
            ),
            actor=Actor.system("tests"),
        )
    # Back to before the index, then up again: the migration computes it from the sealed names.
    command.downgrade(alembic_config(url), "0020_agency_locks")
    with engine.connect() as conn:
        assert "full_name_key" not in list(conn.execute(text("SELECT * FROM accounts")).keys())
    command.upgrade(alembic_config(url), "head")
    with engine.connect() as conn:
        keys = dict(conn.execute(text("SELECT eid_number, full_name_key FROM accounts")).all())
    assert keys["900000000001"] == index_value(normalise_name("PARK SOO AH"))
    assert keys["900000000001"] == keys["900000000002"]
    assert keys["900000000003"] == index_value("LÊ THỊ PARK")
    with engine.connect() as conn:
        registry_keys = conn.execute(text("SELECT full_name_key FROM registry_persons")).scalars()
        assert list(registry_keys) == [keys["900000000001"]]
    with Session(engine) as session:
        found = find_by_name(session, " park soo   ah ")
        assert [a.eid_number for a in found] == ["900000000001"]  # the closed one is not
        assert find_by_name(session, "PARK") == []  # a whole name, not a part of one
        assert [a.eid_number for a in find_by_name(session, "lê thị park")] == ["900000000003"]
        assert find_by_name(session, "LE THI PARK") == []  # marks are part of the name
        people = ReferenceRegistry(session).find_by_name("PARK SOO AH")
        assert [p.passport.number for p in people] == ["M70000001"]


def test_a_renamed_account_is_found_by_its_new_name(scratch_database: tuple[str, Engine]) -> None:
    _, engine = scratch_database
    with Session(engine) as session, session.begin():
        session.add(_account(4, "KIM MIN JUN"))
    with Session(engine) as session, session.begin():
        account = session.query(Account).one()
        account.full_name = "KIM MINJUN"
    with Session(engine) as session:
        assert find_by_name(session, "KIM MIN JUN") == []
        assert [a.eid_number for a in find_by_name(session, "kim minjun")] == ["900000000004"]
