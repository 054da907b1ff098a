"""Applications fully processed per second, against bare inserts of the same rows.

Run: .venv/bin/python benchmarks/procedure_bench.py [--applications 200] [--db URL]

"Fully processed": TK01 created (rules, registry look-up), portrait and two fingerprints stored
(sealed), verification job (documents against the registry, 1:N gallery search), consent,
submission with its legal deadline, signed account request, the e-ID authority's job (account,
e-ID number, activation code hash), the decision job back, and every notification delivered to the
local outbox: each step its own transaction, as the API and the worker run them.

Excluded and named: the biometric engine. Quality assessment, template extraction and comparisons
are replaced by precomputed results (`PrecomputedBiometrics`), because their cost is the
biometric engine's and is measured in benchmarks/biometrics_bench.py.

Baseline, same run, same database: bare INSERTs of the very rows the procedure wrote
(applications, captures, checks, accounts, account requests, notifications, jobs, audit events),
one transaction per application.
"""

from __future__ import annotations

import argparse
import os
import secrets
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

os.environ.setdefault("EID_ENV", "test")
os.environ.setdefault("EID_DATA_DIR", tempfile.mkdtemp(prefix="eid-bench-"))
os.environ.setdefault("EID_KEYS_DIR", str(Path(os.environ["EID_DATA_DIR"]) / "keys"))

import numpy as np
from bench_db import add_db_option, scratch
from sqlalchemy import create_engine, text

from eid.biometrics.ports import MatchResult, QualityResult


class PrecomputedBiometrics:
    """The biometric step, excluded: fixed answers, random 128-d face templates."""

    def __init__(self) -> None:
        self.gallery: dict[str, np.ndarray] = {}

    def portrait_quality(self, image: bytes) -> QualityResult:
        return QualityResult(acceptable=True, score=90.0)

    fingerprint_quality = lambda self, image, position: QualityResult(True, 60.0)  # noqa: E731

    def face_template(self, image: bytes) -> bytes:
        v = np.random.default_rng().standard_normal(128).astype(np.float32)
        return (v / np.linalg.norm(v)).tobytes()

    def fingerprint_template(self, image: bytes, position: int) -> bytes:
        return secrets.token_bytes(64)

    def fingerprint_capture(self, image: bytes, position: int) -> tuple[QualityResult, bytes]:
        return QualityResult(True, 60.0), secrets.token_bytes(64)

    def compare_faces(self, probe: bytes, reference: bytes) -> MatchResult:
        return MatchResult(False, 0.0, 0.363)

    def compare_fingerprints(self, probe: bytes, reference: bytes) -> MatchResult:
        return MatchResult(False, 0.0, 40.0)

    def search_faces(self, template: bytes, k: int) -> list[tuple[str, float]]:
        if not self.gallery:
            return []
        keys = list(self.gallery)
        m = np.stack([self.gallery[k] for k in keys])
        s = m @ np.frombuffer(template, dtype=np.float32)
        top = np.argsort(-s)[:k]
        return [(keys[i], float(s[i])) for i in top]

    def index_face(self, key: str, template: bytes) -> None:
        self.gallery[key] = np.frombuffer(template, dtype=np.float32)

    def index_faces(self, keys: list[str], templates: list[bytes]) -> None:
        for key, template in zip(keys, templates, strict=True):
            self.index_face(key, template)

    def prepare_search(self) -> None:
        pass

    def unindex_face(self, key: str) -> None:
        self.gallery.pop(key, None)

    def indexed(self) -> int:
        return len(self.gallery)


TABLES = [
    "applications",
    "application_captures",
    "application_checks",
    "identity_templates",
    "account_requests",
    "accounts",
    "notifications",
    "jobs",
    "audit_events",
]
JPEG = b"\xff\xd8" + b"\x00" * 30_000
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40_000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--applications", type=int, default=200)
    add_db_option(parser)
    args = parser.parse_args()

    with scratch(args.db, "eid_bench") as url:
        run(url, args.applications)


