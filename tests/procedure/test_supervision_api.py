"""The supervision APIs over HTTP: who may use them, what they answer, and what they audit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import select

from eid.core.audit import AuditEvent
from eid.core.database import unit_of_work
from eid.registry.service import ReferenceRegistry
from tests.procedure.conftest import tk01
from tests.procedure.test_supervision_browser import _active_account

REASON = {"purpose": "residency_procedure", "note": "card renewal file 77/2026"}


def _ref(passport: str) -> str:
    with unit_of_work() as session:
        record = ReferenceRegistry(session).find_by_passport(passport)
        assert record is not None
        return record.person_ref


def test_profiles_are_for_supervisors_and_need_a_reason(
    make_officer: Callable[..., httpx.Client],
    registry_person: Callable[..., dict[str, Any]],
) -> None:
    person = registry_person(number="R50000005", name="LEE JI EUN")
    ref = _ref("R50000005")
    eid_number = _active_account(ref)
    officer = make_officer("officer")
    assert officer.post("/api/v1/applications", json=tk01(person)).status_code == 201
    query = {"by": "passport", "query": "R50000005"}
    assert officer.post("/api/v1/profiles/search", json=query | REASON).status_code == 403
    for role in ("auditor", "admin"):
        answer = make_officer(role).post("/api/v1/profiles/search", json=query | REASON)
        assert answer.status_code == 403

    supervisor = make_officer("supervisor")
    # No reason, no data.
    assert supervisor.post("/api/v1/profiles/search", json=query).status_code == 422
    assert supervisor.post("/api/v1/profiles/opening", json={"person_ref": ref}).status_code == 422

    for by, value in (
        ("passport", "r50000005"),
        ("residence_card", person["residence_card"]["number"]),
        ("eid_number", eid_number),
        ("name", "  park soo   ah "),  # the account's name, case and spacing aside
        ("name", "lee ji eun"),  # the immigration database's name for the same person
    ):
        found = supervisor.post("/api/v1/profiles/search", json={"by": by, "query": value} | REASON)
        assert found.status_code == 200, found.text
        assert [c["person_ref"] for c in found.json()] == [ref], by

    opened = supervisor.post("/api/v1/profiles/opening", json={"person_ref": ref} | REASON)
    assert opened.status_code == 200, opened.text
    profile = opened.json()
    assert profile["full_name"] == "LEE JI EUN" and profile["registry_status"] == "resident"
    assert [a["eid_number"] for a in profile["accounts"]] == [eid_number]
    assert [a["status"] for a in profile["applications"]] == ["draft"]
    # The application declared the documents on file: one entry; the account's differ.
    documents = {(d["source"], d["passport_number"]) for d in profile["documents"]}
    assert documents == {("registry", "R50000005"), ("account", "M00000001")}

    missing = supervisor.post("/api/v1/profiles/opening", json={"person_ref": "nobody"} | REASON)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "PERSON_NOT_FOUND"
    with unit_of_work() as session:
        events = session.execute(
            select(AuditEvent.action, AuditEvent.reason).where(
                AuditEvent.subject_id == ref, AuditEvent.action == "profile.opened"
            )
        ).all()
        assert events == [("profile.opened", "residency_procedure: card renewal file 77/2026")]
        searches = session.execute(
            select(AuditEvent.details).where(AuditEvent.action == "profile.searched")
        ).scalars()
        assert sum(1 for d in searches if d["found"] == [ref]) == 5


def test_agency_locks_over_http_roles_four_eyes_and_errors(
    make_officer: Callable[..., httpx.Client],
    registry_person: Callable[..., dict[str, Any]],
) -> None:
    registry_person(number="R60000006", name="CHEN MEI")
    eid_number = _active_account(_ref("R60000006"))
    body = {
        "eid_number": eid_number,
        "ground": "breach_of_terms",
        "agency": "Bộ Công an, C06",
        "reference": "55/C06",
        "note": "breach found by the agency",
    }
    assert make_officer("auditor").post("/api/v1/agency-locks", json=body).status_code == 403
    refused = make_officer("officer").post(
        "/api/v1/agency-locks", json=body | {"ground": "deceased"}
    )
    assert refused.status_code == 422
    supervisor = make_officer("supervisor")
    made = supervisor.post("/api/v1/agency-locks", json=body)
    assert made.status_code == 201 and made.json()["status"] == "requested"
    lock_id = made.json()["id"]
    again = supervisor.post("/api/v1/agency-locks", json=body)
    assert again.status_code == 201 and again.json()["id"] == lock_id  # the same request
    decision = {"decision": "approve", "note": "checked"}
    own = supervisor.post(f"/api/v1/agency-locks/{lock_id}/decision", json=decision)
    assert own.status_code == 403 and own.json()["error"]["code"] == "FOUR_EYES_REQUIRED"
    officer = make_officer("officer")
    assert (
        officer.post(f"/api/v1/agency-locks/{lock_id}/decision", json=decision).status_code == 403
    )
    elsewhere = make_officer("supervisor", office="DN-01")
    assert (
        elsewhere.post(f"/api/v1/agency-locks/{lock_id}/decision", json=decision).status_code == 404
    )
    approved = make_officer("supervisor").post(
        f"/api/v1/agency-locks/{lock_id}/decision", json=decision
    )
    assert approved.status_code == 200 and approved.json()["account_status"] == "locked"
    listed = officer.get("/api/v1/agency-locks").json()
    assert [lock["id"] for lock in listed] == [lock_id]
    lifted = officer.post(
        f"/api/v1/agency-locks/{lock_id}/lifting", json={"reference": "56/C06", "note": "lifted"}
    )
    assert lifted.status_code == 200 and lifted.json()["account_status"] == "active"
    assert officer.get("/api/v1/agency-locks").json() == []
    closed = officer.get("/api/v1/agency-locks?status=closed").json()
    assert [(lock["id"], lock["status"]) for lock in closed] == [(lock_id, "lifted")]


def test_a_supervisor_sees_the_series_of_their_office_only(
    make_officer: Callable[..., httpx.Client],
    registry_person: Callable[..., dict[str, Any]],
) -> None:
    person = registry_person(number="R70000007", name="TRAN MAI")
    assert (
        make_officer("officer", office="HP-01")
        .post("/api/v1/applications", json=tk01(person))
        .status_code
        == 201
    )
    assert make_officer("officer").get("/api/v1/campaign/series").status_code == 403
    local = make_officer("supervisor", office="CT-01").get(
        "/api/v1/campaign/series", params={"office": "HP-01"}
    )
    assert local.status_code == 200 and local.json()["office"] == "CT-01"
    assert local.json()["per_day"] == []
    national = make_officer("auditor").get("/api/v1/campaign/series").json()
    assert national["office"] is None and len(national["days"]) == 14
    bad = make_officer("auditor").get("/api/v1/campaign/series", params={"from": "yesterday"})
    assert bad.status_code == 422


def test_a_person_without_an_account_is_found_by_name_in_the_immigration_database(
    make_officer: Callable[..., httpx.Client],
    registry_person: Callable[..., dict[str, Any]],
) -> None:
    registry_person(number="R50000006", name="NGUYỄN THỊ HOA", nationality="USA")
    registry_person(number="R50000007", name="NGUYỄN THỊ HOA", nationality="FRA")
    registry_person(number="R50000008", name="NGUYỄN THỊ HOAN", nationality="FRA")
    refs = {_ref("R50000006"), _ref("R50000007")}
    supervisor = make_officer("supervisor")
    found = supervisor.post(
        "/api/v1/profiles/search", json={"by": "name", "query": "nguyễn  thị hoa"} | REASON
    )
    assert found.status_code == 200, found.text
    # Both namesakes, to be told apart by date of birth and nationality; not the longer name.
    assert {c["person_ref"] for c in found.json()} == refs
    assert {c["nationality"] for c in found.json()} == {"USA", "FRA"}
    nobody = supervisor.post(
        "/api/v1/profiles/search", json={"by": "name", "query": "NGUYEN"} | REASON
    )
    assert nobody.json() == []
