"""The application's database role can add to the audit log and read it, never rewrite it."""

# ruff: noqa: S608  (the SQL here is built from this file's own table names, on purpose)

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from eid.core import audit
from eid.core.audit import Actor
from eid.core.roles import DatabaseRoles, least_privilege_problems
from eid.core.schema import upgrade

AUDIT_TABLES = ("audit_events", "audit_chain", "audit_checkpoints")


def _refused(db: Session, statement: str, match: str) -> None:
    with pytest.raises(DBAPIError, match=match), db.begin_nested():
        db.execute(text(statement))


def test_application_role_appends_and_reads_the_audit_log(db: Session) -> None:
    actor = Actor(kind="officer", id="o-1", role="officer", office="HN-01")
    audit.record(db, actor, "application.read", "application", "a-1", reason="test")
    db.flush()
    row = db.execute(
        text("SELECT actor_role, office, action FROM audit_events WHERE subject_id = 'a-1'")
    ).one()
    assert tuple(row) == ("officer", "HN-01", "application.read")


@pytest.mark.parametrize("table", AUDIT_TABLES)
def test_application_role_cannot_change_or_delete_audit_rows(db: Session, table: str) -> None:
    for statement in (
        f"UPDATE {table} SET {'reason' if table == 'audit_events' else 'seq'} = NULL",
        f"DELETE FROM {table}",
        f"TRUNCATE {table}",
    ):
        _refused(db, statement, f"permission denied for table {table}")


def test_application_role_cannot_choose_an_audit_rows_id_or_time(db: Session) -> None:
    columns = "actor_kind, actor_id, action, subject_type, subject_id, details"
    values = "'system', 'x', 'x', 'x', 'x', '{}'"
    for column, value in (("at", "now() - interval '1 year'"), ("id", "1")):
        _refused(
            db,
            f"INSERT INTO audit_events ({columns}, {column}) VALUES ({values}, {value})",
            "permission denied for table audit_events",
        )
    with db.begin_nested():
        db.execute(text(f"INSERT INTO audit_events ({columns}) VALUES ({values})"))


def test_application_role_deletes_only_from_the_tables_it_purges(db: Session) -> None:
    _refused(db, "DELETE FROM applications", "permission denied for table applications")
    _refused(db, "DELETE FROM accounts", "permission denied for table accounts")
    with db.begin_nested():
        db.execute(text("DELETE FROM wallet_verifier_nonces WHERE false"))


def test_application_role_cannot_write_chain_links_itself(db: Session) -> None:
    _refused(
        db,
        "INSERT INTO audit_chain (seq, event_id, prev_hash, row_hash) "
        "VALUES (999999999, 1, '\\x00', '\\x00')",
        "permission denied for table audit_chain",
    )


def test_application_role_cannot_switch_off_triggers_or_run_ddl(db: Session) -> None:
    # The attack: replica mode skips every trigger, the append-only one included.
    _refused(
        db,
        "SET LOCAL session_replication_role = replica",
        'permission denied to set parameter "session_replication_role"',
    )
    for statement in (
        "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_change",
        "ALTER TABLE audit_events DISABLE TRIGGER ALL",
        "DROP TRIGGER audit_events_chain ON audit_events",
        "ALTER TABLE audit_chain DISABLE TRIGGER audit_chain_no_change",
        "DROP TABLE audit_checkpoints",
        "ALTER TABLE accounts ADD COLUMN x int",
    ):
        _refused(db, statement, "must be owner")
    _refused(db, "CREATE TABLE shadow (id int)", "permission denied for schema public")
    _refused(db, "CREATE TEMP TABLE shadow (id int)", "permission denied to create temporary")
    _refused(db, "CREATE SCHEMA shadow", "permission denied for database")


def test_owner_is_held_by_the_append_only_triggers(owner_engine: Engine) -> None:
    with owner_engine.connect() as conn:
        for table in AUDIT_TABLES:
            with pytest.raises(DBAPIError, match="append-only"), conn.begin():
                conn.execute(text(f"DELETE FROM {table}"))