def run(url: str, n: int) -> None:
    from eid.app import import_all_tasks
    from eid.calendar.service import seed_overrides
    from eid.core.audit import Actor
    from eid.core.database import configure_engine, unit_of_work
    from eid.core.jobs import Worker
    from eid.core.schema import upgrade
    from eid.demo import _form
    from eid.enrolment import service as enrolment
    from eid.enrolment.consent import CURRENT_VERSION
    from eid.enrolment.schemas import ConsentIn
    from eid.registry.seed import seed
    from eid.staff.service import create_officer
    from eid.wiring import build_ports

    upgrade(url)
    engine = create_engine(url, pool_size=5)
    configure_engine(engine)
    import_all_tasks()
    ports = build_ports(matcher=PrecomputedBiometrics())
    system = Actor.system("bench")
    with unit_of_work() as s:
        seed_overrides(s)
        people = seed(s, count=int(n * 1.3), data_dir=None, actor=system, rng_seed=7)
        officer = create_officer(
            s,
            username="bench",
            password="bench-password-123!",
            office="BENCH",
            role="officer",
            actor=system,
        )
    people = [p for p in people if not p.card_expired][:n]
    actor = Actor(kind="officer", id=officer.id, role="officer", office="BENCH")
    import random

    rng = random.Random(1)
    with unit_of_work() as s:
        records = [ports.registry(s).find_by_passport(p.passport_number) for p in people]
    before = _row_counts(engine)
    worker = Worker(context=ports, name="bench")
    issued = 0
    t0 = time.perf_counter()
    for record in records:
        assert record is not None
        form = _form(record, rng)
        with unit_of_work() as s:
            app_id = enrolment.create_application(
                s, form, actor=actor, registry=ports.registry(s)
            ).id
        with unit_of_work() as s:
            enrolment.capture_portrait(s, app_id, JPEG, actor=actor, matcher=ports.matcher)
        for pos in (2, 7):
            with unit_of_work() as s:
                enrolment.capture_fingerprint(
                    s, app_id, pos, PNG, actor=actor, matcher=ports.matcher
                )
        with unit_of_work() as s:
            enrolment.request_verification(s, app_id, actor=actor)
        worker.drain()
        with unit_of_work() as s:
            code, _ = enrolment.send_phone_code(s, app_id, actor=actor)
        with unit_of_work() as s:
            enrolment.confirm_phone_code(s, app_id, code, actor=actor)
        with unit_of_work() as s:
            enrolment.record_consent(
                s,
                app_id,
                ConsentIn(
                    by="guardian" if form.guardian else "applicant",
                    text_version=CURRENT_VERSION,
                    language="vi",
                ),
                actor=actor,
            )
        with unit_of_work() as s:
            enrolment.submit(s, app_id, actor=actor)
        worker.drain()
        with unit_of_work() as s:
            issued += enrolment.view(s, app_id, actor=actor).status == "issued"
    procedure_s = time.perf_counter() - t0
    after = _row_counts(engine)
    produced = {t: after[t] - before[t] for t in TABLES}

    t0 = time.perf_counter()
    _bare_inserts(engine, len(records))
    baseline_s = time.perf_counter() - t0

    rate = len(records) / procedure_s
    base = len(records) / baseline_s
    print(
        f"applications: {len(records)} ({issued} issued); biometric step excluded "
        "(precomputed quality, templates, comparisons)"
    )
    print(
        "rows written per application: "
        + ", ".join(f"{t}={produced[t] / len(records):.1f}" for t in TABLES)
    )
    print(f"procedure: {rate:8.1f} applications/s  ({procedure_s:.2f} s)")
    print(
        f"baseline : {base:8.1f} applications/s of bare inserts of the same rows ({baseline_s:.2f} s)"
    )
    print(f"ratio procedure/baseline: {rate / base:.3f}")
    print(
        f"at this rate one core-pair handles {rate * 8 * 3600:,.0f} applications in an 8-hour day "
        "(campaign peak: about 1,000/day nationally, one city 400+/day)"
    )


def _row_counts(engine: object) -> dict[str, int]:
    with engine.connect() as c:  # type: ignore[attr-defined]
        return {t: int(c.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()) for t in TABLES}


def _copy(
    conn: Any, table: str, where: str, params: dict[str, Any], overrides: dict[str, str]
) -> None:
    """INSERT ... SELECT of the rows matching `where`, with fresh keys and unique values."""
    from eid.core.database import Base

    columns = [
        c.name
        for c in Base.metadata.tables[table].columns
        if not (
            c.primary_key and c.autoincrement is True and c.name == "id" and str(c.type) == "BIGINT"
        )
        and (table, c.name) != ("audit_events", "at")  # stamped by the database (eid.core.roles)
    ]
    select_list = ", ".join(overrides.get(c, c) for c in columns)
    conn.execute(
        text(
            f"INSERT INTO {table} ({', '.join(columns)}) "
            f"SELECT {select_list} FROM {table} WHERE {where}"
        ),
        params,
    )


def _bare_inserts(engine: Any, n: int) -> None:
    """Copy each application's rows (new keys), one transaction per application."""
    with engine.connect() as c:
        apps = [
            tuple(r)
            for r in c.execute(
                text(
                    "SELECT a.id, acc.id FROM applications a LEFT JOIN accounts acc "
                    "ON acc.eid_number = a.eid_number ORDER BY a.created_at"
                )
            )
        ]
    for app_id, account_id in apps[:n]:
        new_app, new_acc = uuid.uuid4(), uuid.uuid4()
        p = {
            "id": app_id,
            "new": new_app,
            "acc": account_id,
            "new_acc": new_acc,
            "sid": str(app_id),
            "like": f"%{app_id}%",
        }
        with engine.begin() as c:
            _copy(
                c,
                "applications",
                "id = :id",
                p,
                {"id": ":new", "status": "'cancelled'", "passport_key": "md5(random()::text)"},
            )
            _copy(
                c,
                "application_captures",
                "application_id = :id",
                p,
                {"id": "gen_random_uuid()", "application_id": ":new"},
            )
            _copy(c, "application_checks", "application_id = :id", p, {"application_id": ":new"})
            _copy(c, "identity_templates", "application_id = :id", p, {"application_id": ":new"})
            _copy(c, "audit_events", "subject_id = :sid", p, {"subject_id": "CAST(:new AS text)"})
            _copy(
                c,
                "jobs",
                "payload->>'application_id' = :sid OR idempotency_key LIKE :like",
                p,
                {"idempotency_key": "idempotency_key || '-copy-' || CAST(:new AS text)"},
            )
            _copy(
                c,
                "account_requests",
                "application_id = :sid",
                p,
                {
                    "idempotency_key": "idempotency_key || '-copy-' || CAST(:new AS text)",
                    "application_id": "CAST(:new AS text)",
                },
            )
            if account_id is not None:
                _copy(
                    c,
                    "accounts",
                    "id = :acc",
                    p,
                    {
                        "id": ":new_acc",
                        "status": "'closed'",
                        "eid_number": "lpad((floor(random() * 1e12))::bigint::text, 12, '0')",
                    },
                )
                _copy(
                    c,
                    "notifications",
                    "recipient_id = :acc OR recipient_id = :id",
                    p,
                    {
                        "id": "gen_random_uuid()",
                        "recipient_id": ":new_acc",
                        "idempotency_key": "idempotency_key || '-copy-' || CAST(:new AS text)",
                    },
                )


if __name__ == "__main__":
    main()
