"""The audit chain: intact after real (and concurrent) use; tampering by a superuser is found
and named by row id; checkpoints catch a rewritten chain and are themselves unforgeable."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Connection, Engine, func, select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from eid.core import audit, clock
from eid.core.audit import Actor, AuditChainLink, AuditCheckpoint
from eid.core.audit_chain import (
    Report,
    checkpoint_valid,
    parse_anchor,
    verify,
    write_checkpoint,
)
from eid.core.crypto import get_keystore
from eid.core.database import unit_of_work

ACTOR = Actor(kind="officer", id="o-chain", role="officer", office="HN-01")


def _log(n: int, subject: str) -> list[int]:
    """Commit `n` audit events (one transaction) through the application's own path."""
    with unit_of_work() as session:
        for i in range(n):
            audit.record(
                session, ACTOR, "application.read", "application", subject, details={"i": i}
            )
        session.flush()
        ids = session.execute(
            select(audit.AuditEvent.id)
            .where(audit.AuditEvent.subject_id == subject)
            .order_by(audit.AuditEvent.id)
        ).scalars()
        return list(ids)


def _verify(session: Session) -> Report:
    return verify(session, get_keystore())


@contextmanager
def tampering(superuser_engine: Engine) -> Iterator[Connection]:
    """A superuser's transaction with triggers off (the issue's attack), rolled back after, so
    the run's shared chain stays intact for the other tests."""
    with superuser_engine.connect() as conn:
        tx = conn.begin()
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        try:
            yield conn
        finally:
            tx.rollback()


def _verify_on(conn: Connection) -> Report:
    with Session(bind=conn) as session:
        return _verify(session)


def test_chain_is_intact_after_use_and_counts_every_row(committed: Engine) -> None:
    _log(3, "chain-clean")
    with Session(committed) as session:
        report = _verify(session)
        links = session.execute(select(func.count()).select_from(AuditChainLink)).scalar_one()
        events = session.execute(select(func.count()).select_from(audit.AuditEvent)).scalar_one()
    assert report.ok, report.problems
    assert report.rows == links == events >= 3


def test_rows_rolled_back_leave_no_link(committed: Engine) -> None:
    with pytest.raises(RuntimeError), unit_of_work() as session:
        audit.record(session, ACTOR, "application.read", "application", "chain-rollback")
        session.flush()
        raise RuntimeError("request failed")
    with Session(committed) as session:
        assert _verify(session).ok


def test_concurrent_writers_keep_one_valid_chain(committed: Engine) -> None:
    """Eight threads, each with its own connection, commit audit rows at once."""
    with Session(committed) as session:
        before = session.execute(select(func.count()).select_from(AuditChainLink)).scalar_one()
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            for round_ in range(15):
                _log(2, f"chain-concurrent-{worker}-{round_}")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with Session(committed) as session:
        report = _verify(session)
        seqs = session.execute(select(AuditChainLink.seq).order_by(AuditChainLink.seq)).scalars()
        seqs = list(seqs)
    assert report.ok, report.problems
    assert len(seqs) == before + 8 * 15 * 2
    assert seqs == list(range(1, len(seqs) + 1))


def test_an_edited_row_is_named(committed: Engine, superuser_engine: Engine) -> None:
    ids = _log(3, "chain-edit")
    with tampering(superuser_engine) as conn:
        conn.execute(
            text("UPDATE audit_events SET reason = 'nothing to see' WHERE id = :id"),
            {"id": ids[1]},
        )
        report = _verify_on(conn)
    assert report.first is not None
    assert (report.first.kind, report.first.event_id) == ("edited", ids[1])


