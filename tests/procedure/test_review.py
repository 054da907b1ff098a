"""Biometric doubt and second identities are held for a supervisor, who sees both records."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from sqlalchemy import Engine, text

from eid.biometrics.face import serialize_face_template
from eid.wiring import Ports
from tests.procedure.conftest import tk01, verify_phone
from tests.support import Peers, WorkerThread, wait_until

CONSENT = {"by": "applicant", "text_version": "2025-07-v1", "language": "en"}


def _enrol(
    officer: httpx.Client, person: dict[str, Any], portrait: Path, fingers: dict[int, Path]
) -> dict[str, Any]:
    r = officer.post("/api/v1/applications", json=tk01(person, phone="+84913000111"))
    assert r.status_code == 201, r.text
    app_id = r.json()["id"]
    assert officer.put(
        f"/api/v1/applications/{app_id}/portrait", content=portrait.read_bytes()
    ).json()["acceptable"]
    for pos, image in fingers.items():
        assert officer.put(
            f"/api/v1/applications/{app_id}/fingerprints/{pos}", content=image.read_bytes()
        ).json()["acceptable"]
    assert officer.post(f"/api/v1/applications/{app_id}/verification").status_code in (200, 202)

    def settled() -> dict[str, Any] | None:
        body: dict[str, Any] = officer.get(f"/api/v1/applications/{app_id}").json()
        return body if body["status"] in ("verified", "in_review", "rejected") else None

    result: dict[str, Any] = wait_until(settled)
    return result


def enrol_face_unlike_file(
    officer: httpx.Client,
    registry_person: Callable[..., dict[str, Any]],
    shared_data: Path,
    number: str,
    name: str,
) -> dict[str, Any]:
    """Someone whose live portrait does not match the photo on file, while a finger does."""
    faces, prints = shared_data / "faces", shared_data / "fingerprints"
    person = registry_person(
        number=number,
        name=name,
        nationality="PHL",
        portrait=faces / "df06_deepface_img39.jpg",
        fingers={2: prints / "pyfnprint_009_1.png"},
    )
    return _enrol(
        officer,
        person,
        faces / "df04_deepface_img29.jpg",
        {2: prints / "pyfnprint_009_2.png", 7: prints / "pyfnprint_010_2.png"},
    )


def test_a_stranger_above_the_face_threshold_is_cleared_by_fingerprints(
    committed: Engine,
    ports: Ports,
    make_officer: Callable[..., httpx.Client],
    registry_person: Callable[..., dict[str, Any]],
    shared_data: Path,
) -> None:
    """Two different people of the shared set whose photos score 0.44, above the 1:1 face
    threshold: the face search shortlists the first for the second, their fingers differ, so the
    second is not held (at 1M templates a face-only rule would hold every applicant)."""
    faces, prints = shared_data / "faces", shared_data / "fingerprints"
    # A gallery of a thousand issued identities besides them (the worker runs in this process):
    # the face-alone cut for that size is 0.50, so only fingerprints could hold the second.
    rng = np.random.default_rng(11)
    strangers = rng.standard_normal((1000, 128)).astype(np.float32)
    strangers /= np.linalg.norm(strangers, axis=1, keepdims=True)
    ports.matcher.index_faces(
        [str(uuid.uuid4()) for _ in strangers], [serialize_face_template(v) for v in strangers]
    )
    officer = make_officer("officer")
    first = registry_person(number="P30000003", name="NGUYEN AN", nationality="USA")
    second = registry_person(number="P40000004", name="TRAN BINH", nationality="GBR")
    a = _enrol(
        officer,
        first,
        faces / "df04_deepface_img33.jpg",
        {2: prints / "pyfnprint_011_1.png", 7: prints / "pyfnprint_012_1.png"},
    )
    assert a["status"] == "verified", a["checks"]
    b = _enrol(
        officer,
        second,
        faces / "df05_deepface_img35.jpg",
        {2: prints / "pyfnprint_013_1.png", 7: prints / "pyfnprint_014_1.png"},
    )
    assert b["status"] == "verified", b["checks"]
    dup = next(c for c in b["checks"] if c["name"] == "duplicates_1toN")
    assert dup["outcome"] == "pass"
    with committed.connect() as conn:  # what was weighed is kept for audit, not shown at the desk
        details = conn.execute(
            text(
                "SELECT details FROM application_checks"
                " WHERE application_id = :id AND name = 'duplicates_1toN'"
            ),
            {"id": b["id"]},
        ).scalar_one()
    assert details["best_candidate_face_score"] > 0.363  # shortlisted, then cleared
    assert details["fingers_compared"] == [2, 7]
    assert details["face_alone_threshold"] == 0.50


def test_second_identity_is_held_and_supervisor_sees_both(
    make_officer: Callable[..., httpx.Client],
    registry_person: Callable[..., dict[str, Any]],
    shared_data: Path,
) -> None:
    faces, prints = shared_data / "faces", shared_data / "fingerprints"
    officer = make_officer("officer")
    supervisor = make_officer("supervisor")
    first = registry_person(number="P10000001", name="SMITH JOHN", nationality="USA")
    second = registry_person(number="P20000002", name="JONES DAVID", nationality="GBR")
    fingers_a = {2: prints / "pyfnprint_007_1.png", 7: prints / "pyfnprint_008_1.png"}
    fingers_b = {2: prints / "pyfnprint_007_3.png", 7: prints / "pyfnprint_008_3.png"}
    a = _enrol(officer, first, faces / "df05_deepface_img34.jpg", fingers_a)
    assert a["status"] == "verified", a["checks"]
    # The same person comes back with another passport: same face, same fingers.
    b = _enrol(officer, second, faces / "df05_deepface_img35.jpg", fingers_b)
    assert b["status"] == "in_review"
    dup = next(c for c in b["checks"] if c["name"] == "duplicates_1toN")
    assert dup["outcome"] == "review" and "second identity" in dup["reason"]

    r = officer.get("/api/v1/reviews")
    assert r.status_code == 403, "an officer cannot decide reviews"
    reviews = supervisor.get("/api/v1/reviews").json()
    review = next(x for x in reviews if x["application"]["id"] == b["id"])
    assert review["candidate"]["id"] == a["id"]
    assert review["application"]["passport_number"] == "P20000002"
    assert review["candidate"]["passport_number"] == "P10000001"

    # Both portraits, side by side: the held one and the candidate's, never cached.
    portraits = {
        side: supervisor.get(f"/api/v1/reviews/{review['id']}/portraits/{side}")
        for side in ("application", "candidate")
    }
    for side, sent in (
        ("application", "df05_deepface_img35.jpg"),
        ("candidate", "df05_deepface_img34.jpg"),
    ):
        assert portraits[side].status_code == 200
        assert portraits[side].headers["content-type"] == "image/jpeg"
        assert portraits[side].headers["cache-control"] == "no-store"
        assert portraits[side].content == (faces / sent).read_bytes()
    elsewhere = make_officer("supervisor", office="HCM-01")
    r = elsewhere.get(f"/api/v1/reviews/{review['id']}/portraits/candidate")
    assert (r.status_code, r.json()["error"]["code"]) == (404, "REVIEW_NOT_FOUND")
    assert officer.get(f"/api/v1/reviews/{review['id']}/portraits/candidate").status_code == 403
    assert supervisor.get(f"/api/v1/reviews/{review['id']}/portraits/other").status_code == 422

    r = supervisor.post(
        f"/api/v1/reviews/{review['id']}/decision",
        json={"decision": "reject", "note": "same person as an earlier application"},
    )
    assert r.status_code == 200, r.text
    assert officer.get(f"/api/v1/applications/{b['id']}").json()["status"] == "rejected"
    again = supervisor.post(
        f"/api/v1/reviews/{review['id']}/decision",
        json={"decision": "approve", "note": "changed my mind"},
    )
    assert (again.status_code, again.json()["error"]["code"]) == (409, "REVIEW_DECIDED")

    auditor = make_officer("auditor")
    trail = auditor.get("/api/v1/audit", params={"subject_id": b["id"]}).json()
    actions = [e["action"] for e in trail]
    assert "application.rejected" in actions and "application.in_review" in actions
    assert "application.read" in actions
    candidate_trail = auditor.get("/api/v1/audit", params={"subject_id": a["id"]}).json()
    assert "capture.read" in [e["action"] for e in candidate_trail]  # the portrait was seen
    assert officer.get("/api/v1/audit").status_code == 403


def test_face_not_matching_the_file_goes_to_review_and_can_be_approved(
    make_officer: Callable[..., httpx.Client],
    registry_person: Callable[..., dict[str, Any]],
    shared_data: Path,
    peers: Peers,
) -> None:
    faces = shared_data / "faces"
    officer = make_officer("officer")
    supervisor = make_officer("supervisor")
    held = enrol_face_unlike_file(
        officer, registry_person, shared_data, "S30000003", "SANTOS MARIA"
    )
    assert held["status"] == "in_review"
    face = next(c for c in held["checks"] if c["name"] == "face_1to1")
    assert face["outcome"] == "review" and face["score"] < face["threshold"]
    fingers = next(c for c in held["checks"] if c["name"] == "fingerprints_1to1")
    assert fingers["outcome"] == "pass"
    review = next(
        x for x in supervisor.get("/api/v1/reviews").json() if x["application"]["id"] == held["id"]
    )
    assert "face_1to1" in review["reasons"] and review["candidate"] is None
    # The supervisor compares the live capture with the photo the immigration database holds.
    on_file = supervisor.get(f"/api/v1/reviews/{review['id']}/portraits/registry")
    assert on_file.status_code == 200 and on_file.headers["cache-control"] == "no-store"
    assert on_file.content == (faces / "df06_deepface_img39.jpg").read_bytes()
    live = supervisor.get(f"/api/v1/reviews/{review['id']}/portraits/application")
    assert live.content == (faces / "df04_deepface_img29.jpg").read_bytes()
    none = supervisor.get(f"/api/v1/reviews/{review['id']}/portraits/candidate")
    assert (none.status_code, none.json()["error"]["code"]) == (404, "NO_CANDIDATE")
    r = supervisor.post(
        f"/api/v1/reviews/{review['id']}/decision",
        json={"decision": "approve", "note": "old photo on file; passport checked"},
    )
    assert r.status_code == 200
    assert officer.get(f"/api/v1/applications/{held['id']}").json()["status"] == "verified"
    verify_phone(officer, held["id"], peers[1])
    r = officer.post(f"/api/v1/applications/{held['id']}/consent", json=CONSENT)
    assert r.status_code == 200, r.text


def test_two_simultaneous_enrolments_of_one_person_do_not_miss_each_other(
    make_officer: Callable[..., httpx.Client],
    registry_person: Callable[..., dict[str, Any]],
    shared_data: Path,
    worker_thread: WorkerThread,
) -> None:
    import threading

    from eid.core.jobs import Worker

    faces, prints = shared_data / "faces", shared_data / "fingerprints"
    officer_a = make_officer("officer", office="HN-01")
    officer_b = make_officer("officer", office="HCM-01")
    first = registry_person(number="Q80000008", name="KUZNETSOV IVAN", nationality="RUS")
    second = registry_person(number="Q90000009", name="SMIRNOV IVAN", nationality="RUS")
    ids = []
    worker_thread.pause()  # both verification jobs wait for the two workers below
    try:
        for officer, person, photo, impression in (
            (officer_a, first, "fr_alex_lacamoire_facerec_img1.jpg", 1),
            (officer_b, second, "fr_alex_lacamoire_facerec_alex_lacamoire1.jpg", 4),
        ):
            app_id = officer.post("/api/v1/applications", json=tk01(person)).json()["id"]
            officer.put(
                f"/api/v1/applications/{app_id}/portrait", content=(faces / photo).read_bytes()
            )
            for pos, finger in ((2, "pyfnprint_015"), (7, "pyfnprint_016")):
                officer.put(
                    f"/api/v1/applications/{app_id}/fingerprints/{pos}",
                    content=(prints / f"{finger}_{impression}.png").read_bytes(),
                )
            r = officer.post(f"/api/v1/applications/{app_id}/verification", params={"wait": 0})
            assert r.status_code == 202, r.text
            ids.append((officer, app_id))
        threads = [
            threading.Thread(target=Worker(context=worker_thread.worker.context).run_once)
            for _ in range(2)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    finally:
        worker_thread.resume()
    statuses = sorted(o.get(f"/api/v1/applications/{a}").json()["status"] for o, a in ids)
    assert statuses == ["in_review", "verified"], statuses
