"""Fixtures for the HTTP edge tests: an officer's bearer token and a TK01 form."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from eid.core.audit import Actor
from eid.core.database import unit_of_work

PASSWORD = "correct-horse-battery-9!"


def officer_token(client: Any, role: str = "officer") -> str:
    from eid.staff.service import create_officer, current_totp

    name = f"edge.{role}.{os.urandom(3).hex()}"
    with unit_of_work() as session:
        made = create_officer(
            session,
            username=name,
            password=PASSWORD,
            office="HN-01",
            role=role,
            actor=Actor.system("tests"),
        )
    r = client.post(
        "/api/v1/officer/sessions",
        json={"username": name, "password": PASSWORD, "totp": current_totp(made.totp_secret)},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["access_token"])


def tk01_form(**changes: Any) -> dict[str, Any]:
    today = dt.date.today()
    form: dict[str, Any] = {
        "full_name": "PARK JI-HOON",
        "date_of_birth": "1988-03-14",
        "sex": "M",
        "nationality": "KOR",
        "passport": {
            "number": "M70012345",
            "type": "P",
            "issuing_state": "KOR",
            "issue_date": (today - dt.timedelta(days=700)).isoformat(),
            "expiry_date": (today + dt.timedelta(days=2000)).isoformat(),
        },
        "residence_card": {
            "number": "TT7001234",
            "kind": "TRC",
            "expiry_date": (today + dt.timedelta(days=400)).isoformat(),
        },
        "address": "12 Trang Tien, Hoan Kiem, Ha Noi",
        "phone": "+84912345678",
        "email": "park.jihoon@example.test",
        "language": "vi",
        "integrations": {"tax_code": "8012345678"},
    }
    form.update(changes)
    return form


def add_registry_person(form: dict[str, Any]) -> None:
    from eid.registry.schemas import PersonIn
    from eid.registry.service import add_person

    person = {k: form[k] for k in ("full_name", "date_of_birth", "sex", "nationality")}
    person |= {"passport": form["passport"], "residence_card": form["residence_card"]}
    with unit_of_work() as session:
        add_person(session, PersonIn.model_validate(person), actor=Actor.system("tests"))


@pytest.fixture
def officer_headers(api: Any) -> dict[str, str]:
    """An officer's bearer, with the TK01 form's person in the registry."""
    add_registry_person(tk01_form())
    return {"Authorization": f"Bearer {officer_token(api)}"}


@pytest.fixture
def database_at(admin_url: str) -> Iterator[Callable[[str], tuple[str, Engine]]]:
    """A database of its own, migrated to the given revision, dropped after the test."""
    from eid.core.database import ensure_database
    from eid.core.schema import alembic_config

    made: list[tuple[str, Engine]] = []

    def make(revision: str) -> tuple[str, Engine]:
        name = f"eid_mig_{secrets.token_hex(4)}"
        ensure_database(admin_url, name)
        url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        command.upgrade(alembic_config(url), revision)
        engine = create_engine(url)
        made.append((name, engine))
        return url, engine

    yield make
    drop = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    for name, engine in made:
        engine.dispose()
        with drop.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    drop.dispose()