def test_an_edited_timestamp_or_detail_is_named(
    committed: Engine, superuser_engine: Engine
) -> None:
    ids = _log(2, "chain-edit-at")
    with tampering(superuser_engine) as conn:
        conn.execute(
            text("UPDATE audit_events SET at = at - interval '1 day' WHERE id = :id"),
            {"id": ids[0]},
        )
        conn.execute(
            text("""UPDATE audit_events SET details = '{"i": 7}' WHERE id = :id"""),
            {"id": ids[1]},
        )
        report = _verify_on(conn)
    assert [(p.kind, p.event_id) for p in report.problems] == [
        ("edited", ids[0]),
        ("edited", ids[1]),
    ]


def test_a_deleted_row_is_named(committed: Engine, superuser_engine: Engine) -> None:
    ids = _log(3, "chain-delete")
    with tampering(superuser_engine) as conn:
        conn.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": ids[1]})
        report = _verify_on(conn)
    assert report.first is not None
    assert (report.first.kind, report.first.event_id) == ("deleted", ids[1])


def test_a_row_deleted_with_its_link_is_found(committed: Engine, superuser_engine: Engine) -> None:
    ids = _log(3, "chain-delete-link")
    with tampering(superuser_engine) as conn:
        conn.execute(text("DELETE FROM audit_chain WHERE event_id = :id"), {"id": ids[1]})
        conn.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": ids[1]})
        report = _verify_on(conn)
    assert report.first is not None
    assert report.first.kind == "deleted"
    assert f"before id {ids[2]}" in report.first.message


def test_an_inserted_row_is_named(committed: Engine, superuser_engine: Engine) -> None:
    ids = _log(2, "chain-insert")
    with tampering(superuser_engine) as conn:
        forged = conn.execute(
            text(
                "INSERT INTO audit_events (at, actor_kind, actor_id, action, subject_type, "
                "subject_id, details) SELECT at, actor_kind, actor_id, 'account.closed', "
                "subject_type, subject_id, '{}' FROM audit_events WHERE id = :id RETURNING id"
            ),
            {"id": ids[0]},
        ).scalar_one()
        report = _verify_on(conn)
    assert [(p.kind, p.event_id) for p in report.problems] == [("inserted", forged)]


def test_reordered_rows_are_named(committed: Engine, superuser_engine: Engine) -> None:
    ids = _log(3, "chain-reorder")
    a, b = ids[0], ids[2]
    with tampering(superuser_engine) as conn:
        # swap the two rows' ids, so the log shows them in the other order
        conn.execute(text("UPDATE audit_events SET id = -1 WHERE id = :a"), {"a": a})
        conn.execute(text("UPDATE audit_events SET id = :a WHERE id = :b"), {"a": a, "b": b})
        conn.execute(text("UPDATE audit_events SET id = :b WHERE id = -1"), {"b": b})
        report = _verify_on(conn)
    assert report.first is not None
    assert (report.first.kind, report.first.event_id) == ("reordered", a)
    assert f"now at id {b}" in report.first.message


def test_reordered_links_are_found(committed: Engine, superuser_engine: Engine) -> None:
    ids = _log(2, "chain-reorder-links")
    with tampering(superuser_engine) as conn:
        seq_a, seq_b = (
            conn.execute(text("SELECT seq FROM audit_chain WHERE event_id = :i"), {"i": i}).scalar()
            for i in ids
        )
        conn.execute(text("UPDATE audit_chain SET seq = -1 WHERE seq = :s"), {"s": seq_a})
        conn.execute(
            text("UPDATE audit_chain SET seq = :a WHERE seq = :b"), {"a": seq_a, "b": seq_b}
        )
        conn.execute(text("UPDATE audit_chain SET seq = :b WHERE seq = -1"), {"b": seq_b})
        report = _verify_on(conn)
    assert report.first is not None
    assert (report.first.kind, report.first.event_id) == ("reordered", ids[1])


