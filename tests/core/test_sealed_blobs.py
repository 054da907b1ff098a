"""The data ring: `seal` carries its key's id, the former data.key stays readable as the ring's
first key, and every column holding sealed values is registered for `eid keys reseal`."""

from __future__ import annotations

import ast
import secrets
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import LargeBinary

import eid
from eid.core.crypto import DATA_RING, LEGACY_KEY_ID, FileKeyStore, seal, seal_key_id, unseal
from eid.core.database import Base
from eid.core.errors import EidError
from eid.core.sealed import SEALED_FIELDS
from eid.core.sealed_blobs import SEALED_BLOBS, load_registrations


def legacy_seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """The format `seal` wrote before the data ring: version 1 | nonce | ciphertext."""
    nonce = secrets.token_bytes(12)
    return b"\x01" + nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def test_the_former_data_key_becomes_the_rings_first_key(tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    folder.mkdir()
    old_key = secrets.token_bytes(32)
    (folder / "data.key").write_bytes(old_key)
    old_blob = legacy_seal(old_key, b"TOTP-SECRET", b"totp:a")
    # Production makes no key, but importing the existing one is not making one.
    store = FileKeyStore(folder, generate=False)

    assert unseal(old_blob, aad=b"totp:a", keystore=store) == b"TOTP-SECRET"
    assert store.keyring(DATA_RING).current == LEGACY_KEY_ID
    assert store.keyring(DATA_RING).key(LEGACY_KEY_ID) == old_key
    new = seal(b"x", aad=b"y", keystore=store)
    assert seal_key_id(new) == LEGACY_KEY_ID

    rotated = store.rotate(DATA_RING)
    assert set(store.keyring(DATA_RING).keys) == {LEGACY_KEY_ID, rotated}
    resealed = seal(b"x", aad=b"y", keystore=store)
    assert seal_key_id(resealed) == rotated
    assert unseal(resealed, aad=b"y", keystore=store) == b"x"
    assert unseal(old_blob, aad=b"totp:a", keystore=store) == b"TOTP-SECRET"

    store.retire(DATA_RING, LEGACY_KEY_ID)
    assert not (folder / "data.key").exists()
    with pytest.raises(EidError) as gone:
        unseal(old_blob, aad=b"totp:a", keystore=store)
    assert gone.value.code == "KEY_MISSING"
    assert unseal(resealed, aad=b"y", keystore=store) == b"x"


def test_a_rotation_before_first_use_keeps_the_former_data_key(tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    folder.mkdir()
    (folder / "data.key").write_bytes(secrets.token_bytes(32))
    store = FileKeyStore(folder, generate=False)
    rotated = store.rotate(DATA_RING)
    assert set(store.keyring(DATA_RING).keys) == {LEGACY_KEY_ID, rotated}


def test_an_unknown_blob_format_is_refused(tmp_path: Path) -> None:
    store = FileKeyStore(tmp_path / "keys", generate=True)
    with pytest.raises(EidError) as bad:
        unseal(b"\x07garbage", aad=b"", keystore=store)
    assert bad.value.code == "CIPHERTEXT_INVALID"


def test_every_binary_column_is_a_sealed_field_or_registered_for_reseal() -> None:
    """A bytea column that `eid keys reseal` does not know would keep its old key forever and
    make retiring it break the rows. Personal data columns are `Sealed` fields; every other
    bytea column must be registered in its domain's sealing.py (or listed here as not sealed)."""
    load_registrations()
    # Hashes of the audit chain: public by design, nothing to seal.
    not_sealed = {
        ("audit_chain", "row_hash"),
        ("audit_chain", "prev_hash"),
        ("audit_checkpoints", "head_hash"),
        # A passkey's credential id and COSE public key: public by design (the browser hands
        # both out), and the look-up of a login goes by the id.
        ("holder_devices", "credential_id"),
        ("holder_devices", "public_key"),
        # The card's issuing certificates (DER): public by design, served to every verifier.
        ("wallet_issuer_certs", "cert_der"),
        # The root's certificate revocation list (DER): public by design, served to verifiers.
        ("wallet_issuer_crls", "crl_der"),
    }
    personal = {(t, f.column) for t, fields in SEALED_FIELDS.items() for f in fields}
    registered = {(b.table.name, b.column) for b in SEALED_BLOBS}
    binary = {
        (table.name, column.name)
        for table in Base.metadata.tables.values()
        for column in table.columns
        if isinstance(column.type, LargeBinary)
    }
    assert binary, "no bytea column found: the scan is broken"
    assert binary - personal - registered - not_sealed == set()
    # And every registration names a real column (a renamed column is caught too).
    for blob in SEALED_BLOBS:
        assert blob.column in blob.table.columns, (blob.table.name, blob.column)


def test_every_domain_that_seals_registers_its_sealed_columns() -> None:
    """A value sealed outside a bytea column (the queued account request rides a JSON payload)
    escapes the scan above: every domain module calling `seal` needs a sealing.py that
    registers something (else `eid keys reseal` would leave its values under the old key)."""
    load_registrations()
    source = Path(eid.__file__).parent
    sealing = {
        path.relative_to(source).parts[0]
        for path in source.rglob("*.py")
        if "migrations" not in path.parts
        and path.parts[-2] != "core"
        and any(
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "seal"
            for node in ast.walk(ast.parse(path.read_text()))
        )
    }
    assert sealing, "no call to seal found: the scan is broken"
    registering = {blob.aad.__module__.split(".")[1] for blob in SEALED_BLOBS}
    assert sealing - registering == set()
