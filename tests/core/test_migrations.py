"""The schema's history: frozen revisions, one chain, and what `alembic check` cannot see."""

from __future__ import annotations

import hashlib
import itertools
import re

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Index, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.schema import AddConstraint, CheckConstraint, CreateIndex, DropConstraint

from eid.core.audit import APPEND_ONLY_SQL
from eid.core.database import Base
from eid.core.schema import MIGRATIONS, alembic_config, import_all_models

# Revisions already applied somewhere, by file, with the SHA-256 of their bytes. 0001 is the
# frozen first revision: databases were built from it, so editing it would give them and a new
# database two different schemas with nothing to reconcile them. A change is a new revision.
FROZEN_REVISIONS = {
    "0001_initial_schema.py": "96a76efdacfffdfedabbe38b55378f67fc67c91bff657966ce7485a9da566c2d",
}
# 0001 runs eid.core.audit.APPEND_ONLY_SQL, so that text is part of the frozen revision too:
# a new trigger or function goes into a new revision with its own SQL, and this one stays.
APPEND_ONLY_SQL_SHA256 = "5a1b4748c3ac0d4513e36e464e16855dd7cd1efe0718c58b118e30d8f69770b1"

# Objects the models do not describe, so `alembic check` cannot compare them: declared here.
EXPECTED_TRIGGERS = {
    (  # 0001: the audit log refuses UPDATE, DELETE and TRUNCATE
        "audit_events",
        "audit_events_no_change",
        "CREATE TRIGGER audit_events_no_change BEFORE DELETE OR UPDATE OR TRUNCATE ON "
        "public.audit_events FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()",
    ),
    (  # 0002_audit_chain: each committed event is chained, at COMMIT
        "audit_events",
        "audit_events_chain",
        "CREATE CONSTRAINT TRIGGER audit_events_chain AFTER INSERT ON public.audit_events "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION audit_chain_append()",
    ),
    (  # 0002_audit_chain: the chain and its checkpoints are append-only too
        "audit_chain",
        "audit_chain_no_change",
        "CREATE TRIGGER audit_chain_no_change BEFORE DELETE OR UPDATE OR TRUNCATE ON "
        "public.audit_chain FOR EACH STATEMENT EXECUTE FUNCTION audit_table_append_only()",
    ),
    (
        "audit_checkpoints",
        "audit_checkpoints_no_change",
        "CREATE TRIGGER audit_checkpoints_no_change BEFORE DELETE OR UPDATE OR TRUNCATE ON "
        "public.audit_checkpoints FOR EACH STATEMENT EXECUTE FUNCTION "
        "audit_table_append_only()",
    ),
}
EXPECTED_FUNCTIONS = {
    "audit_events_append_only",
    "audit_field",
    "audit_link_hash",
    "audit_chain_append",
    "audit_table_append_only",
}
# Partial indexes and check constraints are in the models, but `alembic check` compares neither
# an index's WHERE nor a constraint's expression: only that something of that name exists.
EXPECTED_PARTIAL_INDEXES = {
    ("accounts", "uq_accounts_registry_ref_open"),  # one living account per person
    ("applications", "uq_applications_open_passport"),  # one open application per person
    ("holder_devices", "uq_holder_devices_one_bound"),  # one bound device at a time
    ("oidc_signing_keys", "uq_oidc_signing_keys_one_current"),  # one key without a successor
    ("notifications", "ix_notifications_secret_pending"),  # codes still in clear in an inbox
    ("wallet_issuer_certs", "uq_wallet_issuer_certs_one_current"),  # one chain, made once
    ("agency_locks", "uq_agency_locks_open_request"),  # 0020: one open lock per request
}
EXPECTED_CHECKS = {
    ("applications", "ck_applications_channel"),
    ("applications", "ck_applications_level"),
    ("applications", "ck_applications_office_channel"),  # 0008: no office only in the app
    ("agency_locks", "ck_agency_locks_ground"),  # 0020: only the grounds an agency may ask
    ("agency_locks", "ck_agency_locks_status"),
    ("wallet_issuer_certs", "ck_wallet_issuer_certs_revocation"),  # 0023: RFC 5280 reasons
    ("calendar_overrides", "ck_calendar_overrides_kind"),
    # 0012: one decision per sign-in request, approved only with an account, used only approved
    ("holder_device_approvals", "ck_holder_device_approvals_approved_by_one"),
    ("holder_device_approvals", "ck_holder_device_approvals_known_status"),
    ("holder_device_approvals", "ck_holder_device_approvals_one_decision"),
    ("holder_device_approvals", "ck_holder_device_approvals_used_if_approved"),
    ("notifications", "ck_notifications_channel"),
    ("notifications", "ck_notifications_recipient_type"),
    ("notifications", "ck_notifications_status"),
    ("relying_parties", "ck_relying_parties_profile"),  # 0011: basic | fapi2
}


