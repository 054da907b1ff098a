"""Personal data at rest: sealed in every row, found by blind index, re-sealed on rotation."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from eid.core import clock
from eid.core.audit import Actor
from eid.core.crypto import BLIND_INDEX_RING, PERSONAL_DATA_RING, get_keystore
from eid.core.errors import EidError
from eid.core.sealed import reseal, rows_under_key, sealed_key_id
from eid.enrolment.models import Application
from eid.enrolment.schemas import TK01
from eid.enrolment.service import create_application
from eid.registry.models import RegistryPerson
from eid.registry.schemas import PersonIn
from eid.registry.service import ReferenceRegistry, add_person
from eid.staff.service import create_officer
from tests.identity.factories import make_account

SYSTEM = Actor.system("tests")
PERSONAL_TABLES = ("applications", "accounts", "registry_persons", "notifications")


def _person(number: str, name: str) -> dict[str, Any]:
    today = clock.today_vn()
    return {
        "full_name": name,
        "date_of_birth": "1987-03-14",
        "sex": "F",
        "nationality": "JPN",
        "passport": {
            "number": number,
            "type": "P",
            "issuing_state": "JPN",
            "issue_date": (today - dt.timedelta(days=700)).isoformat(),
            "expiry_date": (today + dt.timedelta(days=2000)).isoformat(),
        },
        "residence_card": {
            "number": "TC" + number[-7:],
            "kind": "TRC",
            "expiry_date": (today + dt.timedelta(days=400)).isoformat(),
        },
    }


def _enrol(session: Session, number: str, name: str, phone: str) -> Application:
    """A registry person and an application for them, through the services."""
    person = _person(number, name)
    add_person(session, PersonIn.model_validate(person), actor=SYSTEM)
    officer = create_officer(
        session,
        username=f"pii.{secrets.token_hex(4)}",
        password="a long enough password",
        office="HN-01",
        role="officer",
        actor=SYSTEM,
    )
    form = TK01.model_validate(
        person
        | {
            "address": "77 Pho Hue, Hai Ba Trung, Ha Noi",
            "phone": phone,
            "email": f"{name.split()[0].lower()}@example.test",
            "language": "en",
            "integrations": {"tax_code": "8099911122"},
        }
    )
    actor = Actor(kind="officer", id=str(officer.id), role="officer", office="HN-01")
    return create_application(session, form, actor=actor, registry=ReferenceRegistry(session))


def _rows_holding(session: Session, needles: list[str]) -> list[tuple[str, str, str]]:
    """(table, column, needle) wherever a needle's bytes appear in a stored value, whatever the
    column's type: text, JSON, bytea."""
    found = []
    for table in PERSONAL_TABLES:
        result = session.execute(text(f"SELECT * FROM {table}"))  # noqa: S608 - fixed names
        columns = list(result.keys())
        for row in result:
            for column, value in zip(columns, row, strict=True):
                raw = value if isinstance(value, bytes) else str(value).encode()
                found += [(table, column, n) for n in needles if n.encode() in raw.upper()]
    return found


def test_rows_hold_no_name_document_number_phone_or_address_in_clear(db: Session) -> None:
    app = _enrol(db, "TK7788991", "WATANABE HARUKA", "+84933221144")
    make_account(db, full_name="WATANABE HARUKA")  # its activation message has addresses too
    db.flush()
    needles = [
        "WATANABE",
        "HARUKA",
        "TK7788991",
        "TC7788991",
        "+84933221144",
        "84933221144",
        "PHO HUE",
        "1987-03-14",
        "8099911122",
        "EXAMPLE.COM",
        "M12345678",
    ]
    # The needles are really there to be found: the scan itself works.
    assert _rows_holding(db, ["HN-01"])
    assert _rows_holding(db, needles) == []

    db.expire_all()
    again = db.execute(select(Application).where(Application.id == app.id)).scalar_one()
    assert (again.full_name, again.phone, again.passport["number"]) == (
        "WATANABE HARUKA",
        "+84933221144",
        "TK7788991",
    )
    assert again.date_of_birth == dt.date(1987, 3, 14)
    assert again.integrations == {"tax_code": "8099911122"}


def test_a_sealed_value_moved_to_another_row_does_not_open(db: Session) -> None:
    first = _enrol(db, "TK1000001", "SATO KENJI", "+84933000001")
    second = _enrol(db, "TK1000002", "ITO YUKI", "+84933000002")
    db.flush()
    db.execute(
        text("UPDATE applications SET full_name_sealed = :b WHERE id = :id"),
        {"b": first.full_name_sealed, "id": second.id},
    )
    db.expire_all()
    moved = db.execute(select(Application).where(Application.id == second.id)).scalar_one()
    with pytest.raises(EidError) as refused:
        _ = moved.full_name
    assert refused.value.code == "CIPHERTEXT_INVALID"


