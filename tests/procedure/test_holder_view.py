"""What the holder sees of the procedure in their own API: the documents declared in TK01 with
their verification state, the applications with status and legal deadline, and an inbox whose
activation code is gone once used."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from joserfc.jwk import OKPKey
from sqlalchemy import select

from eid.authority import service as authority
from eid.core.audit import AuditEvent
from eid.core.database import unit_of_work
from tests.identity.factories import PASSCODE, PASSWORD, TEST_ACTOR
from tests.procedure.conftest import status_in, tk01, verify_phone
from tests.procedure.test_end_to_end import CONSENT, _capture
from tests.support import Peers


def _activate(live: str, eid_number: str) -> httpx.Client:
    with unit_of_work() as db:
        account = authority.find_by_eid_number(db, eid_number)
        assert account is not None
        code = authority.new_activation_code(db, account.id, actor=TEST_ACTOR)
    holder = httpx.Client(base_url=live, timeout=30)
    r = holder.post(
        "/api/v1/identity/activation",
        json={
            "eid_number": eid_number,
            "activation_code": code,
            "password": PASSWORD,
            "passcode": PASSCODE,
            "device": {"public_jwk": OKPKey.generate_key("Ed25519").as_dict(private=False)},
        },
    )
    assert r.status_code == 201, r.text
    holder.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
    return holder


def test_documents_applications_and_inbox_as_the_holder_sees_them(
    make_officer: Callable[..., httpx.Client],
    registry_person: Callable[..., dict[str, Any]],
    shared_data: Path,
    live: str,
    peers: Peers,
) -> None:
    _, sms = peers
    faces, prints = shared_data / "faces", shared_data / "fingerprints"
    person = registry_person(
        number="K55512345",
        name="LEE JI EUN",
        documents={"tax_code": "8012345678", "driving_licence": "790123456789"},
    )
    officer = make_officer("officer")
    declared = {
        "tax_code": "801 234 5678",  # spaces are not part of a number
        "driving_licence": "790000000001",  # differs from the record
        "health_insurance": "dn4010123456789",  # the record holds none
    }
    r = officer.post("/api/v1/applications", json=tk01(person, integrations={"passport_copy": "x"}))
    assert r.status_code == 422 and r.json()["error"]["code"] == "INTEGRATION_UNKNOWN"
    r = officer.post("/api/v1/applications", json=tk01(person, integrations={"tax_code": "12"}))
    assert r.status_code == 422 and r.json()["error"]["code"] == "INTEGRATION_INVALID"
    r = officer.post("/api/v1/applications", json=tk01(person, integrations=declared))
    assert r.status_code == 201, r.text
    app_id = r.json()["id"]
    _capture(
        officer,
        app_id,
        faces / "df06_deepface_img40.jpg",
        {2: prints / "pyfnprint_003_3.png", 7: prints / "pyfnprint_004_3.png"},
    )
    r = officer.post(f"/api/v1/applications/{app_id}/verification", params={"wait": 15})
    body = status_in(officer, app_id, "verified", "in_review", "rejected")
    assert body["status"] == "verified", body["checks"]  # a mismatch warns, never decides
    [check] = [c for c in body["checks"] if c["name"] == "declared_documents"]
    assert check["outcome"] == "warn" and "driving licence" in check["reason"]
    verify_phone(officer, app_id, sms)
    r = officer.post(
        f"/api/v1/applications/{app_id}/consent",
        json={"by": "applicant", "text_version": CONSENT, "language": "vi"},
    )
    assert r.status_code == 200, r.text
    submitted = officer.post(f"/api/v1/applications/{app_id}/submission").json()
    issued = status_in(officer, app_id, "issued", "rejected")
    assert issued["status"] == "issued", issued

    holder = _activate(live, issued["eid_number"])

    documents = {d["kind"]: d for d in holder.get("/api/v1/me/documents").json()}
    assert {k: (d["number"], d["state"]) for k, d in documents.items()} == {
        "tax_code": ("******5678", "verified"),
        "driving_licence": ("********0001", "mismatch"),
        "health_insurance": ("***********6789", "declared"),
    }
    assert (
        documents["tax_code"]["checked_at"] and documents["health_insurance"]["checked_at"] is None
    )

    [application] = holder.get("/api/v1/me/applications").json()
    assert application == {
        "id": app_id,
        "level": 2,
        "status": "issued",
        "submitted_on": application["submitted_on"],
        "legal_deadline": submitted["legal_deadline"],
        "decided_at": application["decided_at"],
        "eid_number": issued["eid_number"],
    }
    assert application["submitted_on"] and application["decided_at"]

    inbox = holder.get("/api/v1/me/notifications").json()
    [welcome] = [m for m in inbox if m["template"] == "account_issued"]
    assert welcome["link"] == "/app/activate"
    assert welcome["redacted"] is True and "/app/activate" in welcome["body"]

    with unit_of_work() as db:
        account = authority.find_by_eid_number(db, issued["eid_number"])
        assert account is not None
        actions = set(
            db.execute(
                select(AuditEvent.action).where(AuditEvent.subject_id == str(account.id))
            ).scalars()
        )
    assert {"holder.documents_read", "holder.applications_read"} <= actions
