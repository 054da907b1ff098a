"""`eid keys rotate --ring data` then `eid keys reseal`: every value sealed with the data ring
(captures, templates, the 1:N gallery, notification bodies, TOTP and client secrets, OIDC keys,
the queued account request) moves to the new key and still reads; blobs in the format written
before the ring (under the former data.key) are read and re-sealed too; then the old keys
retire and everything still opens."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from eid.cli import app
from eid.core.crypto import DATA_RING, LEGACY_KEY_ID, get_keystore, seal_key_id, unseal
from eid.core.database import unit_of_work
from eid.core.errors import EidError
from eid.core.sealed_blobs import SEALED_BLOBS, SealedBlob, blobs_under_key, load_registrations
from eid.notify.models import Notification, body_aad
from eid.notify.service import message_text
from eid.staff.models import Officer
from eid.staff.service import current_totp, totp_aad
from tests.core.test_sealed_blobs import legacy_seal
from tests.procedure.conftest import PASSWORD, new_officer, status_in, tk01, verify_phone
from tests.procedure.test_end_to_end import CONSENT, _capture
from tests.support import Peers

runner = CliRunner()


def _add_legacy_key(folder: Path) -> bytes:
    """The former data.key, as the import leaves it in the ring (beside the current key)."""
    key = secrets.token_bytes(32)
    path = folder / f"{DATA_RING}.keyring.json"
    ring = json.loads(path.read_text())
    ring["keys"][LEGACY_KEY_ID] = base64.b64encode(key).decode()
    path.write_text(json.dumps(ring))
    return key


def _opened(entry: SealedBlob, row: Any) -> list[tuple[str, bytes]]:
    value = getattr(row, entry.column)
    if value is None:
        return []
    if not entry.parts:
        return [("", value)]
    return [(p, base64.b64decode(value[p])) for p in entry.parts if isinstance(value.get(p), str)]


def _every_blob() -> dict[str, list[tuple[str, bytes]]]:
    """Every registered blob, opened with its AAD: {table.column: [(key id, plaintext)]}."""
    found: dict[str, list[tuple[str, bytes]]] = {}
    with unit_of_work() as session:
        for entry in SEALED_BLOBS:
            query = select(entry.table)
            if entry.where is not None:
                query = query.where(entry.where)
            for row in session.execute(query):
                for part, blob in _opened(entry, row):
                    found.setdefault(f"{entry.table.name}.{entry.column}", []).append(
                        (seal_key_id(blob), unseal(blob, aad=entry.aad(row, part)))
                    )
    return found


def _count_under(key_id: str) -> int:
    with unit_of_work() as session:
        return blobs_under_key(session, key_id)


def test_data_key_rotation_reseals_every_sealed_value(
    own_keys: Path,
    committed: Engine,
    live: str,
    make_officer: Callable[..., httpx.Client],
    registry_person: Callable[..., dict[str, Any]],
    shared_data: Path,
    peers: Peers,
) -> None:
    load_registrations()
    smtp, sms = peers
    faces, prints = shared_data / "faces", shared_data / "fingerprints"
    person = registry_person(
        number="R12345678",
        portrait=faces / "df02_deepface_img22.jpg",
        fingers={2: prints / "pyfnprint_001_1.png", 7: prints / "pyfnprint_002_1.png"},
    )
    officer = make_officer("officer")
    r = officer.post("/api/v1/applications", json=tk01(person))
    assert r.status_code == 201, r.text
    app_id = r.json()["id"]
    _capture(
        officer,
        app_id,
        faces / "df02_deepface_img23.jpg",
        {2: prints / "pyfnprint_001_2.png", 7: prints / "pyfnprint_002_2.png"},
    )
    r = officer.post(f"/api/v1/applications/{app_id}/verification", params={"wait": 15})
    assert r.json()["status"] == "verified", r.text
    verify_phone(officer, app_id, sms)
    r = officer.post(
        f"/api/v1/applications/{app_id}/consent",
        json={"by": "applicant", "text_version": CONSENT, "language": "vi"},
    )
    assert r.status_code == 200, r.text
    assert officer.post(f"/api/v1/applications/{app_id}/submission").status_code == 200
    issued = status_in(officer, app_id, "issued", "rejected")
    assert issued["status"] == "issued"
    eid_number = issued["eid_number"]
    smtp.inbox.wait_for(lambda m: eid_number in m.text)
    sms.inbox.wait_for(lambda m: eid_number in m["text"])
    clerk, _ = new_officer("officer")

    before = _every_blob()
    for column in (
        "application_captures.image",
        "application_captures.template",
        "identity_templates.face",
        "identity_templates.fingers",
        "notifications.body",
        "officers.totp_secret",
        "accounts.portrait",
        "accounts.fingerprint_templates",
        "registry_persons.portrait",
        "registry_fingerprints.image",
        "jobs.payload",
    ):
        assert before.get(column), f"the procedure left no {column} to re-seal"

    # Blobs written before the data ring: sealed under the former data.key, no key id.
    legacy_key = _add_legacy_key(own_keys)
    get_keystore.cache_clear()
    with unit_of_work() as session:
        row = session.scalars(select(Officer).where(Officer.username == clerk)).one()
        secret = unseal(row.totp_secret, aad=totp_aad(clerk))
        legacy_totp = legacy_seal(legacy_key, secret, totp_aad(clerk))
        session.execute(update(Officer).where(Officer.id == row.id).values(totp_secret=legacy_totp))
        note = session.scalars(select(Notification).limit(1)).one()
        text = message_text(note)
        session.execute(
            update(Notification)
            .where(Notification.id == note.id)
            .values(body=legacy_seal(legacy_key, text.encode(), body_aad(note.id)))
        )
    assert _count_under(LEGACY_KEY_ID) == 2

    old = get_keystore().keyring(DATA_RING).current
    rotated = runner.invoke(app, ["keys", "rotate", "--ring", DATA_RING])
    assert rotated.exit_code == 0, rotated.output
    new = get_keystore().keyring(DATA_RING).current
    assert new != old
    refused = runner.invoke(app, ["keys", "retire", "--ring", DATA_RING, "--key", old])
    assert isinstance(refused.exception, EidError) and refused.exception.code == "KEY_IN_USE"

    resealed = runner.invoke(app, ["keys", "reseal", "--batch-size", "3"])
    assert resealed.exit_code == 0, resealed.output
    assert _count_under(old) == 0 and _count_under(LEGACY_KEY_ID) == 0
    again = runner.invoke(app, ["keys", "reseal", "--batch-size", "3"])
    assert all(r["rows_changed"] == 0 for r in json.loads(again.output)), again.output

    for key in (old, LEGACY_KEY_ID):
        retired = runner.invoke(app, ["keys", "retire", "--ring", DATA_RING, "--key", key])
        assert retired.exit_code == 0, retired.output
    assert set(get_keystore().keyring(DATA_RING).keys) == {new}

    # Only the new key is left, and every value reads back as it was.
    after = _every_blob()
    assert {c: sorted(p for _, p in v) for c, v in after.items()} == {
        c: sorted(p for _, p in v) for c, v in before.items()
    }
    assert {kid for v in after.values() for kid, _ in v} == {new}
    # The officer whose secret was in the old format still signs in with TOTP.
    with unit_of_work() as session:
        row = session.scalars(select(Officer).where(Officer.username == clerk)).one()
        code = current_totp(unseal(row.totp_secret, aad=totp_aad(clerk)).decode())
    r = httpx.post(
        f"{live}/api/v1/officer/sessions",
        json={"username": clerk, "password": PASSWORD, "totp": code},
    )
    assert r.status_code == 201, r.text
    with unit_of_work() as session:
        assert all(message_text(n) for n in session.scalars(select(Notification)))
