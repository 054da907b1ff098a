"""Job payloads carry ids or sealed data only: the jobs table never holds an applicant in clear."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from eid.core.database import unit_of_work
from eid.core.jobs import Job
from tests.procedure.conftest import tk01, verify_phone
from tests.support import Peers, wait_until


def test_no_job_payload_holds_personal_data_in_clear(
    make_officer: Callable[..., httpx.Client],
    registry_person: Callable[..., dict[str, Any]],
    shared_data: Path,
    peers: Peers,
) -> None:
    faces, prints = shared_data / "faces", shared_data / "fingerprints"
    person = registry_person(number="P24681357", name="SATO HANAKO", nationality="JPN")
    form = tk01(person)
    officer = make_officer("officer")
    app_id = officer.post("/api/v1/applications", json=form).json()["id"]
    # A face and fingers no other test enrols, so the duplicate check passes.
    captures = [("portrait", faces / "fr_rose_leslie_facerec_img1.jpg")] + [
        (f"fingerprints/{pos}", prints / name)
        for pos, name in ((2, "fvc2002db1b_101_1.png"), (7, "fvc2002db1b_102_1.png"))
    ]
    for where, image in captures:
        answer = officer.put(f"/api/v1/applications/{app_id}/{where}", content=image.read_bytes())
        assert answer.json()["acceptable"], answer.text
    answer = officer.post(f"/api/v1/applications/{app_id}/verification")
    assert answer.status_code in (200, 202), answer.text
    checked = wait_until(
        lambda: (
            body
            if (body := officer.get(f"/api/v1/applications/{app_id}").json())["status"]
            in ("verified", "in_review", "rejected")
            else None
        )
    )
    assert checked["status"] == "verified", checked
    verify_phone(officer, app_id, peers[1])
    officer.post(
        f"/api/v1/applications/{app_id}/consent",
        json={"by": "applicant", "text_version": "2025-07-v1", "language": "vi"},
    )
    assert officer.post(f"/api/v1/applications/{app_id}/submission").status_code == 200
    wait_until(lambda: officer.get(f"/api/v1/applications/{app_id}").json()["status"] == "issued")

    with unit_of_work() as session:
        payloads = [
            (job.task, json.dumps(job.payload)) for job in session.execute(select(Job)).scalars()
        ]
    tasks = {task for task, _ in payloads}
    assert {"verification.run", "authority.account_request", "notify.deliver"} <= tasks
    in_clear = [
        form["full_name"],
        form["date_of_birth"],
        form["passport"]["number"],
        form["residence_card"]["number"],
        form["phone"],
        form["email"],
        form["address"],
    ]
    for task, payload in payloads:
        found = [value for value in in_clear if value in payload]
        assert not found, f"{task} carries {found} in clear"
    (request,) = [json.loads(p) for t, p in payloads if t == "authority.account_request"]
    assert request["request_id"] == f"app:{app_id}"
