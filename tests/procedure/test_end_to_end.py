"""The whole Level-2 procedure over HTTP, against the running app and a real PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from eid.core import clock
from eid.core.database import unit_of_work
from eid.core.ids import is_valid_eid_number
from tests.procedure.conftest import status_in, tk01, verify_phone
from tests.support import Peers

CONSENT = "2025-07-v1"


def _capture(client: httpx.Client, app_id: str, portrait: Path, fingers: dict[int, Path]) -> None:
    r = client.put(f"/api/v1/applications/{app_id}/portrait", content=portrait.read_bytes())
    assert r.status_code == 200, r.text
    assert r.json()["acceptable"], r.json()
    for position, image in fingers.items():
        r = client.put(
            f"/api/v1/applications/{app_id}/fingerprints/{position}", content=image.read_bytes()
        )
        assert r.status_code == 200, r.text
        assert r.json()["acceptable"], r.json()
    assert r.json()["application_status"] == "captured"


def test_adult_with_biometrics_on_file_is_issued_and_notified(
    make_officer: Callable[..., httpx.Client],
    registry_person: Callable[..., dict[str, Any]],
    shared_data: Path,
    peers: Peers,
) -> None:
    smtp, sms = peers
    faces, prints = shared_data / "faces", shared_data / "fingerprints"
    person = registry_person(
        number="M12345678",
        portrait=faces / "df02_deepface_img22.jpg",
        fingers={2: prints / "pyfnprint_001_1.png", 7: prints / "pyfnprint_002_1.png"},
    )
    officer = make_officer("officer")
    r = officer.post("/api/v1/applications", json=tk01(person))
    assert r.status_code == 201, r.text
    app = r.json()
    assert app["status"] == "draft"
    app_id = app["id"]

    _capture(
        officer,
        app_id,
        faces / "df02_deepface_img23.jpg",
        {2: prints / "pyfnprint_001_2.png", 7: prints / "pyfnprint_002_2.png"},
    )
    r = officer.post(f"/api/v1/applications/{app_id}/verification", params={"wait": 15})
    # Asked to wait, the call answers with the worker's outcome (here well inside 15 s).
    assert (r.status_code, r.json()["verification"], r.json()["status"]) == (
        200,
        "done",
        "verified",
    ), r.text
    body = status_in(officer, app_id, "verified", "in_review", "rejected")
    outcomes = {c["name"]: c["outcome"] for c in body["checks"]}
    assert body["status"] == "verified", body["checks"]
    assert outcomes == {
        "registry_record": "pass",
        "identity_data": "pass",
        "passport": "pass",
        "residence_card": "pass",
        "face_1to1": "pass",
        "fingerprints_1to1": "pass",
        "duplicates_1toN": "pass",
        # TK01 declares a tax code the registry's record does not hold: declared only
        "declared_documents": "not_applicable",
    }
    assert body["biometrics_on_file"] is True

    assert body["phone_verified"] is False
    verify_phone(officer, app_id, sms)
    r = officer.post(
        f"/api/v1/applications/{app_id}/consent",
        json={"by": "applicant", "text_version": CONSENT, "language": "vi"},
    )
    assert r.status_code == 200, r.text
    r = officer.post(f"/api/v1/applications/{app_id}/submission")
    assert r.status_code == 200, r.text
    submitted = r.json()
    assert submitted["working_days"] == 3
    deadline = dt.date.fromisoformat(submitted["legal_deadline"])
    assert clock.today_vn() < deadline <= clock.today_vn() + dt.timedelta(days=12)

    issued = status_in(officer, app_id, "issued", "rejected")
    assert issued["status"] == "issued"
    assert is_valid_eid_number(issued["eid_number"])

    smtp.inbox.wait_for(lambda m: issued["eid_number"] in m.text)
    sms.inbox.wait_for(lambda m: issued["eid_number"] in m["text"])
    issued_sms = [m for m in sms.messages if issued["eid_number"] in m["text"]]
    assert len(issued_sms) == 1
    assert issued_sms[0]["to"] == "+84912345678"
    assert issued_sms[0]["idempotency_key"]
    mail = next(m for m in smtp.messages if issued["eid_number"] in m.text)
    assert mail.to == ["holder@example.test"]


def test_minor_with_guardian_takes_the_seven_day_path(
    make_officer: Callable[..., httpx.Client],
    registry_person: Callable[..., dict[str, Any]],
    shared_data: Path,
    peers: Peers,
) -> None:
    _, sms = peers
    faces, prints = shared_data / "faces", shared_data / "fingerprints"
    person = registry_person(number="C98765432", age=10, name="WANG LEI", nationality="CHN")
    officer = make_officer("officer")
    guardian = {
        "full_name": "WANG WEI",
        "relation": "father",
        "document_number": "E12345678",
        "phone": "+84987654321",
    }
    form = tk01(person, phone="+84987654321", language="en")

    r = officer.post("/api/v1/applications", json=form)
    assert r.status_code == 422 and r.json()["error"]["code"] == "GUARDIAN_REQUIRED"
    r = officer.post(
        "/api/v1/applications", json=form | {"phone": "+84911111111", "guardian": guardian}
    )
    assert r.json()["error"]["code"] == "GUARDIAN_PHONE_REQUIRED"
    r = officer.post("/api/v1/applications", json=form | {"guardian": guardian})
    assert r.status_code == 201, r.text
    app_id = r.json()["id"]

    _capture(
        officer,
        app_id,
        faces / "df03_deepface_img24.jpg",
        {2: prints / "pyfnprint_005_1.png", 7: prints / "pyfnprint_006_1.png"},
    )
    r = officer.post(f"/api/v1/applications/{app_id}/verification")
    # Not asked to wait: queued, 202 at once, with the application to poll.
    assert (r.status_code, r.json()["verification"]) == (202, "queued"), r.text
    assert r.headers["location"] == f"/api/v1/applications/{app_id}"
    body = status_in(officer, app_id, "verified", "in_review", "rejected")
    assert body["status"] == "verified", body["checks"]
    outcomes = {c["name"]: c["outcome"] for c in body["checks"]}
    assert outcomes["face_1to1"] == "not_applicable"
    assert outcomes["fingerprints_1to1"] == "not_applicable"
    assert body["biometrics_on_file"] is False
    verify_phone(officer, app_id, sms)  # the guardian's phone

    r = officer.post(
        f"/api/v1/applications/{app_id}/consent",
        json={"by": "applicant", "text_version": CONSENT, "language": "en"},
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "GUARDIAN_CONSENT_REQUIRED"
    r = officer.post(
        f"/api/v1/applications/{app_id}/consent",
        json={"by": "guardian", "text_version": CONSENT, "language": "en"},
    )
    assert r.status_code == 200, r.text
    r = officer.post(f"/api/v1/applications/{app_id}/submission")
    assert r.json()["working_days"] == 7
    issued = status_in(officer, app_id, "issued", "rejected")
    assert issued["status"] == "issued"
    sms.inbox.wait_for(lambda m: issued["eid_number"] in m["text"])
    to_guardian = [m for m in sms.messages if issued["eid_number"] in m["text"]]
    assert [m["to"] for m in to_guardian] == ["+84987654321"]


def test_refusals_carry_stable_codes_and_write_nothing(
    make_officer: Callable[..., httpx.Client],
    registry_person: Callable[..., dict[str, Any]],
) -> None:
    from eid.enrolment.models import Application

    officer = make_officer("officer")
    expired = registry_person(number="K11111111", card_days=-3)
    r = officer.post("/api/v1/applications", json=tk01(expired))
    assert (r.status_code, r.json()["error"]["code"]) == (422, "RESIDENCE_CARD_EXPIRED")

    child = registry_person(number="K22222222", age=5)
    r = officer.post("/api/v1/applications", json=tk01(child))
    assert (r.status_code, r.json()["error"]["code"]) == (422, "AGE_BELOW_MINIMUM")

    ok = registry_person(number="K33333333")
    unknown = tk01(ok) | {"passport": ok["passport"] | {"number": "Z99999999"}}
    r = officer.post("/api/v1/applications", json=unknown)
    assert (r.status_code, r.json()["error"]["code"]) == (422, "PASSPORT_NOT_IN_REGISTRY")

    r = officer.post("/api/v1/applications", json=tk01(ok, phone="12345"))
    assert (r.status_code, r.json()["error"]["code"]) == (422, "PHONE_INVALID")

    with unit_of_work() as session:
        assert session.execute(select(func.count()).select_from(Application)).scalar_one() == 0

    first = officer.post("/api/v1/applications", json=tk01(ok))
    assert first.status_code == 201
    r = officer.post("/api/v1/applications", json=tk01(ok))
    assert (r.status_code, r.json()["error"]["code"]) == (409, "APPLICATION_ALREADY_OPEN")

    app_id = first.json()["id"]
    r = officer.post(f"/api/v1/applications/{app_id}/submission")
    assert (r.status_code, r.json()["error"]["code"]) == (409, "ILLEGAL_TRANSITION")
    assert officer.get(f"/api/v1/applications/{app_id}").json()["status"] == "draft"

    r = officer.post(f"/api/v1/applications/{app_id}/cancellation", json={"reason": "left"})
    assert r.json()["status"] == "cancelled"
    again = officer.post("/api/v1/applications", json=tk01(ok))
    assert again.status_code == 201, "a cancelled application no longer blocks a new one"


def test_roles_are_enforced(
    make_officer: Callable[..., httpx.Client],
    registry_person: Callable[..., dict[str, Any]],
    live: str,
) -> None:
    person = registry_person(number="J44444444")
    auditor = make_officer("auditor")
    r = auditor.post("/api/v1/applications", json=tk01(person))
    assert (r.status_code, r.json()["error"]["code"]) == (403, "ROLE_NOT_ALLOWED")
    r = httpx.post(f"{live}/api/v1/applications", json=tk01(person))
    assert (r.status_code, r.json()["error"]["code"]) == (401, "INVALID_TOKEN")
    officer = make_officer("officer", office="HCM-01")
    app_id = officer.post("/api/v1/applications", json=tk01(person)).json()["id"]
    other_office = make_officer("officer", office="HN-01")
    r = other_office.get(f"/api/v1/applications/{app_id}")
    assert (r.status_code, r.json()["error"]["code"]) == (403, "OTHER_OFFICE")
    assert auditor.get(f"/api/v1/applications/{app_id}").status_code == 200


def test_capture_problems_are_reported_for_a_retake(
    make_officer: Callable[..., httpx.Client],
    registry_person: Callable[..., dict[str, Any]],
    shared_data: Path,
) -> None:
    import cv2
    import numpy as np

    officer = make_officer("officer")
    person = registry_person(number="T60000006", name="SRISAI LEI", nationality="THA")
    app_id = officer.post("/api/v1/applications", json=tk01(person)).json()["id"]
    base = f"/api/v1/applications/{app_id}"

    portrait = (shared_data / "faces" / "df01_deepface_img20.jpg").read_bytes()
    r = officer.put(f"{base}/portrait", files={"image": ("face.jpg", portrait, "image/jpeg")})
    assert r.status_code == 200 and r.json()["acceptable"], "a form upload works too"
    r = officer.put(f"{base}/portrait", content=b"GIF89a not a photo")
    assert (r.status_code, r.json()["error"]["code"]) == (422, "IMAGE_FORMAT")
    r = officer.put(f"{base}/fingerprints/11", content=b"\x89PNG\r\n\x1a\n")
    assert (r.status_code, r.json()["error"]["code"]) == (422, "INVALID_FINGER_POSITION")

    blank = cv2.imencode(".png", np.full((400, 300), 200, dtype=np.uint8))[1].tobytes()
    r = officer.put(f"{base}/fingerprints/2", content=blank)
    assert r.status_code == 200, r.text
    assert r.json()["acceptable"] is False and r.json()["issues"]

    dark = cv2.imread(str(shared_data / "faces" / "df01_deepface_img21.jpg"))
    dark = cv2.imencode(".jpg", (dark * 0.12).astype(np.uint8))[1].tobytes()
    r = officer.put(f"{base}/portrait", content=dark)
    assert r.json()["acceptable"] is False
    assert "TOO_DARK" in [i["code"] for i in r.json()["issues"]]
    # The third usable attempt is kept, flagged: some applicants cannot give a better capture.
    assert officer.put(f"{base}/portrait", content=dark).json()["acceptable"] is False
    third = officer.put(f"{base}/portrait", content=dark).json()
    assert (third["acceptable"], third["accepted_after_retakes"], third["attempts"]) == (
        True,
        True,
        3,
    )
    # A blank "print" never is, however often it is taken.
    for _ in range(3):
        assert officer.put(f"{base}/fingerprints/2", content=blank).json()["acceptable"] is False

    r = officer.put(f"{base}/fingerprints/7/exception", json={"reason": "INJURED"})
    assert r.status_code == 200 and r.json()["application_status"] == "draft"
    captures = officer.get(base).json()["captures"]
    assert {"kind": "fingerprint", "position": 7, "exception_reason": "INJURED"}.items() <= next(
        c for c in captures if c["position"] == 7
    ).items()
    r = officer.post(f"{base}/verification")
    assert (r.status_code, r.json()["error"]["code"]) == (409, "ILLEGAL_TRANSITION")


def test_a_retried_create_with_the_same_idempotency_key_makes_one_application(
    make_officer: Callable[..., httpx.Client],
    registry_person: Callable[..., dict[str, Any]],
) -> None:
    officer = make_officer("officer")
    person = registry_person(number="U11000011", name="WILSON ANNA", nationality="AUS")
    headers = {"Idempotency-Key": "tk01-7f3a"}
    first = officer.post("/api/v1/applications", json=tk01(person), headers=headers)
    retry = officer.post("/api/v1/applications", json=tk01(person), headers=headers)
    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.json()["id"] == first.json()["id"]
    without = officer.post("/api/v1/applications", json=tk01(person))
    assert (without.status_code, without.json()["error"]["code"]) == (
        409,
        "APPLICATION_ALREADY_OPEN",
    )