def test_application_role_has_no_more_power_than_it_needs(
    engine: Engine, superuser_engine: Engine
) -> None:
    with engine.connect() as conn:
        assert least_privilege_problems(conn) == []
    with superuser_engine.connect() as conn:
        assert "the application's database role has SUPERUSER" in least_privilege_problems(conn)


@pytest.fixture
def later_table(owner_engine: Engine) -> Iterator[str]:
    """A table a later migration adds (created here by the owner, as a migration would)."""
    with owner_engine.begin() as conn:
        conn.execute(text("CREATE TABLE later_things (id bigserial PRIMARY KEY, note text)"))
    yield "later_things"
    with owner_engine.begin() as conn:
        conn.execute(text("DROP TABLE later_things"))


def test_tables_added_by_later_migrations_get_the_application_grants(
    later_table: str, database_roles: DatabaseRoles, engine: Engine
) -> None:
    with engine.connect() as conn, pytest.raises(DBAPIError, match="permission denied"):
        conn.execute(text(f"SELECT * FROM {later_table}"))
    upgrade(database_roles.owner_url, app_role=database_roles.app)
    with engine.begin() as conn:
        conn.execute(text(f"INSERT INTO {later_table} (note) VALUES ('a')"))
        conn.execute(text(f"UPDATE {later_table} SET note = 'b'"))
        assert conn.execute(text(f"SELECT note FROM {later_table}")).scalar_one() == "b"
    # deleting rows is for the tables the application purges, by name (eid.core.roles)
    with engine.connect() as conn, pytest.raises(DBAPIError, match="permission denied"):
        conn.execute(text(f"DELETE FROM {later_table}"))
    # and the audit tables stay append-only for it after the re-grant
    with engine.connect() as conn, pytest.raises(DBAPIError, match="permission denied"):
        conn.execute(text("DELETE FROM audit_events"))


def test_production_refuses_a_too_powerful_database_role(
    engine: Engine, superuser_engine: Engine, tmp_path: Path
) -> None:
    from eid.bootstrap import check_database_role
    from eid.core.errors import EidError
    from eid.core.settings import Settings

    production = Settings(
        env="production",
        database_url="postgresql://app@db/eid",
        migration_database_url="postgresql://owner@db/eid",
        keys_dir=tmp_path,
        smtp_host="smtp.example",
        sms_gateway_url="https://sms.example/send",
        issuer="https://eid.example",
    )
    check_database_role(production, engine)  # the application role: starts
    with pytest.raises(EidError) as refused:
        check_database_role(production, superuser_engine)
    assert refused.value.code == "DATABASE_ROLE_TOO_POWERFUL"


def test_production_wants_two_roles_not_one(tmp_path: Path) -> None:
    from pydantic import ValidationError

    from eid.core.settings import Settings

    with pytest.raises(ValidationError, match="two roles"):
        Settings(
            env="production",
            database_url="postgresql://eid@db/eid",
            migration_database_url="postgresql://eid@db/eid",
            keys_dir=tmp_path,
            smtp_host="smtp.example",
            sms_gateway_url="https://sms.example/send",
            issuer="https://eid.example",
        )


def test_a_database_made_before_the_roles_is_handed_to_the_owner(admin_url: str) -> None:
    """An older embedded database (tables owned by the superuser) passes to the owner role on
    the next start, so the application role then owns nothing; provisioning twice is harmless."""
    import secrets

    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    from eid.core.roles import drop_roles, provision

    name = f"eid_handover_{secrets.token_hex(3)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    in_db = create_engine(make_url(admin_url).set(database=name), isolation_level="AUTOCOMMIT")
    try:
        with in_db.connect() as conn:
            conn.execute(text("CREATE TABLE old_things (id bigserial PRIMARY KEY)"))
        for _ in range(2):
            roles = provision(
                admin_url, name, owner=f"{name}_owner", app=f"{name}_app", with_passwords=True
            )
        with in_db.connect() as conn:
            owners = conn.execute(
                text(
                    "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class c JOIN "
                    "pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'"
                )
            ).scalars()
            assert set(owners) == {roles.owner}
        app = create_engine(roles.app_url)
        try:
            with app.connect() as conn:
                assert least_privilege_problems(conn) == []
        finally:
            app.dispose()
    finally:
        in_db.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        drop_roles(admin_url, f"{name}_owner", f"{name}_app")