def test_look_ups_and_uniqueness_go_through_the_blind_index(db: Session) -> None:
    _enrol(db, "TK2000001", "MORI AOI", "+84933000003")
    registry = ReferenceRegistry(db)
    # Case and spacing are not part of a document number.
    found = registry.find_by_passport(" tk 2000001 ")
    assert found is not None and found.full_name == "MORI AOI"
    assert registry.find_by_residence_card("tc2000001") is not None
    assert registry.find_by_passport("TK2000002") is None
    with pytest.raises(EidError) as duplicate:
        add_person(db, PersonIn.model_validate(_person("tk2000001", "OTHER")), actor=SYSTEM)
    assert duplicate.value.code == "REGISTRY_DUPLICATE"
    # One open application per passport, enforced on the blind index.
    with pytest.raises(EidError) as again:
        officer = create_officer(
            db,
            username=f"pii.{secrets.token_hex(4)}",
            password="a long enough password",
            office="HN-01",
            role="officer",
            actor=SYSTEM,
        )
        form = TK01.model_validate(
            _person("TK2000001", "MORI AOI")
            | {"address": "1 Ly Thai To", "phone": "+84933000003", "language": "en"}
        )
        create_application(
            db,
            form,
            actor=Actor(kind="officer", id=str(officer.id), role="officer", office="HN-01"),
            registry=registry,
        )
    assert again.value.code == "APPLICATION_ALREADY_OPEN"


def _failing_after(factory: Callable[[], Session], batches: int) -> Callable[[], Session]:
    calls = 0

    def make() -> Session:
        nonlocal calls
        calls += 1
        if calls > batches:
            raise KeyboardInterrupt  # the operator's ^C between two batches
        return factory()

    return make


def test_rotation_reseals_every_row_and_retires_the_old_keys(
    committed: Engine, own_keys: Path
) -> None:
    factory = sessionmaker(committed, expire_on_commit=False)
    with factory() as session, session.begin():
        ids = [
            _enrol(session, f"TR{i:07d}", f"YAMADA TARO{'X' * i}", f"+8493300{i:04d}").id
            for i in range(5)
        ]
        make_account(session, full_name="KATO MEI")
    keystore = get_keystore()
    old_data = keystore.keyring(PERSONAL_DATA_RING).current
    old_index = keystore.keyring(BLIND_INDEX_RING).current
    new_data = keystore.rotate(PERSONAL_DATA_RING)
    new_index = keystore.rotate(BLIND_INDEX_RING)

    with factory() as session:
        before = rows_under_key(session, PERSONAL_DATA_RING, old_data)
    # Interrupted after four batches of at most two rows: what was done stays done.
    with pytest.raises(KeyboardInterrupt):
        reseal(_failing_after(factory, 4), batch_size=2)
    with factory() as session:
        left = rows_under_key(session, PERSONAL_DATA_RING, old_data)
    assert 0 < left < before
    reports = reseal(factory, batch_size=2)
    by_table = {r.table: r for r in reports}
    assert by_table["applications"].rows_seen == 5
    assert by_table["registry_persons"].rows_seen == 5
    # The rerun re-sealed only what the interrupted run had not reached.
    assert sum(r.rows_changed for r in reports) == left
    assert all(r.rows_changed == 0 for r in reseal(factory, batch_size=2))  # idempotent

    with factory() as session:
        assert rows_under_key(session, PERSONAL_DATA_RING, old_data) == 0
        assert rows_under_key(session, BLIND_INDEX_RING, old_index) == 0
    keystore.retire(PERSONAL_DATA_RING, old_data)
    keystore.retire(BLIND_INDEX_RING, old_index)
    assert set(keystore.keyring(PERSONAL_DATA_RING).keys) == {new_data}

    with factory() as session:
        apps = session.scalars(select(Application).where(Application.id.in_(ids))).all()
        assert sorted(a.full_name for a in apps) == sorted(
            f"YAMADA TARO{'X' * i}" for i in range(5)
        )
        assert {sealed_key_id(a.phone_sealed) for a in apps} == {new_data}
        assert all(a.passport_key.startswith(new_index + ".") for a in apps)
        found = ReferenceRegistry(session).find_by_passport("TR0000003")
        assert found is not None and found.full_name == "YAMADA TAROXXX"
        people = session.scalars(select(RegistryPerson)).all()
        assert all(p.date_of_birth == dt.date(1987, 3, 14) for p in people)


def test_a_key_still_in_use_is_not_retired_by_the_command(
    committed: Engine, own_keys: Path
) -> None:
    from typer.testing import CliRunner

    from eid.cli import app

    factory = sessionmaker(committed, expire_on_commit=False)
    with factory() as session, session.begin():
        _enrol(session, "TU0000001", "ABE RIN", "+84933009999")
    old = get_keystore().keyring(PERSONAL_DATA_RING).current
    runner = CliRunner()
    rotated = runner.invoke(app, ["keys", "rotate", "--ring", PERSONAL_DATA_RING])
    assert rotated.exit_code == 0, rotated.output
    refused = runner.invoke(app, ["keys", "retire", "--ring", PERSONAL_DATA_RING, "--key", old])
    assert isinstance(refused.exception, EidError)
    assert refused.exception.code == "KEY_IN_USE"
    assert old in get_keystore().keyring(PERSONAL_DATA_RING).keys
    resealed = runner.invoke(app, ["keys", "reseal", "--batch-size", "50"])
    assert resealed.exit_code == 0, resealed.output
    retired = runner.invoke(app, ["keys", "retire", "--ring", PERSONAL_DATA_RING, "--key", old])
    assert retired.exit_code == 0, retired.output
    assert old not in get_keystore().keyring(PERSONAL_DATA_RING).keys
    with factory() as session:
        assert session.scalars(select(Application)).one().full_name == "ABE RIN"