def _rewrite_from(conn: Connection, event_id: int) -> int:
    """Edit a row, then recompute every link from it on with the database's own function: the
    chain is consistent again, but no longer the one that was signed. Returns its position."""
    conn.execute(
        text("UPDATE audit_events SET reason = 'rewritten' WHERE id = :id"), {"id": event_id}
    )
    start: int = conn.execute(
        text("SELECT seq FROM audit_chain WHERE event_id = :id"), {"id": event_id}
    ).scalar_one()
    prev = conn.execute(
        text("SELECT row_hash FROM audit_chain WHERE seq = :s"), {"s": start - 1}
    ).scalar()
    prev = prev if prev is not None else bytes(32)
    for seq, linked in conn.execute(
        text("SELECT seq, event_id FROM audit_chain WHERE seq >= :s ORDER BY seq"),
        {"s": start},
    ).all():
        prev = conn.execute(
            text(
                "UPDATE audit_chain SET prev_hash = :p, row_hash = audit_link_hash(:p, :s, e) "
                "FROM audit_events e WHERE e.id = :id AND seq = :s RETURNING row_hash"
            ),
            {"p": prev, "s": seq, "id": linked},
        ).scalar_one()
    return start


def test_a_rewritten_chain_is_caught_by_the_next_checkpoint(
    committed: Engine, superuser_engine: Engine
) -> None:
    ids = _log(3, "chain-rewrite")
    with unit_of_work() as session:
        assert write_checkpoint(session, get_keystore()) is not None
    with tampering(superuser_engine) as conn:
        _rewrite_from(conn, ids[0])
        report = _verify_on(conn)
    assert [p.kind for p in report.problems] == ["rewritten"]


def test_an_anchor_kept_outside_catches_a_rewrite_whose_checkpoints_were_deleted(
    committed: Engine, superuser_engine: Engine
) -> None:
    ids = _log(2, "chain-anchor")
    with Session(committed) as session:
        anchor = _verify(session).head
    assert anchor is not None
    with tampering(superuser_engine) as conn:
        start = _rewrite_from(conn, ids[0])
        conn.execute(text("DELETE FROM audit_checkpoints WHERE seq >= :s"), {"s": start})
        with Session(bind=conn) as session:
            unanchored = verify(session, get_keystore())
            anchored = verify(session, get_keystore(), anchors=[parse_anchor(anchor)])
    # what the database alone can no longer tell, the head kept outside it can
    assert unanchored.ok
    assert anchored.first is not None
    assert (anchored.first.kind, anchored.first.event_id) == ("rewritten", ids[-1])


def test_verify_warns_when_checkpoints_stop(committed: Engine) -> None:
    _log(1, "chain-stale")
    with unit_of_work() as session:
        write_checkpoint(session, get_keystore())
    _log(1, "chain-stale-after")
    every = dt.timedelta(minutes=10)
    with Session(committed) as session:
        assert _verify(session).warnings == []
        clock.shift(dt.timedelta(hours=1))
        report = verify(session, get_keystore(), checkpoint_every=every)
    assert report.ok
    assert "not covered by a checkpoint" in report.warnings[0]


def test_a_checkpoint_over_a_tampered_head_fails(
    committed: Engine, superuser_engine: Engine
) -> None:
    _log(1, "chain-checkpoint")
    with unit_of_work() as session:
        checkpoint = write_checkpoint(session, get_keystore())
        assert checkpoint is not None
        public_key = get_keystore().signing_key("audit-checkpoint").public_key()
        assert checkpoint_valid(checkpoint, public_key)
        checkpoint.head_hash = bytes(32)
        assert not checkpoint_valid(checkpoint, public_key)
        session.expunge(checkpoint)
    with tampering(superuser_engine) as conn:
        conn.execute(
            text("UPDATE audit_checkpoints SET head_hash = :h WHERE id = :id"),
            {"h": bytes(32), "id": checkpoint.id},
        )
        report = _verify_on(conn)
    assert [p.kind for p in report.problems] == ["checkpoint"]
    assert f"checkpoint {checkpoint.id}" in report.problems[0].message


