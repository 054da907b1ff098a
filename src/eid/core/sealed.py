"""Personal data at rest: sealed columns and keyed blind indexes.

A model declares `full_name = Sealed(TEXT)`; the table holds `full_name_sealed` (bytea) and code
reads and writes `row.full_name` as a plain value. The ciphertext is AES-256-GCM under the
current key of the personal-data keyring, its AAD binds it to table, field and row id (a blob
copied to another row or column does not open), and it carries the key id, so keys rotate:
`eid keys reseal` re-seals every row under the current key (see `reseal`).

`Sealed(TEXT, index="passport_key", normalise=...)` also keeps a blind index column: HMAC-SHA-256
under the blind-index keyring over the normalised value, prefixed by that key's id. Look-ups and
unique constraints use it (`index_values` gives the candidates under every live key, so a
look-up keeps working while the index key is being rotated).

A sealed JSON value is read once per row and cached: mutate it by assigning a new value, never
in place.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
import unicodedata
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, Protocol, Self, TypeVar, overload

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import ColumnElement, event, select
from sqlalchemy.orm import InstrumentedAttribute, Mapper, Session

from eid.core.crypto import BLIND_INDEX_RING, PERSONAL_DATA_RING, KeyStore, get_keystore
from eid.core.errors import EidError
from eid.core.ids import new_id

T = TypeVar("T")
_VERSION = 2  # 1 is the biometrics' format (no key id)
INDEX_LENGTH = 80  # "<key id>.<64 hex>"


class Codec(Protocol[T]):
    def encode(self, value: T) -> bytes: ...
    def decode(self, raw: bytes) -> T: ...


class _Text:
    def encode(self, value: str) -> bytes:
        return value.encode()

    def decode(self, raw: bytes) -> str:
        return raw.decode()


class _Date:
    def encode(self, value: dt.date) -> bytes:
        return value.isoformat().encode()

    def decode(self, raw: bytes) -> dt.date:
        return dt.date.fromisoformat(raw.decode())


class _Json:
    def encode(self, value: dict[str, Any]) -> bytes:
        return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()

    def decode(self, raw: bytes) -> dict[str, Any]:
        decoded: dict[str, Any] = json.loads(raw)
        return decoded


TEXT: Codec[str] = _Text()
DATE: Codec[dt.date] = _Date()
JSON: Codec[dict[str, Any]] = _Json()


def _keystore(keystore: KeyStore | None) -> KeyStore:
    return keystore or get_keystore()


def seal_value(plaintext: bytes, *, aad: bytes, keystore: KeyStore | None = None) -> bytes:
    """version (1) | key id length (1) | key id | nonce (12) | AES-256-GCM ciphertext and tag."""
    ring = _keystore(keystore).keyring(PERSONAL_DATA_RING)
    kid = ring.current.encode()
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(ring.key(ring.current)).encrypt(nonce, plaintext, aad)
    return bytes([_VERSION, len(kid)]) + kid + nonce + sealed


def sealed_key_id(blob: bytes) -> str:
    if len(blob) < 2 or blob[0] != _VERSION:
        raise EidError("unknown ciphertext version", code="CIPHERTEXT_INVALID")
    return blob[2 : 2 + blob[1]].decode()


def unseal_value(blob: bytes, *, aad: bytes, keystore: KeyStore | None = None) -> bytes:
    kid = sealed_key_id(blob)
    start = 2 + blob[1]
    key = _keystore(keystore).keyring(PERSONAL_DATA_RING).key(kid)
    try:
        return AESGCM(key).decrypt(blob[start : start + 12], blob[start + 12 :], aad)
    except InvalidTag:
        raise EidError("sealed value does not open here", code="CIPHERTEXT_INVALID") from None


def normalise_document(value: str) -> str:
    """Document numbers and codes: case and spacing are not part of the identity."""
    return "".join(value.split()).upper()


def normalise_name(value: str) -> str:
    """Full names for look-up: case, spacing and Unicode forms (NFKC) are not part of who it
    is; letters and their marks are ("LE" and "LÊ" stay two names)."""
    return " ".join(unicodedata.normalize("NFKC", value).upper().split())


def index_value(value: str, *, key_id: str | None = None, keystore: KeyStore | None = None) -> str:
    ring = _keystore(keystore).keyring(BLIND_INDEX_RING)
    kid = key_id or ring.current
    digest = hmac.new(ring.key(kid), value.encode(), hashlib.sha256).hexdigest()
    return f"{kid}.{digest}"


def index_values(value: str, *, keystore: KeyStore | None = None) -> list[str]:
    """The index of `value` under every live key: what a look-up compares against (IN)."""
    ring = _keystore(keystore).keyring(BLIND_INDEX_RING)
    current = [index_value(value, key_id=ring.current, keystore=keystore)]
    return current + [
        index_value(value, key_id=k, keystore=keystore) for k in ring.keys if k != ring.current
    ]


@dataclass
class _Plain:
    blob: bytes | None
    value: Any
    row_id: Any


class Sealed(Generic[T]):
    """A plain-valued attribute over a sealed bytea column `<name>_sealed` (see module doc).

    `index` names a blind index column (declared by the model) kept from
    `index_of(row)`, or from the normalised value when `index_of` is not given."""

    def __init__(
        self,
        codec: Codec[Any],
        *,
        index: str | None = None,
        normalise: Callable[[T], str] | None = None,
        default: Callable[[], T] | None = None,
    ) -> None:
        self.codec = codec
        self.default = default
        self.index = index
        self.normalise = normalise
        self.name = ""
        self.column = ""
        self.owner: type[Any] = object

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self.name = name
        self.column = f"{name}_sealed"
        self.owner = owner
        SEALED_FIELDS.setdefault(owner.__tablename__, []).append(self)

    def aad(self, owner: Any, row_id: Any) -> bytes:
        return f"{owner.__tablename__}.{self.name}:{row_id}".encode()

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(self, obj: object, owner: type[Any]) -> T: ...
    def __get__(self, obj: object | None, owner: type[Any]) -> Self | T:
        if obj is None:
            return self
        blob = getattr(obj, self.column)
        cache = _cache(obj)
        plain = cache.get(self.name)
        # A refreshed row brings a new blob object: open it again.
        if plain is not None and plain.blob is blob:
            value: T = plain.value
            return value
        row_id = obj.id  # type: ignore[attr-defined]
        value = (
            None  # type: ignore[assignment]
            if blob is None
            else self.codec.decode(unseal_value(blob, aad=self.aad(obj, row_id)))
        )
        cache[self.name] = _Plain(blob, value, row_id)
        return value

    def __set__(self, obj: object, value: T) -> None:
        if obj.id is None:  # type: ignore[attr-defined]
            # The AAD needs the row id before the flush would assign it.
            obj.id = new_id()  # type: ignore[attr-defined]
        self._store(obj, value)

    def _store(self, obj: Any, value: T) -> None:
        row_id = obj.id
        blob = (
            None
            if value is None
            else seal_value(self.codec.encode(value), aad=self.aad(obj, row_id))
        )
        setattr(obj, self.column, blob)
        _cache(obj)[self.name] = _Plain(blob, value, row_id)
        if self.index is not None and self.normalise is not None:
            setattr(obj, self.index, None if value is None else index_value(self.normalise(value)))

    def matches(self, value: T) -> ColumnElement[bool]:
        """The look-up by value: its blind index under every live key."""
        if self.index is None or self.normalise is None:
            raise TypeError(f"{self.name} has no blind index to look it up by")
        column: InstrumentedAttribute[str] = getattr(self.owner, self.index)
        return column.in_(index_values(self.normalise(value)))

    def columns(self, row_id: Any, value: T) -> dict[str, Any]:
        """Column values for a Core insert (no ORM object to set the attribute on)."""
        values: dict[str, Any] = {
            self.column: None
            if value is None
            else seal_value(self.codec.encode(value), aad=self.aad(self.owner, row_id))
        }
        if self.index is not None and self.normalise is not None:
            values[self.index] = None if value is None else index_value(self.normalise(value))
        return values


SEALED_FIELDS: dict[str, list[Sealed[Any]]] = {}


def _cache(obj: object) -> dict[str, _Plain]:
    # Kept beside SQLAlchemy's attribute state in the instance dict; never persisted.
    cache: dict[str, _Plain] = obj.__dict__.setdefault("_sealed_plain", {})
    return cache


@event.listens_for(Mapper, "before_insert")
def _reseal_if_id_changed(_mapper: Mapper[Any], _connection: Any, target: Any) -> None:
    """A constructor may set `id` after a sealed field: seal again under the final id. A field
    never set takes its default."""
    fields = SEALED_FIELDS.get(getattr(target, "__tablename__", ""), ())
    if not fields:
        return
    cache = target.__dict__.get("_sealed_plain", {})
    for field in fields:
        plain = cache.get(field.name)
        if plain is None:
            if field.default is not None:
                field._store(target, field.default())
        elif plain.row_id != target.id:
            field._store(target, plain.value)


def sealed_models() -> Iterator[tuple[type[Any], list[Sealed[Any]]]]:
    from eid.core.database import Base

    # In table order, so an interrupted run and its rerun walk the rows the same way.
    for mapper in sorted(Base.registry.mappers, key=lambda m: str(m.class_.__tablename__)):
        fields = SEALED_FIELDS.get(mapper.class_.__tablename__)
        if fields:
            yield mapper.class_, fields


@dataclass
class ResealReport:
    table: str
    rows_seen: int = 0
    rows_changed: int = 0


def _stale(row: Any, fields: list[Sealed[Any]], data_kid: str, index_kid: str) -> bool:
    for field in fields:
        blob = getattr(row, field.column)
        if blob is not None and sealed_key_id(blob) != data_kid:
            return True
        if field.index is not None:
            idx = getattr(row, field.index)
            if idx is not None and not idx.startswith(index_kid + "."):
                return True
    return False


def reseal(session_factory: Callable[[], Session], *, batch_size: int = 500) -> list[ResealReport]:
    """Re-seal every sealed column under the current personal-data key and recompute every
    blind index under the current index key. Batches of rows in primary-key order, one
    transaction each: an interrupted run loses nothing and a rerun only touches rows still
    under an old key (idempotent). Rows are locked while re-sealed, so a concurrent edit
    waits instead of being overwritten."""
    reports = []
    for model, fields in sealed_models():
        report = ResealReport(model.__tablename__)
        after: uuid.UUID | None = None
        while True:
            with session_factory() as session, session.begin():
                keystore = get_keystore()
                data_kid = keystore.keyring(PERSONAL_DATA_RING).current
                index_kid = keystore.keyring(BLIND_INDEX_RING).current
                query = select(model).order_by(model.id).limit(batch_size).with_for_update()
                if after is not None:
                    query = query.where(model.id > after)
                rows = list(session.scalars(query))
                for row in rows:
                    report.rows_seen += 1
                    if _stale(row, fields, data_kid, index_kid):
                        report.rows_changed += 1
                        for field in fields:
                            field._store(row, field.__get__(row, model))
                if not rows:
                    break
                after = rows[-1].id
        reports.append(report)
    return reports


def rows_under_key(session: Session, ring: str, key_id: str) -> int:
    """How many rows still need `key_id` of `ring` (0 before it may be retired)."""
    count = 0
    for model, fields in sealed_models():
        for row in session.scalars(select(model)).yield_per(1000):
            for field in fields:
                if ring == PERSONAL_DATA_RING:
                    blob = getattr(row, field.column)
                    if blob is not None and sealed_key_id(blob) == key_id:
                        count += 1
                        break
                elif field.index is not None:
                    idx = getattr(row, field.index)
                    if idx is not None and idx.startswith(key_id + "."):
                        count += 1
                        break
    return count
