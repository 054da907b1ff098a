"""The counter's API around TK01: the office's work list, the MRZ read by the `mrz` library,
the registry look-up, corrections and their rule, and refusals that name their field."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from eid.core import clock
from eid.core.audit import AuditEvent
from eid.core.database import unit_of_work
from eid.enrolment.models import ApplicationCorrection
from eid.registry.mrz import td3
from tests.procedure.conftest import tk01
from tests.procedure.test_review import CONSENT, enrol_face_unlike_file

TD1 = (
    "I<UTOD231458907<<<<<<<<<<<<<<<\n7408122F1204159UTO<<<<<<<<<<<6\nERIKSSON<<ANNA<MARIA<<<<<<<<<<"
)
TD2 = "I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<\nD231458907UTO7408122F1204159<<<<<<<6"
MRVA = "V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL8988901C4XXX4009078F96121096ZE184226B<<<<<<"


def _actions(subject_id: str) -> list[tuple[str, dict[str, Any]]]:
    with unit_of_work() as db:
        rows = db.execute(
            select(AuditEvent.action, AuditEvent.details)
            .where(AuditEvent.subject_id == subject_id)
            .order_by(AuditEvent.id)
        ).all()
    return [(action, details or {}) for action, details in rows]


def test_mrz_of_passports_id_cards_and_visas(make_officer: Callable[..., httpx.Client]) -> None:
    officer = make_officer("officer")
    l1, l2 = td3(
        doc_type="P",
        issuing_state="KOR",
        full_name="KIM MIN JUN",
        number="M12345678",
        nationality="KOR",
        date_of_birth=dt.date(1990, 1, 31),
        sex="M",
        expiry_date=dt.date(2031, 4, 30),
    )
    # A document reader that types no line break, in lower case: read all the same.
    passport = officer.post("/api/v1/mrz", json={"mrz": (l1 + l2).lower()}).json()
    assert (passport["layout"], passport["number"], passport["full_name"]) == (
        "TD3",
        "M12345678",
        "KIM MIN JUN",
    )
    assert (passport["date_of_birth"], passport["expiry_date"]) == ("1990-01-31", "2031-04-30")
    for text, layout in ((TD1, "TD1"), (TD2, "TD2"), (MRVA, "MRVA")):
        read = officer.post("/api/v1/mrz", json={"mrz": text})
        assert read.status_code == 200, read.text
        assert read.json()["layout"] == layout
        assert read.json()["date_of_birth"] in ("1974-08-12", "1940-09-07")
    assert officer.post("/api/v1/mrz", json={"mrz": MRVA}).json()["visa"] is True
    # One wrong check digit: refused with the field named, in stable words.
    tampered = l2[:9] + str((int(l2[9]) + 1) % 10) + l2[10:]
    refused = officer.post("/api/v1/mrz", json={"mrz": f"{l1}\n{tampered}"})
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert (error["code"], error["details"]["field"]) == ("MRZ_INVALID", "number")
    short = officer.post("/api/v1/mrz", json={"mrz": l1 + "\n" + l2[:40]}).json()["error"]
    assert (short["code"], short["details"]["field"]) == ("MRZ_INVALID", "length")
    assert httpx.post(f"{officer.base_url}/api/v1/mrz", json={"mrz": TD1}).status_code == 401


def test_registry_look_up_fills_tk01_and_is_audited(
    make_officer: Callable[..., httpx.Client], registry_person: Callable[..., dict[str, Any]]
) -> None:
    officer = make_officer("officer")
    person = registry_person(number="C72000001", name="CHEN LI", nationality="CHN")
    by_card = officer.get(
        "/api/v1/registry/lookup", params={"residence_card": person["residence_card"]["number"]}
    )
    assert by_card.status_code == 200, by_card.text
    found = by_card.json()
    assert found["full_name"] == "CHEN LI" and found["passport"]["number"] == "C72000001"
    by_passport = officer.get("/api/v1/registry/lookup", params={"passport": "c72000001"})
    assert by_passport.json() == found
    missing = officer.get("/api/v1/registry/lookup", params={"passport": "Z00000000"})
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "REGISTRY_PERSON_NOT_FOUND"
    with unit_of_work() as db:
        looked = db.execute(
            select(AuditEvent.details).where(AuditEvent.action == "registry.looked_up")
        ).scalars()
        assert {"by": "residence_card"} in list(looked)


def test_any_case_codes_and_a_local_phone_are_normalised_and_refusals_name_the_field(
    make_officer: Callable[..., httpx.Client], registry_person: Callable[..., dict[str, Any]]
) -> None:
    officer = make_officer("officer")
    person = registry_person(number="K72000002", name="LEE SO YEON")
    form = tk01(person, phone="0912000111", nationality="kor")
    form["passport"] = form["passport"] | {"issuing_state": "kor", "number": "k72000002"}
    created = officer.post("/api/v1/applications", json=form)
    assert created.status_code == 201, created.text
    app = created.json()
    assert (app["phone"], app["nationality"], app["passport"]["issuing_state"]) == (
        "+84912000111",
        "KOR",
        "KOR",
    )
    bad = officer.post(
        "/api/v1/applications",
        json=tk01(person, phone="12") | {"nationality": "KOREA"},
        headers={"Accept-Language": "vi"},
    )
    error = bad.json()["error"]
    assert error["code"] == "INVALID_REQUEST" and error["details"]["field"] == "nationality"
    assert set(error["details"]["fields"]) == {"nationality", "phone"}
    expired = tk01(person)
    expired["passport"] = expired["passport"] | {"expiry_date": "2020-01-01"}
    refused = officer.post("/api/v1/applications", json=expired).json()["error"]
    assert (refused["code"], refused["details"]["field"]) == (
        "PASSPORT_EXPIRED",
        "passport.expiry_date",
    )


def test_work_list_resumes_searches_marks_overdue_and_stays_in_the_office(
    make_officer: Callable[..., httpx.Client], registry_person: Callable[..., dict[str, Any]]
) -> None:
    officer = make_officer("officer", office="HN-01")
    elsewhere = make_officer("officer", office="HCM-01")
    first = registry_person(number="W72000003", name="NGUYEN THI LAN", nationality="USA")
    second = registry_person(number="W72000004", name="SMITH JOHN", nationality="USA")
    a = officer.post("/api/v1/applications", json=tk01(first)).json()
    b = officer.post("/api/v1/applications", json=tk01(second)).json()
    listed = {row["id"]: row for row in officer.get("/api/v1/applications").json()}
    assert {a["id"], b["id"]} <= set(listed)
    assert listed[a["id"]]["status"] == "draft" and listed[a["id"]]["overdue"] is False
    assert a["id"] not in {row["id"] for row in elsewhere.get("/api/v1/applications").json()}
    by_name = officer.get("/api/v1/applications", params={"q": "thi lan"}).json()
    assert [row["id"] for row in by_name] == [a["id"]]
    by_card = officer.get(
        "/api/v1/applications", params={"q": second["residence_card"]["number"]}
    ).json()
    assert [row["id"] for row in by_card] == [b["id"]]
    work_reads = [d for action, d in _actions("HN-01") if action == "application.work_list_read"]
    assert any(a["id"] in d["applications"] for d in work_reads)

    # Two weeks later the draft is still open: past the whole legal time, marked.
    clock.shift(dt.timedelta(days=14))
    officer = make_officer("officer", office="HN-01")  # yesterday's session has long expired
    later = {row["id"]: row for row in officer.get("/api/v1/applications").json()}
    assert later[a["id"]]["overdue"] is True
    assert later[a["id"]]["due_on"] < clock.today_vn().isoformat()

    # Cancelled with a reason: off the list.
    cancelled = officer.post(
        f"/api/v1/applications/{a['id']}/cancellation", json={"reason": "applicant left"}
    )
    assert cancelled.json()["status"] == "cancelled"
    assert a["id"] not in {row["id"] for row in officer.get("/api/v1/applications").json()}


def test_corrections_before_verification_are_kept_with_the_old_value(
    make_officer: Callable[..., httpx.Client], registry_person: Callable[..., dict[str, Any]]
) -> None:
    officer = make_officer("officer")
    person = registry_person(number="T72000005", name="TRAN VAN BINH", nationality="AUS")
    typo = tk01(person, full_name="TRAN VAN BIHN")
    app = officer.post("/api/v1/applications", json=typo).json()
    fixed = officer.put(f"/api/v1/applications/{app['id']}/tk01", json=tk01(person))
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["changed"] == ["full_name"]
    assert fixed.json()["application"]["full_name"] == "TRAN VAN BINH"
    again = officer.put(f"/api/v1/applications/{app['id']}/tk01", json=tk01(person))
    assert again.json()["changed"] == []
    with unit_of_work() as db:
        [kept] = db.execute(
            select(ApplicationCorrection).where(ApplicationCorrection.application_id == app["id"])
        ).scalars()
        assert kept.field == "full_name"
        assert kept.change == {"old": "TRAN VAN BIHN", "new": "TRAN VAN BINH"}
    corrected = [d for action, d in _actions(app["id"]) if action == "application.corrected"]
    assert corrected == [{"fields": ["full_name"], "status": "draft"}]  # no personal data


def test_a_verified_application_corrected_is_checked_again_and_consent_ends_corrections(
    make_officer: Callable[..., httpx.Client],
    registry_person: Callable[..., dict[str, Any]],
    shared_data: Path,
) -> None:
    officer = make_officer("officer")
    supervisor = make_officer("supervisor")
    held = enrol_face_unlike_file(officer, registry_person, shared_data, "R72000006", "REYES ANA")
    app_id = held["id"]
    # Held for review: the supervisor is deciding on this data; no correction meanwhile.
    form = {k: held[k] for k in ("full_name", "date_of_birth", "nationality", "language")}
    form |= {
        "sex": "M",
        "passport": {k: v for k, v in held["passport"].items() if k != "mrz"},
        "residence_card": held["residence_card"],
        "address": held["address"],
        "phone": held["phone"],
        "email": held["email"],
        "integrations": held["integrations"],
    }
    refused = officer.put(f"/api/v1/applications/{app_id}/tk01", json=form)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "CORRECTION_NOT_ALLOWED"
    review = next(
        x for x in supervisor.get("/api/v1/reviews").json() if x["application"]["id"] == app_id
    )
    supervisor.post(
        f"/api/v1/reviews/{review['id']}/decision",
        json={"decision": "approve", "note": "old photo on file; passport checked"},
    )
    assert officer.get(f"/api/v1/applications/{app_id}").json()["status"] == "verified"
    moved = officer.put(
        f"/api/v1/applications/{app_id}/tk01", json=form | {"address": "1 Trang Thi, Ha Noi"}
    )
    assert moved.status_code == 200, moved.text
    after = moved.json()["application"]
    assert after["status"] == "captured" and after["checks"] == []  # to be checked again
    assert officer.post(f"/api/v1/applications/{app_id}/consent", json=CONSENT).status_code == 409
