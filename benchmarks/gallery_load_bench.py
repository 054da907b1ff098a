"""Start-up load of the 1:N gallery: PostgreSQL rows -> decrypted templates -> in-memory index.

Run: .venv/bin/python benchmarks/gallery_load_bench.py [--faces 200000] [--db URL]

A worker that starts (or restarts after a crash) must read every issued identity's sealed face
template before its first duplicate check: `eid.verification.service.warm_gallery`, which
`eid serve` and `eid worker` run in the background at start. This measures that load, in bounded
batches, on a scratch database filled with N sealed random templates, against the baseline of a
bare read of the same column in the same run (SELECT id, application_id, face ORDER BY id, no
decryption, no index). From 100k faces the load ends by learning the PQ codebooks, so that the
first duplicate check does not.
"""

from __future__ import annotations

import argparse
import resource
import time
import uuid

import numpy as np
from bench_db import add_db_option, scratch
from sqlalchemy import create_engine, insert, text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=200_000)
    add_db_option(parser)
    args = parser.parse_args()
    with scratch(args.db, "eid_gallery_bench") as url:
        run(url, args.faces)


def fill(url: str, n: int) -> np.ndarray:
    """Returns the first stored face, to search for."""
    from eid.biometrics.face import serialize_face_template
    from eid.core.audit import Actor
    from eid.core.crypto import seal
    from eid.core.database import unit_of_work
    from eid.enrolment.models import Application
    from eid.staff.service import create_officer
    from eid.verification.gallery import face_aad
    from eid.verification.models import IdentityTemplate

    with unit_of_work() as session:
        officer = create_officer(
            session,
            username="bench.gallery",
            password="a long enough password",
            office="BENCH",
            role="officer",
            actor=Actor.system("bench"),
        )
    rng = np.random.default_rng(3)
    engine = create_engine(url)
    first: np.ndarray | None = None
    for start in range(0, n, 10_000):
        count = min(10_000, n - start)
        ids = [uuid.uuid4() for _ in range(count)]
        vectors = rng.standard_normal((count, 128)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        first = vectors[0].copy() if first is None else first
        apps = [
            {
                "id": app_id,
                "office_code": "BENCH",
                "created_by": officer.id,
                "status": "issued",
                "full_name": "BENCH PERSON",
                "date_of_birth": "1990-01-01",
                "sex": "F",
                "nationality": "JPN",
                "passport": {},
                "passport_key": app_id.hex,
                "residence_card": {},
                "address": "-",
                "phone": "+84912345678",
                "language": "en",
                "integrations": {},
            }
            for app_id in ids
        ]
        templates = [
            {
                "application_id": app_id,
                "face": seal(serialize_face_template(v), aad=face_aad(app_id)),
                "active": True,
            }
            for app_id, v in zip(ids, vectors, strict=True)
        ]
        with engine.begin() as conn:
            conn.execute(insert(Application.__table__), apps)
            conn.execute(insert(IdentityTemplate.__table__), templates)
    engine.dispose()
    assert first is not None
    return first


def run(url: str, n: int) -> None:
    from eid.biometrics.matcher import EngineMatcher
    from eid.core.database import configure_engine, unit_of_work
    from eid.core.schema import upgrade
    from eid.verification.gallery import Gallery

    upgrade(url)
    engine = create_engine(url, pool_size=2)
    configure_engine(engine)
    started = time.perf_counter()
    probe = fill(url, n)
    print(f"filled {n:,} sealed face templates in {time.perf_counter() - started:.1f} s")

    with engine.connect() as conn:  # warm the server's cache for both measurements alike
        conn.execute(text("SELECT count(face) FROM identity_templates")).scalar_one()
    started = time.perf_counter()
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, max_row_buffer=10_000).execute(
            text("SELECT id, application_id, face FROM identity_templates ORDER BY id")
        )
        read = sum(1 for _ in result)
    bare = time.perf_counter() - started

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    matcher = EngineMatcher()
    gallery = Gallery(matcher)  # as `eid worker` builds it (eid.wiring), warmed as it warms it
    started = time.perf_counter()
    with unit_of_work() as session:
        loaded = gallery.warm(session)
    load = time.perf_counter() - started
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert loaded == read == n, (loaded, read, n)

    started = time.perf_counter()
    matcher.index.search_vector(probe, 10)
    first = time.perf_counter() - started
    started = time.perf_counter()
    hit = matcher.index.search_vector(probe, 10)[0]
    then = time.perf_counter() - started
    assert hit[1] > 0.999

    print(f"bare read of the rows:     {bare:6.2f} s  ({n / bare:,.0f} rows/s)")
    print(
        f"load into the 1:N index:   {load:6.2f} s  ({n / load:,.0f} faces/s): "
        f"{load / bare:.1f}x the bare read (unseal + parse + index, and from 100k faces the PQ codebooks)"
    )
    print(f"peak RSS growth during load: {(rss_after - rss_before) / 1024:,.0f} MiB")
    print(f"first search after the load {first * 1e3:.1f} ms, then {then * 1e3:.1f} ms")
    engine.dispose()


if __name__ == "__main__":
    main()
