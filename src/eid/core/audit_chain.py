"""The audit log's hash chain: recompute it, check its signed checkpoints, sign a new one.

The database writes the chain (a commit-time trigger, revision 0002_audit_chain); this module
recomputes the same v1 serialisation independently, so a row edited, deleted, inserted or moved
by someone who got around the grants and triggers (a superuser with
`session_replication_role=replica`) shows up, named by its id. A superuser who rewrites the
chain itself from some row on is caught by the first signed checkpoint after that row: the
signing key lives in the key store, not in the database.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from eid.core import clock
from eid.core.audit import AuditChainLink, AuditCheckpoint
from eid.core.crypto import KeyStore, sign_message, signing_key_id, verify_message
from eid.core.errors import EidError
from eid.core.keyset import in_use, key_use

GENESIS = bytes(32)
CHECKPOINT_KEY = "audit-checkpoint"
CHECKPOINT_EVERY = dt.timedelta(minutes=10)
_VERSION = b"eid-audit-v1"
# How many of the mismatched rows get the (slower) search for where their content went.
_CLASSIFY_AT_MOST = 5

_EVENT_COLUMNS = (
    "e.id, e.at, e.actor_kind, e.actor_id, e.actor_role, e.office, e.action, "
    "e.subject_type, e.subject_id, e.reason, e.details::text"
)


def _field(value: str | None) -> bytes:
    if value is None:
        return b"~"
    raw = value.encode()
    return str(len(raw)).encode() + b":" + raw


def link_hash(prev: bytes, seq: int, event: tuple[Any, ...]) -> bytes:
    """sha256(prev || v1 serialisation of the event at position `seq`); `event` holds the
    columns of _EVENT_COLUMNS in order (details as PostgreSQL's jsonb text)."""
    event_id, at, *texts = event
    stamp = at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
    body = _VERSION + b"".join(_field(v) for v in (str(seq), str(event_id), stamp, *texts))
    return hashlib.sha256(prev + body).digest()


@dataclass(frozen=True)
class Problem:
    kind: str  # edited | deleted | inserted | reordered | rewritten | checkpoint
    event_id: int | None
    position: int | None
    message: str


@dataclass
class Report:
    rows: int = 0
    checkpoints: int = 0
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    head: str | None = None  # ROWS:HEX of the last link, to keep outside as an anchor

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first(self) -> Problem | None:
        return self.problems[0] if self.problems else None


key_id = signing_key_id  # a checkpoint's key_id: the id of its key in the signing ring


@key_use(CHECKPOINT_KEY)
def _checkpoints_signed(session: Session, kid: str) -> EidError | None:
    """A key that signed any checkpoint stays for ever: retired, every checkpoint it signed
    would fail `eid audit verify`, and the chain's history before the rotation would be vouched
    for by nothing. (After a suspected compromise, rotate: new checkpoints and anchors kept
    outside vouch for the chain from then on; a checkpoint forged with the old key still has to
    match the recomputed chain to pass.)"""
    signed = session.execute(
        select(func.count()).select_from(AuditCheckpoint).where(AuditCheckpoint.key_id == kid)
    ).scalar_one()
    return in_use(
        "key %(key)s signed %(count)s audit checkpoints: retired, they would no longer verify "
        "and the audit chain's history would stop verifying (keep it: rotating is enough)",
        params={"key": kid, "count": signed},
    )


def checkpoint_payload(seq: int, head_hash: bytes, at: dt.datetime, kid: str) -> dict[str, Any]:
    return {
        "log": "eid-audit",
        "rows": seq,
        "head": head_hash.hex(),
        "at": at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "kid": kid,
    }


def checkpoint_valid(cp: AuditCheckpoint, public_key: Ed25519PublicKey) -> bool:
    payload = checkpoint_payload(cp.seq, cp.head_hash, cp.at, cp.key_id)
    return cp.key_id == key_id(public_key) and verify_message(payload, cp.signature, public_key)


def write_checkpoint(session: Session, keystore: KeyStore) -> AuditCheckpoint | None:
    """Sign the chain's current head, unless the last checkpoint already covers it."""
    head = session.execute(
        select(AuditChainLink.seq, AuditChainLink.row_hash)
        .order_by(AuditChainLink.seq.desc())
        .limit(1)
    ).first()
    if head is None:
        return None
    covered = session.execute(
        select(AuditCheckpoint.seq).order_by(AuditCheckpoint.id.desc()).limit(1)
    ).scalar()
    if covered == head.seq:
        return None
    ring = keystore.signing_ring(CHECKPOINT_KEY)
    kid = ring.current
    key = ring.private_key(kid)
    at = clock.now()
    checkpoint = AuditCheckpoint(
        at=at,
        seq=head.seq,
        head_hash=head.row_hash,
        key_id=kid,
        signature=sign_message(checkpoint_payload(head.seq, head.row_hash, at, kid), key),
    )
    session.add(checkpoint)
    session.flush()
    return checkpoint


def parse_anchor(value: str) -> tuple[int, bytes]:
    """`ROWS:HEX`: a chain head kept outside the database (from the worker's log line)."""
    rows, _, head = value.partition(":")
    try:
        parsed = (int(rows), bytes.fromhex(head))
    except ValueError:
        parsed = (0, b"")
    if parsed[0] < 1 or len(parsed[1]) != 32:
        raise EidError("an anchor is ROWS:HEX (a 64-digit sha256)", code="AUDIT_ANCHOR_INVALID")
    return parsed


def verify(
    session: Session,
    keystore: KeyStore,
    *,
    anchors: Sequence[tuple[int, bytes]] = (),
    checkpoint_every: dt.timedelta | None = None,
) -> Report:
    """Recompute the whole chain, check every checkpoint and every anchor (a head kept outside
    the database: the one defence against a superuser who rewrites the chain and deletes the
    checkpoints after it). Run it in one snapshot (a REPEATABLE READ transaction) so rows
    committing meanwhile do not look inserted."""
    public_keys = keystore.signing_ring(CHECKPOINT_KEY).public_keys()  # each checkpoint names one
    report = Report()
    # chain position -> (what vouches for it, the head hash it vouches for)
    heads: dict[int, list[tuple[str, bytes]]] = {}
    newest: AuditCheckpoint | None = None
    for cp in session.execute(select(AuditCheckpoint).order_by(AuditCheckpoint.id)).scalars():
        report.checkpoints += 1
        public_key = public_keys.get(cp.key_id)
        if public_key is None:
            report.problems.append(
                Problem(
                    "checkpoint",
                    None,
                    cp.seq,
                    f"checkpoint {cp.id} ({cp.seq} rows) was signed by key {cp.key_id}, "
                    "which is not in the audit-checkpoint key ring",
                )
            )
        elif not checkpoint_valid(cp, public_key):
            report.problems.append(
                Problem(
                    "checkpoint",
                    None,
                    cp.seq,
                    f"checkpoint {cp.id} ({cp.seq} rows) has an invalid signature",
                )
            )
        else:
            heads.setdefault(cp.seq, []).append((f"checkpoint {cp.id}", cp.head_hash))
            newest = cp
    for rows_, head in anchors:
        heads.setdefault(rows_, []).append((f"the anchor {rows_}:{head.hex()}", head))
    mismatched: list[tuple[int, int, bytes, bytes]] = []
    expected, prev, last_good = 1, GENESIS, 0
    rows = session.execute(
        text(
            "SELECT c.seq, c.event_id, c.prev_hash, c.row_hash, e.id IS NOT NULL, "  # noqa: S608 (constant columns)
            f"{_EVENT_COLUMNS} FROM audit_chain c LEFT JOIN audit_events e ON e.id = c.event_id "
            "ORDER BY c.seq"
        ).execution_options(yield_per=5000)
    )
    for seq, event_id, prev_hash, row_hash, present, *event in rows:
        prev_hash, row_hash = bytes(prev_hash), bytes(row_hash)
        report.rows += 1
        if seq != expected:
            report.problems.append(
                Problem(
                    "deleted",
                    event_id,
                    expected,
                    f"chain positions {expected}..{seq - 1} are missing: "
                    f"rows deleted before id {event_id}",
                )
            )
        elif prev_hash != prev:
            report.problems.append(_broken_link(session, seq, event_id, prev_hash))
        if not present:
            report.problems.append(Problem("deleted", event_id, seq, f"row {event_id} was deleted"))
        elif link_hash(prev_hash, seq, tuple(event)) != row_hash:
            mismatched.append((seq, event_id, prev_hash, row_hash))
        for who, head in heads.pop(seq, []):
            if head != row_hash:
                report.problems.append(
                    Problem(
                        "rewritten",
                        event_id,
                        seq,
                        f"{who} vouches for a different chain: rows after position "
                        f"{last_good} up to id {event_id} (position {seq}) were rewritten",
                    )
                )
            else:
                last_good = seq
        prev, expected = row_hash, seq + 1
    report.head = f"{expected - 1}:{prev.hex()}" if report.rows else None
    for seq, vouchers in heads.items():
        for who, _ in vouchers:
            report.problems.append(
                Problem(
                    "deleted",
                    None,
                    seq,
                    f"{who} covered {seq} rows; the chain ends at {expected - 1}: "
                    "the last rows were deleted",
                )
            )
    if checkpoint_every is not None and report.rows:
        _warn_if_checkpoints_stopped(report, newest, checkpoint_every)
    for index, (seq, event_id, prev_hash, row_hash) in enumerate(mismatched):
        moved_to = (
            _content_now_at(session, seq, event_id, prev_hash, row_hash)
            if index < _CLASSIFY_AT_MOST
            else None
        )
        if moved_to is not None:
            report.problems.append(
                Problem(
                    "reordered",
                    event_id,
                    seq,
                    f"row {event_id} was reordered: its content is now at id {moved_to}",
                )
            )
        else:
            report.problems.append(Problem("edited", event_id, seq, f"row {event_id} was edited"))
    unlinked = session.execute(
        text(
            "SELECT e.id FROM audit_events e LEFT JOIN audit_chain c ON c.event_id = e.id "
            "WHERE c.seq IS NULL ORDER BY e.id"
        )
    ).scalars()
    for event_id in unlinked:
        report.problems.append(
            Problem("inserted", event_id, None, f"row {event_id} was inserted outside the chain")
        )
    report.problems.sort(key=lambda p: (p.position is None, p.position or 0, p.event_id or 0))
    return report


def _warn_if_checkpoints_stopped(
    report: Report, newest: AuditCheckpoint | None, every: dt.timedelta
) -> None:
    """Rows long past the newest checkpoint: the worker is down, or checkpoints were deleted
    (then only an anchor kept outside the database can tell a rewritten tail)."""
    covered = newest.seq if newest else 0
    if covered >= report.rows:
        return
    since = f"since {newest.at.isoformat()}" if newest else "ever"
    if newest is None or clock.now() - newest.at > 3 * every:
        report.warnings.append(
            f"{report.rows - covered} rows are not covered by a checkpoint, and none was "
            f"signed {since}: is the worker running, or were checkpoints deleted?"
        )


def _broken_link(session: Session, seq: int, event_id: int, prev_hash: bytes) -> Problem:
    """The link does not follow the one before it: moved (its predecessor is elsewhere in the
    chain) or the chain was cut and patched."""
    elsewhere = session.execute(
        text("SELECT seq FROM audit_chain WHERE row_hash = :h"), {"h": prev_hash}
    ).scalar()
    if elsewhere is not None:
        return Problem(
            "reordered",
            event_id,
            seq,
            f"row {event_id} was reordered: it followed chain position {elsewhere}, "
            f"now sits at {seq}",
        )
    return Problem(
        "rewritten", event_id, seq, f"chain broken before row {event_id} (position {seq})"
    )


def _content_now_at(
    session: Session, seq: int, event_id: int, prev_hash: bytes, row_hash: bytes
) -> int | None:
    """Whether the content once at `event_id` now sits under another id (ids swapped)."""
    rows = session.execute(
        text(f"SELECT {_EVENT_COLUMNS} FROM audit_events e WHERE e.id <> :id").execution_options(  # noqa: S608 (constant columns)
            yield_per=5000
        ),
        {"id": event_id},
    )
    for other_id, *rest in rows:
        if link_hash(prev_hash, seq, (event_id, *rest)) == row_hash:
            return int(other_id)
    return None


def describe(report: Report) -> dict[str, Any]:
    """What `eid audit verify` prints."""
    if report.ok:
        return {
            "ok": True,
            "rows": report.rows,
            "checkpoints": report.checkpoints,
            "head": report.head,
            "warnings": report.warnings,
        }
    first = report.first
    assert first is not None
    return {
        "ok": False,
        "rows": report.rows,
        "checkpoints": report.checkpoints,
        "warnings": report.warnings,
        "first": _problem(first),
        "problems": [_problem(p) for p in _at_most(report.problems, 100)],
        "problem_count": len(report.problems),
    }


def _problem(p: Problem) -> dict[str, Any]:
    return {"kind": p.kind, "id": p.event_id, "position": p.position, "message": p.message}


def _at_most(problems: Iterable[Problem], n: int) -> list[Problem]:
    return list(problems)[:n]
