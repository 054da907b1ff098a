from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from eid.core.audit import Actor
from eid.core.database import unit_of_work
from eid.staff import service as staff

PASSWORD = "Correct-horse-42!"


def _token(client: TestClient, role: str) -> dict[str, str]:
    with unit_of_work() as session:
        officer = staff.create_officer(
            session,
            username=f"cal-{role}",
            password=PASSWORD,
            office="HN01",
            role=role,
            actor=Actor.system("test"),
        )
    response = client.post(
        "/api/v1/officer/sessions",
        json={
            "username": officer.username,
            "password": PASSWORD,
            "totp": staff.current_totp(officer.totp_secret),
        },
    )
    assert response.status_code == 201, response.text
    return {"authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
def client(api: TestClient) -> TestClient:
    """The whole app in-process (the harness's `api`), on a database emptied afterwards."""
    return api


def test_admin_edits_overrides_and_the_deadline_follows(client: TestClient) -> None:
    admin, officer, supervisor = (_token(client, r) for r in ("admin", "officer", "supervisor"))
    query = {"submitted_on": "2026-03-09", "biometrics_on_file": "true"}

    before = client.get("/api/v1/calendar/deadline", params=query, headers=officer)
    assert before.status_code == 200
    assert before.json() == {
        "submitted_on": "2026-03-09",
        "biometrics_on_file": True,
        "working_days": 3,
        "legal_deadline": "2026-03-12",
    }

    put = client.put(
        "/api/v1/calendar/overrides/2026-03-10",
        json={"kind": "day_off", "name": "Extra day off", "note": "announcement X"},
        headers=admin,
    )
    assert put.status_code == 200, put.text
    assert put.json()["kind"] == "day_off"
    after = client.get("/api/v1/calendar/deadline", params=query, headers=officer)
    assert after.json()["legal_deadline"] == "2026-03-13"

    listed = client.get("/api/v1/calendar/overrides", params={"year": 2026}, headers=supervisor)
    assert [o["day"] for o in listed.json()] == ["2026-03-10"]

    assert client.delete("/api/v1/calendar/overrides/2026-03-10", headers=admin).status_code == 204
    again = client.delete("/api/v1/calendar/overrides/2026-03-10", headers=admin)
    assert again.status_code == 404
    assert again.json()["error"]["code"] == "OVERRIDE_NOT_FOUND"


def test_roles_are_enforced(client: TestClient) -> None:
    officer = _token(client, "officer")
    put = client.put(
        "/api/v1/calendar/overrides/2026-03-10",
        json={"kind": "day_off", "name": "x"},
        headers=officer,
    )
    assert put.status_code == 403
    assert put.json()["error"]["code"] == "ROLE_NOT_ALLOWED"
    assert client.get("/api/v1/calendar/overrides", headers=officer).status_code == 403
    anonymous = client.get(
        "/api/v1/calendar/deadline",
        params={"submitted_on": "2026-02-13", "biometrics_on_file": "false"},
    )
    assert anonymous.status_code == 401


def test_tet_deadline_over_http(client: TestClient) -> None:
    auditor = _token(client, "auditor")
    response = client.get(
        "/api/v1/calendar/deadline",
        params={"submitted_on": "2026-02-13", "biometrics_on_file": "false"},
        headers=auditor,
    )
    assert response.json()["legal_deadline"] == "2026-03-03"


def test_bad_kind_is_a_validation_error(client: TestClient) -> None:
    admin = _token(client, "admin")
    response = client.put(
        "/api/v1/calendar/overrides/2026-03-10",
        json={"kind": "half_day", "name": "x"},
        headers=admin,
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "INVALID_REQUEST"
