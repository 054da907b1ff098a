"""Signing keys as rings: rotated without breaking what they signed, retired only once nothing
still needs them; the former single PEM file read as a ring's first key."""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
import stat
import uuid
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from joserfc import jws
from joserfc.errors import JoseError
from sqlalchemy import Engine, select, update
from typer.testing import CliRunner

from eid.authority.models import AccountRequest
from eid.authority.schemas import AccountDecisionMessage
from eid.authority.service import (
    DECISION_TASK,
    REQUEST_TASK,
    InvalidDecisionSignature,
    InvalidRequestSignature,
    receive_account_request,
    sign_request,
    verify_decision,
)
from eid.cli import app
from eid.core import audit, clock, jobs
from eid.core.audit import Actor
from eid.core.audit_chain import key_id, verify, write_checkpoint
from eid.core.crypto import (
    ED25519,
    FileKeyStore,
    get_keystore,
    sign_message,
    sign_with_ring,
    signature_key_id,
    signing_key_id,
    verify_with_ring,
)
from eid.core.database import unit_of_work
from eid.core.errors import EidError
from eid.core.jobs import Job
from eid.core.keyset import KEYS, init_keys
from eid.wallet import keys as wallet_keys
from eid.wallet import sdjwt
from eid.wallet.models import IssuedCredential
from tests.authority.factories import account_request

runner = CliRunner()
SIGNING = [spec.name for spec in KEYS if spec.kind == "signing"]
ACTOR = Actor(kind="officer", id="o-rotate", role="officer", office="HN-01")


def _pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _rotate(name: str) -> str:
    done = runner.invoke(app, ["keys", "rotate", "--ring", name])
    assert done.exit_code == 0, done.output
    return str(json.loads(done.output)["current"])


def _retire(name: str, key: str) -> EidError | None:
    done = runner.invoke(app, ["keys", "retire", "--ring", name, "--key", key])
    if done.exit_code == 0:
        return None
    assert isinstance(done.exception, EidError), done.output
    return done.exception


