"""Every column holding values sealed with `eid.core.crypto.seal`, registered by the domain that
owns it, so `eid keys reseal` can move them all to the data ring's current key and
`eid keys retire --ring data` can tell whether an old key is still needed.

A domain registers in its `sealing.py` (imported by `load_registrations`), naming the one AAD
definition its code seals with. A column holds either the blob itself (bytea) or, with `parts`,
a JSON object whose named entries are base64 blobs (the queued account requests).
tests/core/test_sealed_blobs.py fails when a bytea column is neither registered here nor a
personal-data `Sealed` field.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, select, true, tuple_, update
from sqlalchemy.orm import Session

from eid.core.crypto import DATA_RING, get_keystore, seal, seal_key_id, unseal
from eid.core.schema import import_all_models, import_domain_modules


@dataclass(frozen=True)
class SealedBlob:
    table: Table
    column: str
    # The AAD the owner sealed the value with, from the row (and the part, for `parts`).
    aad: Callable[[Any, str], bytes]
    parts: tuple[str, ...] = ()
    where: ColumnElement[bool] | None = None


SEALED_BLOBS: list[SealedBlob] = []


def register(
    table: Table,
    column: str,
    aad: Callable[[Any, str], bytes],
    *,
    parts: tuple[str, ...] = (),
    where: ColumnElement[bool] | None = None,
) -> None:
    if any(b.table.name == table.name and b.column == column for b in SEALED_BLOBS):
        return  # a module imported twice (tests reload) registers once
    SEALED_BLOBS.append(SealedBlob(table, column, aad, parts, where))


def load_registrations() -> None:
    import_all_models()
    import_domain_modules("sealing")


def _blobs(entry: SealedBlob, row: Any) -> Iterator[tuple[str, bytes]]:
    value = getattr(row, entry.column)
    if value is None:
        return
    if not entry.parts:
        yield "", value
        return
    for part in entry.parts:
        encoded = value.get(part) if isinstance(value, dict) else None
        if isinstance(encoded, str) and encoded:  # a legacy clear dict is not a blob
            yield part, base64.b64decode(encoded)


def _resealed(entry: SealedBlob, row: Any, current: str) -> Any | None:
    """The column's new value with every blob under `current`, or None when already so."""
    stale = [(p, b) for p, b in _blobs(entry, row) if seal_key_id(b) != current]
    if not stale:
        return None
    if not entry.parts:
        blob = stale[0][1]
        return seal(unseal(blob, aad=entry.aad(row, "")), aad=entry.aad(row, ""))
    value = dict(getattr(row, entry.column))
    for part, blob in stale:
        aad = entry.aad(row, part)
        value[part] = base64.b64encode(seal(unseal(blob, aad=aad), aad=aad)).decode()
    return value


@dataclass
class BlobResealReport:
    table: str
    column: str
    rows_seen: int = 0
    rows_changed: int = 0


def _pk(table: Table) -> list[Any]:
    return list(table.primary_key.columns)


def reseal_blobs(
    session_factory: Callable[[], Session], *, batch_size: int = 500
) -> list[BlobResealReport]:
    """Like `eid.core.sealed.reseal`: batches in primary-key order, one transaction each, rows
    locked while re-sealed; a rerun only touches blobs still under an old key."""
    reports = []
    for entry in sorted(SEALED_BLOBS, key=lambda b: (b.table.name, b.column)):
        report = BlobResealReport(entry.table.name, entry.column)
        pk = _pk(entry.table)
        after: Any = None
        while True:
            with session_factory() as session, session.begin():
                current = get_keystore().keyring(DATA_RING).current
                query = (
                    select(entry.table)
                    .where(entry.where if entry.where is not None else true())
                    .order_by(*pk)
                    .limit(batch_size)
                    .with_for_update()
                )
                if after is not None:
                    query = query.where(tuple_(*pk) > tuple_(*after))
                rows = list(session.execute(query))
                for row in rows:
                    report.rows_seen += 1
                    value = _resealed(entry, row, current)
                    if value is not None:
                        report.rows_changed += 1
                        session.execute(
                            update(entry.table)
                            .where(and_(*(c == getattr(row, c.name) for c in pk)))
                            .values({entry.column: value})
                        )
                if not rows:
                    break
                after = [getattr(rows[-1], c.name) for c in pk]
        reports.append(report)
    return reports


def blobs_under_key(session: Session, key_id: str) -> int:
    """How many rows still hold a blob sealed under `key_id` of the data ring."""
    count = 0
    for entry in SEALED_BLOBS:
        query = select(entry.table).where(entry.where if entry.where is not None else true())
        for row in session.execute(query.execution_options(yield_per=1000)):
            if any(seal_key_id(blob) == key_id for _, blob in _blobs(entry, row)):
                count += 1
    return count