def test_checkpoints_cover_the_tail(committed: Engine, superuser_engine: Engine) -> None:
    ids = _log(2, "chain-tail")
    with unit_of_work() as session:
        assert write_checkpoint(session, get_keystore()) is not None
        # nothing new since: no second checkpoint
        assert write_checkpoint(session, get_keystore()) is None
    with tampering(superuser_engine) as conn:
        conn.execute(text("DELETE FROM audit_chain WHERE event_id = :id"), {"id": ids[-1]})
        conn.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": ids[-1]})
        report = _verify_on(conn)
    assert [p.kind for p in report.problems] == ["deleted"]
    assert "the last rows were deleted" in report.problems[0].message


def test_the_worker_signs_checkpoints_periodically(committed: Engine) -> None:
    from eid.app import import_all_tasks
    from eid.core import jobs

    import_all_tasks()
    assert "audit.checkpoint" in jobs._periodic
    _log(1, "chain-periodic")
    with unit_of_work() as session:
        jobs._handlers["audit.checkpoint"](session, {}, None)
    with Session(committed) as session:
        latest = session.execute(
            select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1)
        ).scalar_one()
        head = session.execute(select(func.max(AuditChainLink.seq))).scalar_one()
    assert latest.seq == head


def test_eid_audit_verify_exit_codes(committed: Engine, superuser_engine: Engine) -> None:
    from eid.cli import app

    ids = _log(2, "chain-cli")
    clean = CliRunner().invoke(app, ["audit", "verify"])
    assert clean.exit_code == 0, clean.output
    assert '"ok": true' in clean.output
    head = json.loads(clean.output)["head"]
    anchored = CliRunner().invoke(app, ["audit", "verify", "--anchor", head])
    assert anchored.exit_code == 0, anchored.output
    # Commit a real edit (then put it back, so the run's chain stays intact for other tests).
    edit = "UPDATE audit_events SET reason = :r WHERE id = :id"
    with superuser_engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(edit), {"r": "edited", "id": ids[1]})
    try:
        tampered = CliRunner().invoke(app, ["audit", "verify"])
    finally:
        with superuser_engine.begin() as conn:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text(edit), {"r": None, "id": ids[1]})
    assert tampered.exit_code == 1
    assert f'"message": "row {ids[1]} was edited"' in tampered.output


def test_the_migration_chains_rows_logged_before_it(admin_url: str) -> None:
    """A database at 0001 with audit rows: 0002_audit_chain chains them, in id order."""
    import secrets

    from alembic import command
    from sqlalchemy import create_engine

    from eid.core.roles import drop_roles, provision
    from eid.core.schema import alembic_config, upgrade

    name = f"eid_chain_{secrets.token_hex(3)}"
    roles = provision(
        admin_url, name, owner=f"{name}_owner", app=f"{name}_app", with_passwords=True
    )
    owner = create_engine(roles.owner_url)
    try:
        command.upgrade(alembic_config(roles.owner_url), "0001")
        with owner.begin() as conn:
            for i in range(5):
                conn.execute(
                    text(
                        "INSERT INTO audit_events (actor_kind, actor_id, action, subject_type, "
                        "subject_id, reason, details) VALUES ('system', 'old', 'registry.seed', "
                        "'registry_person', :s, NULL, CAST(:d AS jsonb))"
                    ),
                    {"s": f"p-{i}", "d": f'{{"n": {i}, "name": "Nguyễn"}}'},
                )
        upgrade(roles.owner_url, app_role=roles.app)
        app = create_engine(roles.app_url)
        try:
            with Session(app) as session:
                report = _verify(session)
        finally:
            app.dispose()
        assert report.ok, report.problems
        assert report.rows == 5
        # and the revision goes down and up again, re-chaining the same rows
        command.downgrade(alembic_config(roles.owner_url), "0001")
        upgrade(roles.owner_url, app_role=roles.app)
        app = create_engine(roles.app_url)
        try:
            with Session(app) as session:
                assert _verify(session).rows == 5
        finally:
            app.dispose()
    finally:
        owner.dispose()
        drop = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with drop.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        drop.dispose()
        drop_roles(admin_url, roles.owner, roles.app)
