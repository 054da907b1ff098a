"""Level 1 in the app, over HTTP against the running app, the worker and a real PostgreSQL:
registration alone on a phone, the checks, the account, and the upgrade to Level 2."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
from joserfc.jwk import OKPKey
from sqlalchemy import select

from eid.authority import service as authority
from eid.authority.models import Account
from eid.calendar.service import add_working_days
from eid.core import clock
from eid.core.database import unit_of_work
from eid.core.ids import is_valid_eid_number
from eid.identity import service as identity
from tests.procedure.conftest import status_in, tk01, verify_phone
from tests.procedure.level_one import register, registration_form, start
from tests.support import Peers

PASSWORD = "Str0ng!Pass"
PASSCODE = "246813"


def _recompressed(image: Path, quality: int = 70, scale: float = 0.8) -> bytes:
    """The same picture as a phone would send it again: scaled and re-encoded."""
    decoded = cv2.imread(str(image))
    h, w = decoded.shape[:2]
    smaller = cv2.resize(decoded, (int(w * scale), int(h * scale)))
    ok, encoded = cv2.imencode(".jpg", smaller, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return bytes(np.asarray(encoded).tobytes())


def _activate_and_sign_in(eid_number: str, activation_code: str) -> tuple[str, str]:
    """(acr at activation, acr of a later device sign-in)."""
    key = OKPKey.generate_key("Ed25519")
    with unit_of_work() as db:
        activated = identity.activate(
            db,
            eid_number=eid_number,
            activation_code=activation_code,
            password=PASSWORD,
            passcode=PASSCODE,
            device_jwk=key.as_dict(private=False),
            device_label="phone",
        )
    return activated.acr, _sign_in(eid_number, key)


def _sign_in(eid_number: str, key: OKPKey) -> str:
    from tests.identity.factories import sign_nonce

    with unit_of_work() as db:
        challenge = identity.new_login_challenge(db, eid_number)
        nonce, challenge_id = challenge.nonce, challenge.id
    with unit_of_work() as db:
        issued = identity.login_with_device(
            db,
            eid_number=eid_number,
            password=PASSWORD,
            challenge_id=challenge_id,
            proof=sign_nonce(key, nonce),
        )
    return issued.acr


def _account(eid_number: str) -> tuple[int, str, bool]:
    with unit_of_work() as db:
        row = db.execute(select(Account).where(Account.eid_number == eid_number)).scalar_one()
        return row.level, row.status, row.fingerprint_templates is not None


def test_registration_alone_on_a_phone_is_issued_at_level_1(
    live: str,
    registry_person: Callable[..., dict[str, Any]],
    shared_data: Path,
    peers: Peers,
) -> None:
    smtp, sms = peers
    faces = shared_data / "faces"
    person = registry_person(number="K11112222", portrait=faces / "df04_deepface_img29.jpg")
    reg = start(live, registration_form(person))  # the phone as typed: 0912 345 678
    assert reg.body["status"] == "draft" and reg.body["level"] == 1
    assert reg.body["phone_sent_to"] == "+84******678"  # normalised to E.164
    assert reg.body["consent_text_version"] == "2026-11-level1"

    reg.verify_phone(sms, to="+84912345678")
    r = reg.consent()
    assert r.status_code == 200 and r.json()["consented"], r.text
    r = reg.selfie(faces / "df04_deepface_img30.jpg")
    assert r.status_code == 200 and r.json()["acceptable"], r.text
    assert r.json()["application_status"] == "captured"
    submitted = reg.submit()
    assert submitted["working_days"] == 1
    with unit_of_work() as db:
        expected = add_working_days(db, clock.today_vn(), 1)
    assert submitted["legal_deadline"] == expected.isoformat()

    issued = reg.status_in("issued", "rejected", "in_review")
    assert issued["status"] == "issued", issued
    outcomes = {c["name"]: c["outcome"] for c in issued["checks"]}
    assert outcomes["face_1to1"] == "pass"
    assert outcomes["fingerprints_1to1"] == "not_applicable"
    assert outcomes["duplicates_1toN"] == "pass"
    number = issued["eid_number"]
    assert is_valid_eid_number(number)
    assert issued["legal_deadline"] == expected.isoformat()
    assert _account(number) == (1, "pending_activation", False)

    # The result by SMS (Korean, naming the app) and email; the activation code in both.
    text = sms.inbox.wait_for(lambda m: number in m["text"])
    assert text["to"] == "+84912345678" and "/app" in text["text"] and "1등급" in text["text"]
    mail = smtp.inbox.wait_for(lambda m: number in m.text)
    assert mail.to == ["holder@example.test"]
    code = next(w for w in text["text"].replace(".", " ").split() if len(w) == 8 and w.isdigit())
    activated, signed_in = _activate_and_sign_in(number, code)
    assert activated == signed_in == identity.ACR_LEVEL1

    # The token opens this registration only; without it nothing is read.
    assert httpx.get(f"{live}{reg.url()}").status_code == 401
    other = httpx.get(
        f"{live}/api/v1/registrations/{uuid.uuid4()}",
        headers={"X-Registration-Token": reg.body["registration_token"]},
    )
    assert other.status_code == 401
    assert other.json()["error"]["code"] == "REGISTRATION_TOKEN_INVALID"


def test_bad_input_is_refused_with_a_code_naming_the_field_in_the_holders_language(
    live: str, registry_person: Callable[..., dict[str, Any]], shared_data: Path, peers: Peers
) -> None:
    _, sms = peers
    person = registry_person(number="K22223333")
    form = registration_form(person)
    ko = {"Accept-Language": "ko"}

    def refused(body: dict[str, Any]) -> dict[str, Any]:
        r = httpx.post(f"{live}/api/v1/registrations", json=body, headers=ko, timeout=30)
        assert r.status_code in (409, 422), r.text
        error: dict[str, Any] = r.json()["error"]
        return error

    line2 = form["passport"]["mrz"][1]
    wrong_digit = line2[:9] + str((int(line2[9]) + 1) % 10) + line2[10:]
    error = refused(
        form | {"passport": form["passport"] | {"mrz": [form["passport"]["mrz"][0], wrong_digit]}}
    )
    assert (error["code"], error["details"]["field"]) == ("MRZ_INVALID", "number")
    assert "MRZ" in error["message"] and "number" in error["message"]
    other_expiry = form["passport"] | {"expiry_date": "2039-01-01"}
    assert refused(form | {"passport": other_expiry})["code"] == "MRZ_MISMATCH"
    error = refused(form | {"phone": "+82 10 2345 6789"})
    assert (error["code"], error["details"]["field"]) == ("PHONE_NOT_VIETNAMESE", "phone")
    assert "베트남" in error["message"]  # Korean: "Vietnamese"
    assert refused(form | {"phone": "0912 34"})["code"] == "PHONE_INVALID"

    # Steps out of order are refused with what to do first.
    reg = start(live, form)
    face = shared_data / "faces" / "df05_deepface_img34.jpg"
    r = reg.selfie(face)
    assert (r.status_code, r.json()["error"]["code"]) == (409, "PHONE_NOT_VERIFIED")
    reg.verify_phone(sms)
    r = reg.selfie(face)
    assert (r.status_code, r.json()["error"]["code"]) == (409, "CONSENT_REQUIRED")
    r = reg.client.post(reg.url("/submission"))
    assert r.status_code == 409
    r = reg.client.post(reg.url("/consent"), json={"by": "applicant", "text_version": "2025-07-v1"})
    assert r.json()["error"]["code"] == "CONSENT_TEXT_UNKNOWN"  # the Level-2 text


def test_copied_or_resent_selfies_are_refused(
    live: str,
    registry_person: Callable[..., dict[str, Any]],
    shared_data: Path,
    peers: Peers,
) -> None:
    _, sms = peers
    faces = shared_data / "faces"
    on_file = faces / "df09_deepface_img3.jpg"
    person = registry_person(number="K33334444", portrait=on_file)
    reg = start(live, registration_form(person))
    reg.verify_phone(sms)
    assert reg.consent().status_code == 200

    for copy in (on_file.read_bytes(), _recompressed(on_file)):
        r = reg.selfie(copy)
        assert (r.status_code, r.json()["error"]["code"]) == (422, "SELFIE_REUSED"), r.text
    # No face at all: kept as a retake, with advice in the holder's language.
    no_face = (shared_data / "fingerprints" / "pyfnprint_001_1.png").read_bytes()
    r = reg.client.put(reg.url("/selfie"), content=no_face, headers={"Accept-Language": "ko"})
    assert r.status_code == 200 and not r.json()["acceptable"], r.text
    issue = r.json()["issues"][0]
    assert issue["code"] == "NO_FACE" and not issue["message"].isascii()
    first = faces / "df09_deepface_img12.jpg"
    r = reg.selfie(first)
    assert r.status_code == 200 and r.json()["acceptable"], r.text

    # A new registration for the same passport replaces this unsubmitted one; the selfie sent
    # with the first, even re-encoded, is refused; a new capture is taken.
    again = start(live, registration_form(person))
    assert reg.get()["status"] == "cancelled"
    again.verify_phone(sms)
    assert again.consent().status_code == 200
    r = again.selfie(_recompressed(first, quality=80, scale=0.9))
    assert (r.status_code, r.json()["error"]["code"]) == (422, "SELFIE_REUSED")
    r = again.selfie(faces / "df09_deepface_img53.jpg")
    assert r.status_code == 200 and r.json()["acceptable"], r.text


def test_without_a_photo_on_file_any_supervisor_reviews_the_selfie(
    live: str,
    registry_person: Callable[..., dict[str, Any]],
    make_officer: Callable[..., httpx.Client],
    shared_data: Path,
    peers: Peers,
) -> None:
    _, sms = peers
    person = registry_person(number="K44445555")  # no portrait in the immigration database
    reg = register(live, person, shared_data / "faces" / "df05_deepface_img35.jpg", sms)
    held = reg.status_in("in_review", "issued", "rejected")
    assert held["status"] == "in_review"
    outcomes = {c["name"]: c["outcome"] for c in held["checks"]}
    assert outcomes["face_1to1"] == "review"

    # The review has no office: a supervisor of any office sees and decides it.
    supervisor = make_officer("supervisor", office="HCM-01")
    reviews = supervisor.get("/api/v1/reviews").json()
    mine = [r for r in reviews if r["application"]["id"] == reg.id]
    assert len(mine) == 1 and mine[0]["application"]["level"] == 1
    assert (
        supervisor.get(f"/api/v1/reviews/{mine[0]['id']}/portraits/application").status_code == 200
    )
    r = supervisor.post(
        f"/api/v1/reviews/{mine[0]['id']}/decision",
        json={"decision": "approve", "note": "selfie matches the passport photo shown"},
    )
    assert r.status_code == 200, r.text
    issued = reg.status_in("issued", "rejected")
    assert issued["status"] == "issued" and is_valid_eid_number(issued["eid_number"])


def test_a_guardian_registers_a_child_under_six_with_the_guardians_phone(
    live: str,
    registry_person: Callable[..., dict[str, Any]],
    shared_data: Path,
    peers: Peers,
) -> None:
    _, sms = peers
    faces = shared_data / "faces"
    child = registry_person(
        number="C55556666", age=4, name="PARK SO YUN", portrait=faces / "df06_deepface_img38.jpg"
    )
    guardian = {
        "full_name": "PARK JI HOON",
        "relation": "father",
        "document_number": "M99887766",
        "phone": "0987 654 321",
    }
    r = httpx.post(f"{live}/api/v1/registrations", json=registration_form(child), timeout=30)
    assert r.json()["error"]["code"] == "GUARDIAN_REQUIRED"
    r = httpx.post(
        f"{live}/api/v1/registrations",
        json=registration_form(child, guardian=guardian),
        timeout=30,
    )
    assert r.json()["error"]["code"] == "GUARDIAN_PHONE_REQUIRED"
    reg = start(live, registration_form(child, guardian=guardian, phone="+84987654321"))
    reg.verify_phone(sms, to="+84987654321")
    assert reg.consent("applicant").json()["error"]["code"] == "GUARDIAN_CONSENT_REQUIRED"
    assert reg.consent("guardian").status_code == 200
    r = reg.selfie(faces / "df06_deepface_img40.jpg")
    assert r.status_code == 200 and r.json()["acceptable"], r.text
    reg.submit()
    issued = reg.status_in("issued", "rejected", "in_review")
    assert issued["status"] == "issued", issued
    assert _account(issued["eid_number"])[0] == 1
    sms.inbox.wait_for(lambda m: issued["eid_number"] in m["text"] and m["to"] == "+84987654321")


def test_the_deadline_is_one_working_day_over_a_weekend_and_holiday(
    live: str,
    registry_person: Callable[..., dict[str, Any]],
    shared_data: Path,
    peers: Peers,
) -> None:
    """Submitted on Friday 29 August 2025: Saturday, Sunday and the National Day holiday
    (Monday 1 and Tuesday 2 September) do not count; the deadline is Wednesday 3 September."""
    _, sms = peers
    friday = dt.datetime(2025, 8, 29, 3, 0, tzinfo=dt.UTC)
    clock.shift(friday - clock.now())
    person = registry_person(
        number="K66667777", portrait=shared_data / "faces" / "df00_deepface_img1.jpg"
    )
    reg = register(live, person, shared_data / "faces" / "df00_deepface_img2.jpg", sms)
    assert reg.get()["legal_deadline"] == "2025-09-03"


def test_an_office_application_upgrades_the_level_1_account(
    live: str,
    registry_person: Callable[..., dict[str, Any]],
    make_officer: Callable[..., httpx.Client],
    shared_data: Path,
    peers: Peers,
) -> None:
    _, sms = peers
    faces, prints = shared_data / "faces", shared_data / "fingerprints"
    person = registry_person(
        number="K77778888",
        portrait=faces / "df04_deepface_img31.jpg",
        fingers={2: prints / "pyfnprint_001_1.png"},
    )
    reg = register(live, person, faces / "df04_deepface_img32.jpg", sms)
    level1 = reg.status_in("issued", "rejected", "in_review")
    assert level1["status"] == "issued", level1
    number = level1["eid_number"]
    text = sms.inbox.wait_for(lambda m: number in m["text"])
    code = next(w for w in text["text"].replace(".", " ").split() if len(w) == 8 and w.isdigit())
    key = OKPKey.generate_key("Ed25519")
    with unit_of_work() as db:
        identity.activate(
            db,
            eid_number=number,
            activation_code=code,
            password=PASSWORD,
            passcode=PASSCODE,
            device_jwk=key.as_dict(private=False),
            device_label="phone",
        )
    assert _sign_in(number, key) == identity.ACR_LEVEL1

    # TK01 at an office: the portrait and fingers taken there, the same person.
    officer = make_officer("officer")
    app_id = office_application(officer, person, faces / "df04_deepface_img33.jpg", prints, sms)
    body = status_in(officer, app_id, "issued", "rejected")
    assert body["status"] == "issued", body
    outcomes = {c["name"]: c["outcome"] for c in body["checks"]}
    assert outcomes["duplicates_1toN"] == "pass"  # the own Level-1 selfie is no second identity
    assert body["eid_number"] == number  # the same account, never a second one
    assert _account(number) == (2, "active", True)
    with unit_of_work() as db:
        accounts = db.execute(select(Account).where(Account.registry_ref.is_not(None))).scalars()
        assert [a.eid_number for a in accounts] == [number]
        assert authority.held_level(db, level1_ref(db, number)) == 2
    # The holder is told, in the TK01's language (Vietnamese here), to sign in again.
    upgraded = sms.inbox.wait_for(lambda m: number in m["text"] and "mức 2" in m["text"])
    assert "eid" in upgraded["text"] and upgraded["to"] == "+84912345678"
    assert _sign_in(number, key) == identity.ACR_LEVEL2  # signing in again gives Level 2

    # A Level-2 holder's second application is refused: the person already holds an account.
    second = office_application(officer, person, faces / "df04_deepface_img29.jpg", prints, sms)
    refused = status_in(officer, second, "issued", "rejected")
    assert (refused["status"], refused["rejection_code"]) == ("rejected", "ACCOUNT_EXISTS")

    # A different identity with the same face is still held as a possible second identity.
    other = registry_person(number="K88889999", name="LEE DONG WOOK")
    twin = register(
        live, other, faces / "df04_deepface_img30.jpg", sms, "+84913000111", phone="0913000111"
    )
    held = twin.status_in("in_review", "issued", "rejected")
    outcomes = {c["name"]: c["outcome"] for c in held["checks"]}
    assert outcomes["duplicates_1toN"] == "review", held


def level1_ref(db: Any, number: str) -> str:
    return str(
        db.execute(select(Account.registry_ref).where(Account.eid_number == number)).scalar_one()
    )


def office_application(
    officer: httpx.Client, person: dict[str, Any], portrait: Path, prints: Path, sms: Any
) -> str:
    r = officer.post("/api/v1/applications", json=tk01(person))
    assert r.status_code == 201, r.text
    app_id: str = r.json()["id"]
    r = officer.put(f"/api/v1/applications/{app_id}/portrait", content=portrait.read_bytes())
    assert r.json()["acceptable"], r.text
    for position, image in {2: "pyfnprint_001_2.png", 7: "pyfnprint_002_2.png"}.items():
        r = officer.put(
            f"/api/v1/applications/{app_id}/fingerprints/{position}",
            content=(prints / image).read_bytes(),
        )
        assert r.json()["acceptable"], r.text
    r = officer.post(f"/api/v1/applications/{app_id}/verification", params={"wait": 30})
    assert r.json()["status"] == "verified", officer.get(f"/api/v1/applications/{app_id}").json()
    verify_phone(officer, app_id, sms)
    r = officer.post(
        f"/api/v1/applications/{app_id}/consent",
        json={"by": "applicant", "text_version": "2025-07-v1", "language": "ko"},
    )
    assert r.status_code == 200, r.text
    assert officer.post(f"/api/v1/applications/{app_id}/submission").status_code == 200
    return app_id


def test_creation_is_limited_per_phone_and_passport_however_written(
    live: str, registry_person: Callable[..., dict[str, Any]]
) -> None:
    """Ten attempts a day per phone number and per passport (refused ones count), then 429
    with Retry-After; a number written the local or the international way is one number."""
    person = registry_person(number="K99990000")
    form = registration_form(person)
    bad = form | {"passport": form["passport"] | {"expiry_date": "2039-01-01"}}  # MRZ_MISMATCH
    for attempt in range(10):
        phone = "0912 345 678" if attempt % 2 else "+84912345678"
        r = httpx.post(f"{live}/api/v1/registrations", json=bad | {"phone": phone}, timeout=30)
        assert r.status_code == 422, r.text
    r = httpx.post(f"{live}/api/v1/registrations", json=form, timeout=30)
    assert r.status_code == 429 and r.json()["error"]["code"] == "TOO_MANY_REQUESTS"
    assert int(r.headers["Retry-After"]) > 0
    # Another phone for the same passport: the passport's ten are used up too.
    again = httpx.post(
        f"{live}/api/v1/registrations", json=form | {"phone": "0913 000 111"}, timeout=30
    )
    assert again.status_code == 429
    # Someone else, from the same address, is not held up.
    other = registration_form(registry_person(number="K99990001"), phone="0914 000 222")
    assert httpx.post(f"{live}/api/v1/registrations", json=other, timeout=30).status_code == 201