def test_models_and_migrations_do_not_drift(database_url: str) -> None:
    """`alembic check`: the test database, built by the migrations, matches the models."""
    command.check(alembic_config(database_url))


def test_released_revisions_are_frozen() -> None:
    versions = MIGRATIONS / "versions"
    for name, digest in FROZEN_REVISIONS.items():
        assert hashlib.sha256((versions / name).read_bytes()).hexdigest() == digest, (
            f"{name} is released: put the change in a new revision"
        )
    assert hashlib.sha256(APPEND_ONLY_SQL.encode()).hexdigest() == APPEND_ONLY_SQL_SHA256, (
        "revision 0001 runs APPEND_ONLY_SQL: leave it, and put the change in a new revision"
    )


def test_revisions_form_one_chain_from_0001() -> None:
    """Two branches that each add a revision on the same parent leave two heads: re-chain one."""
    script = ScriptDirectory.from_config(alembic_config("postgresql://unused"))
    assert len(script.get_heads()) == 1, f"several heads: {script.get_heads()}"
    chain = list(script.walk_revisions())
    assert chain[-1].revision == "0001" and chain[-1].down_revision is None
    for newer, older in itertools.pairwise(chain):
        assert newer.down_revision == older.revision


def _partial_indexes() -> dict[tuple[str, str], Index]:
    import_all_models()
    return {
        (table.name, str(index.name)): index
        for table in Base.metadata.tables.values()
        for index in table.indexes
        if index.dialect_options["postgresql"]["where"] is not None
    }


def _checks() -> dict[str, CheckConstraint]:
    import_all_models()
    return {
        str(constraint.name): constraint
        for table in Base.metadata.tables.values()
        for constraint in table.constraints
        if isinstance(constraint, CheckConstraint)
    }


def _canonical(definition: str) -> str:
    """PostgreSQL keeps an expression as it parsed it and parses it again when a column of the
    table changes type (0004 widens `passport_key`): casts and parentheses move, the meaning
    stays. Compare without them; a changed column, value or operator still differs."""
    return re.sub(r"[()\s]", "", re.sub(r"::[a-z ]+(\[\])?", "", definition))


def _index_definitions(conn: Connection) -> dict[tuple[str, str], str]:
    rows = conn.execute(
        text(
            "SELECT tablename, indexname, indexdef FROM pg_indexes "
            "WHERE schemaname = 'public' AND indexdef LIKE '% WHERE %'"
        )
    )
    return {(r.tablename, r.indexname): _canonical(r.indexdef) for r in rows}


def _check_definitions(conn: Connection) -> dict[tuple[str, str], str]:
    rows = conn.execute(
        text(
            "SELECT conrelid::regclass::text AS table_name, conname, "
            "pg_get_constraintdef(oid) AS definition FROM pg_constraint "
            "WHERE connamespace = 'public'::regnamespace AND contype = 'c'"
        )
    )
    return {(r.table_name, r.conname): _canonical(r.definition) for r in rows}


def test_triggers_functions_partial_indexes_and_checks_exist_after_upgrade(
    owner_engine: Engine,
) -> None:
    """The database built by `alembic upgrade head` holds exactly the declared objects; each
    partial index and check says what its model says (PostgreSQL renders both sides: the model's
    object is created in place of the migrated one inside a transaction that is rolled back).
    The append-only triggers' refusals themselves: tests/core/test_audit.py. As the owner, who
    alone may drop and create them."""
    with owner_engine.connect() as conn, conn.begin() as outer:
        triggers = {
            (r.table_name, r.tgname, r.definition)
            for r in conn.execute(
                text(
                    "SELECT tgrelid::regclass::text AS table_name, tgname, "
                    "pg_get_triggerdef(oid) AS definition FROM pg_trigger WHERE NOT tgisinternal"
                )
            )
        }
        assert triggers == EXPECTED_TRIGGERS
        functions = set(
            conn.execute(
                text("SELECT proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace")
            ).scalars()
        )
        assert functions == EXPECTED_FUNCTIONS

        migrated_indexes = _index_definitions(conn)
        assert set(migrated_indexes) == EXPECTED_PARTIAL_INDEXES
        migrated_checks = _check_definitions(conn)
        assert set(migrated_checks) == EXPECTED_CHECKS

        models_indexes = _partial_indexes()
        assert set(models_indexes) == EXPECTED_PARTIAL_INDEXES
        for index in models_indexes.values():
            conn.execute(text(f'DROP INDEX "{index.name}"'))
            conn.execute(CreateIndex(index))
        for check in _checks().values():
            conn.execute(DropConstraint(check))
            conn.execute(AddConstraint(check))
        assert _index_definitions(conn) == migrated_indexes
        assert _check_definitions(conn) == migrated_checks
        outer.rollback()