def test_the_former_single_key_file_is_read_as_the_first_key_of_its_ring(tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    folder.mkdir(mode=0o700)
    old = Ed25519PrivateKey.generate()
    (folder / "immigration.ed25519.pem").write_bytes(_pem(old))
    legacy_signature = sign_message({"a": 1}, old)  # as signed before key ids: no KID. prefix
    store = FileKeyStore(folder, generate=False)  # production: imports, never makes a key

    ring = store.signing_ring("immigration")
    kid = signing_key_id(old.public_key())
    assert (ring.kind, ring.current, list(ring.keys)) == (ED25519, kid, [kid])
    assert kid == key_id(old.public_key())  # the id audit checkpoints already store
    path = folder / "immigration.keyring.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["kind"] == ED25519
    assert store.signing_key("immigration").public_key() == old.public_key()
    assert verify_with_ring({"a": 1}, legacy_signature, ring)

    # Rotation: the new key signs and names itself; the imported one still verifies.
    new_kid = store.rotate("immigration")
    ring = store.signing_ring("immigration")
    assert ring.current == new_kid != kid and set(ring.keys) == {kid, new_kid}
    assert new_kid == signing_key_id(ring.private_key(new_kid).public_key())
    signed = sign_with_ring({"a": 1}, ring)
    assert signature_key_id(signed) == new_kid and verify_with_ring({"a": 1}, signed, ring)
    assert verify_with_ring({"a": 1}, legacy_signature, ring)
    assert not verify_with_ring({"a": 2}, signed, ring)
    assert (folder / "immigration.ed25519.pem").exists()  # kept until its key is retired

    with pytest.raises(EidError) as current:
        store.retire("immigration", new_kid)
    assert current.value.code == "KEY_IN_USE"
    store.retire("immigration", kid)
    ring = store.signing_ring("immigration")
    assert set(ring.keys) == {new_kid}
    assert not (folder / "immigration.ed25519.pem").exists()
    assert not verify_with_ring({"a": 1}, legacy_signature, ring)  # retired: refused
    forged = f"{new_kid}.{legacy_signature}"  # naming a live key does not help
    assert not verify_with_ring({"a": 1}, forged, ring)


def test_init_imports_former_files_and_makes_new_signing_keys_as_rings(tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    folder.mkdir(mode=0o700)
    old = Ed25519PrivateKey.generate()
    (folder / "audit-checkpoint.ed25519.pem").write_bytes(_pem(old))
    made, kept = init_keys(folder)
    assert "audit-checkpoint" in kept and "audit-checkpoint" not in made
    assert set(SIGNING) - {"audit-checkpoint"} <= set(made)
    store = FileKeyStore(folder, generate=False)
    assert store.signing_ring("audit-checkpoint").current == key_id(old.public_key())
    for name in SIGNING:
        assert (folder / f"{name}.keyring.json").exists()
    checked = runner.invoke(app, ["keys", "check", "--dir", str(folder)])
    assert checked.exit_code == 0, checked.output
    rings = {r["name"]: r for r in json.loads(checked.output)["rings"]}
    assert rings["audit-checkpoint"] == {
        "name": "audit-checkpoint",
        "kind": "signing",
        "current": key_id(old.public_key()),
        "keys": [key_id(old.public_key())],
    }
    assert {"personal-data", "blind-index", "data", *SIGNING} <= set(rings)

    # A signing ring whose key is filed under another id is named, not trusted.
    path = folder / "eid-authority.keyring.json"
    body = json.loads(path.read_text())
    body["keys"] = {"0000000000000000": next(iter(body["keys"].values()))}
    body["current"] = "0000000000000000"
    path.write_text(json.dumps(body))
    broken = runner.invoke(app, ["keys", "check", "--dir", str(folder)])
    assert broken.exit_code == 1
    assert "eid-authority (signing: KEY_INVALID)" in broken.output


def test_a_running_process_follows_a_rotation_made_by_another(tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    server = FileKeyStore(folder, generate=True)
    before = server.signing_ring("eid-authority").current
    operator = FileKeyStore(folder, generate=False)  # `eid keys rotate`, another process
    after = operator.rotate("eid-authority")
    assert server.signing_ring("eid-authority").current == after != before
    assert server.signing_key("eid-authority").public_key() == (
        operator.signing_ring("eid-authority").private_key(after).public_key()
    )
    operator.retire("eid-authority", before)
    assert set(server.signing_ring("eid-authority").keys) == {after}


def test_rotate_each_signing_key_by_the_command(committed: Engine, own_keys: Path) -> None:
    for name in SIGNING:
        old = get_keystore().signing_ring(name).current
        new = _rotate(name)
        ring = get_keystore().signing_ring(name)
        assert ring.current == new != old and set(ring.keys) == {old, new}
        assert new == signing_key_id(get_keystore().signing_key(name).public_key())
    # (The run's folder holds only the keys tests have used so far: check may name others.)
    checked = runner.invoke(app, ["keys", "check", "--dir", str(own_keys)])
    rings = {r["name"]: r for r in json.loads(checked.output)["rings"]}
    assert all(len(rings[name]["keys"]) == 2 for name in SIGNING)
    assert not any(name in p for p in json.loads(checked.output)["problems"] for name in SIGNING)
    with unit_of_work() as session:
        rotated = session.execute(
            select(audit.AuditEvent.subject_id).where(
                audit.AuditEvent.action == "keys.rotated",
                audit.AuditEvent.subject_id.in_(SIGNING),
            )
        ).scalars()
        assert set(SIGNING) <= set(rotated)


def _log(subject: str) -> None:
    with unit_of_work() as session:
        audit.record(session, ACTOR, "application.read", "application", subject)


def test_the_audit_chain_verifies_across_a_rotation(committed: Engine, tmp_path: Path) -> None:
    """On the run's own key folder, not a copy: checkpoints are append-only and every later
    test's `eid audit verify` must find the key each one names."""
    _log("rotate-before")
    with unit_of_work() as session:
        first = write_checkpoint(session, get_keystore())
        assert first is not None
    old = first.key_id
    assert old == get_keystore().signing_ring("audit-checkpoint").current
    new = _rotate("audit-checkpoint")
    _log("rotate-after")
    with unit_of_work() as session:
        second = write_checkpoint(session, get_keystore())
        assert second is not None and second.key_id == new != old
        report = verify(session, get_keystore())
    assert report.ok, report.problems
    assert report.checkpoints >= 2
    whole = runner.invoke(app, ["audit", "verify"])
    assert whole.exit_code == 0, whole.output

    # A key that signed checkpoints is never retired: the chain's history would stop verifying.
    refused = _retire("audit-checkpoint", old)
    assert refused is not None and refused.code == "KEY_IN_USE"
    assert "audit chain's history would stop verifying" in str(refused)
    assert old in get_keystore().signing_ring("audit-checkpoint").keys
    # A key that signed none may go (rotated past before it signed anything).
    unused = _rotate("audit-checkpoint")
    newest = _rotate("audit-checkpoint")
    assert _retire("audit-checkpoint", unused) is None
    assert _retire("audit-checkpoint", new) is not None  # it signed the second checkpoint
    ring = get_keystore().signing_ring("audit-checkpoint")
    assert ring.current == newest and {old, new, newest} <= set(ring.keys)
    assert unused not in ring.keys

    # Were a key that signed checkpoints taken out of the ring by hand, verify names them.
    folder = tmp_path / "keys"
    folder.mkdir(mode=0o700)
    ring = get_keystore().signing_ring("audit-checkpoint")
    body = {
        "kind": ED25519,
        "current": ring.current,
        "keys": {ring.current: base64.b64encode(ring.key(ring.current)).decode()},
    }
    (folder / "audit-checkpoint.keyring.json").write_text(json.dumps(body))
    with unit_of_work() as session:
        lacking = verify(session, FileKeyStore(folder, generate=False))
    assert not lacking.ok
    assert any(
        f"checkpoint {first.id} " in p.message
        and "not in the audit-checkpoint key ring" in p.message
        for p in lacking.problems
    )


def test_requests_signed_before_a_rotation_are_accepted_and_a_retired_keys_refused(
    committed: Engine, own_keys: Path
) -> None:
    before = account_request()
    old_signature = sign_request(before)
    old = get_keystore().signing_ring("immigration").current
    assert signature_key_id(old_signature) == old
    new = _rotate("immigration")
    fresh = account_request()
    assert signature_key_id(sign_request(fresh)) == new

    # Still queued for a decision: the key stays.
    with unit_of_work() as session:
        payload = {"request_id": before.request_id, "signature": old_signature}
        jobs.enqueue(session, REQUEST_TASK, payload, key=f"test:{before.request_id}")
    refused = _retire("immigration", old)
    assert refused is not None and refused.code == "KEY_IN_USE"
    assert "1 account requests signed by key" in str(refused) and old in str(refused)

    with unit_of_work() as session:  # the worker decides it: accepted after the rotation
        decision = receive_account_request(session, before, old_signature, portrait=None)
        assert decision.outcome == "issued"
        assert session.get(AccountRequest, decision.id) is not None
        session.execute(update(Job).where(Job.task == REQUEST_TASK).values(status="done"))
        receive_account_request(session, fresh, sign_request(fresh), portrait=None)
    assert _retire("immigration", old) is None

    # Retired: what it signed is refused, with the existing code (even a request already seen).
    with unit_of_work() as session, pytest.raises(InvalidRequestSignature) as by_retired:
        receive_account_request(session, before, old_signature, portrait=None)
    assert by_retired.value.code == "REQUEST_SIGNATURE_INVALID"


def test_a_request_signed_by_a_since_retired_key_is_refused(
    committed: Engine, own_keys: Path
) -> None:
    """The message is genuinely the old key's, made before it was retired."""
    message = account_request()
    signature = sign_request(message)
    old = signature_key_id(signature)
    assert old is not None
    _rotate("immigration")
    assert _retire("immigration", old) is None
    with unit_of_work() as session, pytest.raises(InvalidRequestSignature):
        receive_account_request(session, message, signature, portrait=None)
    # A signature from before key ids, by that key: refused too.
    legacy = signature.split(".")[1]
    with unit_of_work() as session, pytest.raises(InvalidRequestSignature):
        receive_account_request(session, message, legacy, portrait=None)


def test_decisions_pending_keep_their_key_and_verify_across_a_rotation(
    committed: Engine, own_keys: Path
) -> None:
    message = account_request()
    with unit_of_work() as session:
        receive_account_request(session, message, sign_request(message), portrait=None)
    with unit_of_work() as session:
        job = session.execute(select(Job).where(Job.task == DECISION_TASK)).scalar_one()
        decision = AccountDecisionMessage.model_validate(job.payload["message"])
        signature = str(job.payload["signature"])
    old = get_keystore().signing_ring("eid-authority").current
    assert signature_key_id(signature) == old
    _rotate("eid-authority")
    verify_decision(decision, signature)  # the immigration authority applies it after rotation
    refused = _retire("eid-authority", old)
    assert refused is not None and refused.code == "KEY_IN_USE"
    assert "account decisions signed by key" in str(refused)
    with unit_of_work() as session:
        session.execute(update(Job).where(Job.task == DECISION_TASK).values(status="done"))
    assert _retire("eid-authority", old) is None
    with pytest.raises(InvalidDecisionSignature) as by_retired:
        verify_decision(decision, signature)
    assert by_retired.value.code == "DECISION_SIGNATURE_INVALID"


def test_a_pending_message_signed_before_key_ids_keeps_every_key(
    committed: Engine, own_keys: Path
) -> None:
    """Which key made it is not written on it: none is retired while it waits."""
    message = account_request()
    old = get_keystore().signing_ring("immigration").current
    legacy = sign_message(message.signed_content(), get_keystore().signing_key("immigration"))
    _rotate("immigration")
    with unit_of_work() as session:
        payload = {"request_id": message.request_id, "signature": legacy}
        jobs.enqueue(session, REQUEST_TASK, payload, key=f"test:{message.request_id}")
    refused = _retire("immigration", old)
    assert refused is not None and refused.code == "KEY_IN_USE"
    with unit_of_work() as session:  # accepted: it verifies with a live key
        receive_account_request(session, message, legacy, portrait=None)


def test_the_wallet_issuer_rotates_and_keeps_verifying_the_first_cards(
    committed: Engine, own_keys: Path
) -> None:
    first = wallet_keys.issuer_key()
    header = {"alg": "EdDSA", "typ": "dc+sd-jwt", "kid": str(first.kid)}
    card = sdjwt.sign_jwt(header, {"iss": "eid", "exp": 2**31}, first, ["EdDSA"])
    old = get_keystore().signing_ring("wallet-issuer").current
    _rotate("wallet-issuer")
    assert wallet_keys.issuer_kid() != first.kid
    published = [k["kid"] for k in wallet_keys.issuer_public_jwks()]
    assert published == [wallet_keys.issuer_kid(), first.kid]
    registry = sdjwt.jws_registry(["EdDSA"])
    jws.deserialize_compact(
        card, wallet_keys.issuer_keys(), algorithms=["EdDSA"], registry=registry
    )

    with unit_of_work() as session:
        session.add(
            IssuedCredential(
                account_id=uuid.uuid4(),
                status_list="rotate",
                status_index=secrets.randbelow(10**6),
                expires_at=clock.now() + dt.timedelta(days=30),
                format="eddsa+sd-jwt",
            )
        )
    refused = _retire("wallet-issuer", old)
    assert refused is not None and refused.code == "KEY_IN_USE"
    assert "EdDSA cards are still valid" in str(refused)
    with unit_of_work() as session:
        session.execute(update(IssuedCredential).values(revoked_status=1))
    assert _retire("wallet-issuer", old) is None
    with pytest.raises((ValueError, JoseError)):
        jws.deserialize_compact(
            card, wallet_keys.issuer_keys(), algorithms=["EdDSA"], registry=registry
        )


def test_a_signing_ring_seals_nothing_and_a_keyring_signs_nothing(tmp_path: Path) -> None:
    store = FileKeyStore(tmp_path / "keys", generate=True)
    store.signing_ring("immigration")
    store.keyring("personal-data")
    with pytest.raises(EidError) as sealing:
        store.keyring("immigration")
    assert sealing.value.code == "KEY_INVALID"
    with pytest.raises(EidError) as signing:
        store.signing_ring("personal-data")
    assert signing.value.code == "KEY_INVALID"
    with pytest.raises(EidError) as unknown:
        store.retire("immigration", "0123456789abcdef")
    assert unknown.value.code == "KEY_MISSING"
