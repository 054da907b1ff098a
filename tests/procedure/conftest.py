"""Fixtures for the procedure over HTTP: officers, registry people, the TK01 form. The live
server, the worker and the SMTP and SMS peers are the harness's (tests/conftest.py)."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine

from eid.core import clock
from eid.core.audit import Actor
from eid.core.database import unit_of_work
from tests.support import SmsPeer, WorkerThread, wait_until

ADMIN = Actor.system("tests")


@pytest.fixture(autouse=True)
def _jobs_run(worker_thread: WorkerThread) -> None:
    """The procedure runs its jobs as `eid serve` does: the worker with the server's ports."""


PASSWORD = "correct-horse-battery-9!"


def new_officer(role: str, office: str = "HN-01") -> tuple[str, str]:
    """A new officer of `role`: (username, current TOTP code)."""
    from eid.staff.service import create_officer, current_totp

    name = f"{role}.{office}.{os.urandom(3).hex()}".lower()
    with unit_of_work() as session:
        made = create_officer(
            session, username=name, password=PASSWORD, office=office, role=role, actor=ADMIN
        )
    return name, current_totp(made.totp_secret)


@pytest.fixture
def make_officer(committed: Engine, live: str) -> Callable[..., httpx.Client]:
    def make(role: str = "officer", office: str = "HN-01") -> httpx.Client:
        name, code = new_officer(role, office)
        client = httpx.Client(base_url=live, timeout=60)
        r = client.post(
            "/api/v1/officer/sessions",
            json={"username": name, "password": PASSWORD, "totp": code},
        )
        assert r.status_code == 201, r.text
        client.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        return client

    return make


@pytest.fixture
def sign_in_page(committed: Engine, live: str, page: Any) -> Callable[[str, str], Any]:
    """Signs a new officer of `role` in on the page at `path`, as a person would (password and
    current TOTP code in the form), and returns the page."""

    def sign_in(path: str, role: str) -> Any:
        name, code = new_officer(role)
        page.goto(f"{live}{path}")
        page.fill("#login [name=username]", name)
        page.fill("#login [name=password]", PASSWORD)
        page.fill("#login [name=totp]", code)
        page.click("#login button")
        return page

    return sign_in


@pytest.fixture
def registry_person(committed: Engine) -> Callable[..., dict[str, Any]]:
    from eid.registry.schemas import PersonIn
    from eid.registry.service import add_person

    def add(
        *,
        number: str,
        age: int = 35,
        card_days: int = 400,
        portrait: Path | None = None,
        fingers: dict[int, Path] | None = None,
        name: str = "KIM MIN JUN",
        nationality: str = "KOR",
        documents: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        today = clock.today_vn()
        person = {
            "full_name": name,
            "date_of_birth": (today - dt.timedelta(days=int(age * 365.25) + 20)).isoformat(),
            "sex": "M",
            "nationality": nationality,
            "passport": {
                "number": number,
                "type": "P",
                "issuing_state": nationality,
                "issue_date": (today - dt.timedelta(days=700)).isoformat(),
                "expiry_date": (today + dt.timedelta(days=2000)).isoformat(),
            },
            "residence_card": {
                "number": "TT" + number[-7:],
                "kind": "TRC",
                "expiry_date": (today + dt.timedelta(days=card_days)).isoformat(),
            },
            "documents": documents or {},
        }
        with unit_of_work() as session:
            add_person(
                session,
                PersonIn.model_validate(person),
                actor=ADMIN,
                portrait=portrait.read_bytes() if portrait else None,
                fingerprints={p: f.read_bytes() for p, f in (fingers or {}).items()},
            )
        return person

    return add


def tk01(person: dict[str, Any], **changes: Any) -> dict[str, Any]:
    form = {
        k: person[k]
        for k in ("full_name", "date_of_birth", "sex", "nationality", "passport", "residence_card")
    }
    form |= {
        "address": "12 Trang Tien, Hoan Kiem, Ha Noi",
        "phone": "+84912345678",
        "email": "holder@example.test",
        "language": "vi",
        "integrations": {"tax_code": "8012345678"},
    }
    form.update(changes)
    return form


def verify_phone(client: httpx.Client, app_id: str, sms: SmsPeer) -> None:
    """As at the counter: a code goes to the phone by SMS, the applicant reads it out."""
    import re

    seen = len(sms.messages)
    r = client.post(f"/api/v1/applications/{app_id}/phone-verification")
    assert r.status_code == 200, r.text
    message = sms.inbox.wait_for(
        lambda m: "code" in m["text"].lower() or "mã" in m["text"].lower(), after=seen
    )
    code = re.search(r"\b(\d{6})\b", message["text"])
    assert code is not None
    r = client.post(
        f"/api/v1/applications/{app_id}/phone-verification/confirmation",
        json={"code": code.group(1)},
    )
    assert r.status_code == 200, r.text
    assert r.json()["phone_verified"] is True


def status_in(client: httpx.Client, app_id: str, *wanted: str) -> dict[str, Any]:
    """The application once its status is one of `wanted` (the worker moves it; nothing
    signals that over HTTP, so this polls with a deadline)."""

    def poll() -> dict[str, Any] | None:
        body: dict[str, Any] = client.get(f"/api/v1/applications/{app_id}").json()
        return body if body["status"] in wanted else None

    found: dict[str, Any] = wait_until(poll)
    return found
