"""Migration 0004 seals the rows an older schema holds in clear, and its downgrade opens them."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable

import pytest
from alembic import command
from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from eid.authority.models import Account
from eid.core.schema import alembic_config
from eid.enrolment.models import Application
from eid.notify.models import Notification
from eid.registry.models import RegistryPerson
from eid.registry.service import ReferenceRegistry

PASSPORT = {
    "number": "MG1234567",
    "type": "P",
    "issuing_state": "KOR",
    "issue_date": "2021-05-01",
    "expiry_date": "2031-04-30",
}
CARD = {"number": "TM1234567", "kind": "TRC", "expiry_date": "2030-01-31"}


@pytest.fixture
def old_database(database_at: Callable[[str], tuple[str, Engine]]) -> tuple[str, Engine]:
    """A database of its own at revision 0001."""
    return database_at("0001")


def test_existing_rows_are_sealed_and_read_back(old_database: tuple[str, Engine]) -> None:
    url, engine = old_database
    ids = {t: uuid.uuid4() for t in ("person", "account", "app", "officer", "notification")}
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO registry_persons (id, full_name, date_of_birth, sex, nationality,"
                " status, passport_number, passport_type, passport_issuing_state,"
                " passport_issue_date, passport_expiry_date, card_number, card_kind,"
                " card_expiry_date) VALUES (:id, 'LEE JI EUN', '1991-02-03', 'F', 'KOR',"
                " 'resident', 'MG1234567', 'P', 'KOR', '2021-05-01', '2031-04-30', 'TM1234567',"
                " 'TRC', '2030-01-31')"
            ),
            {"id": ids["person"]},
        )
        conn.execute(
            text(
                "INSERT INTO accounts (id, eid_number, registry_ref, level, status, lock_grounds,"
                " full_name, date_of_birth, sex, nationality, passport, residence_card,"
                " passport_expiry_date, card_expiry_date, phone, email, language,"
                " activation_attempts) VALUES (:id, '123456789012', :ref, 2, 'active', '{}',"
                " 'LEE JI EUN', '1991-02-03', 'F', 'KOR', :passport, :card, '2031-04-30',"
                " '2030-01-31', '+84911222333', 'lee@example.test', 'ko', 0)"
            ),
            {
                "id": ids["account"],
                "ref": str(ids["person"]),
                "passport": json.dumps(PASSPORT),
                "card": json.dumps(CARD),
            },
        )
        conn.execute(text("INSERT INTO offices VALUES ('MIG-1', 'Office', 'Ha Noi', now())"))
        conn.execute(
            text(
                "INSERT INTO officers (id, username, password_hash, totp_secret, office_code,"
                " role, active, failed_logins, last_totp_step) VALUES (:id, 'mig', 'x',"
                " '\\x00', 'MIG-1', 'officer', true, 0, 0)"
            ),
            {"id": ids["officer"]},
        )
        conn.execute(
            text(
                "INSERT INTO applications (id, office_code, created_by, status, full_name,"
                " date_of_birth, sex, nationality, passport, passport_key, residence_card,"
                " address, phone, email, language, integrations, guardian, phone_otp_attempts,"
                " verification_run) VALUES (:id, 'MIG-1', :officer, 'draft', 'LEE JI EUN',"
                " '1991-02-03', 'F', 'KOR', :passport, 'old-key', :card, '5 Ba Trieu, Ha Noi',"
                " '+84911222333', NULL, 'ko', '{}', :guardian, 0, 0)"
            ),
            {
                "id": ids["app"],
                "officer": ids["officer"],
                "passport": json.dumps(PASSPORT),
                "card": json.dumps(CARD),
                "guardian": json.dumps({"full_name": "LEE MOTHER", "phone": "+84911000111"}),
            },
        )
        conn.execute(
            text(
                "INSERT INTO notifications (id, idempotency_key, recipient_type, recipient_id,"
                " channel, address, language, template, subject, body, status, attempts)"
                " VALUES (:id, 'k:sms', 'account', :acc, 'sms', '+84911222333', 'ko', 't', 's',"
                " '\\x00', 'queued', 0)"
            ),
            {"id": ids["notification"], "acc": ids["account"]},
        )

    # To head, not just 0004: the models read below are the head's (later revisions add columns).
    command.upgrade(alembic_config(url), "head")

    with engine.connect() as conn:
        for table in ("applications", "accounts", "registry_persons", "notifications"):
            dump = conn.execute(text(f"SELECT t::text FROM {table} t")).scalars().all()  # noqa: S608
            assert not any("LEE" in row or "84911222333" in row for row in dump), table
    with Session(engine) as session:
        app = session.execute(select(Application)).scalar_one()
        assert (app.full_name, app.date_of_birth, app.phone, app.email) == (
            "LEE JI EUN",
            dt.date(1991, 2, 3),
            "+84911222333",
            None,
        )
        assert app.passport == PASSPORT and app.residence_card == CARD
        assert app.guardian == {"full_name": "LEE MOTHER", "phone": "+84911000111"}
        assert app.integrations == {}
        account = session.execute(select(Account)).scalar_one()
        assert (account.full_name, account.email) == ("LEE JI EUN", "lee@example.test")
        person = session.execute(select(RegistryPerson)).scalar_one()
        assert person.card_number == "TM1234567"
        found = ReferenceRegistry(session).find_by_passport("mg1234567")
        assert found is not None and found.full_name == "LEE JI EUN"
        notification = session.execute(select(Notification)).scalar_one()
        assert notification.address == "+84911222333"

    command.downgrade(alembic_config(url), "0001")
    with engine.connect() as conn:
        row = conn.execute(text("SELECT full_name, phone, guardian FROM applications")).one()
        assert tuple(row) == (
            "LEE JI EUN",
            "+84911222333",
            {"full_name": "LEE MOTHER", "phone": "+84911000111"},
        )
        number = conn.execute(text("SELECT passport_number FROM registry_persons")).scalar_one()
        assert number == "MG1234567"
