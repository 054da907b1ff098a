"""The campaign dashboard: counts per scope, no personal data, and the page that shows them."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx

from tests.procedure.conftest import tk01


def test_campaign_stats_are_scoped_and_hold_no_personal_data(
    make_officer: Callable[..., httpx.Client],
    registry_person: Callable[..., dict[str, Any]],
    live: str,
) -> None:
    officer = make_officer("officer", office="HP-01")
    person = registry_person(number="V50000005", name="TAN LIM", nationality="MYS")
    assert officer.post("/api/v1/applications", json=tk01(person)).status_code == 201
    assert officer.get("/api/v1/campaign/stats").status_code == 403

    local = make_officer("supervisor", office="HP-01").get("/api/v1/campaign/stats").json()
    assert local["scope"] == "HP-01" and local["by_status"] == {"draft": 1}
    elsewhere = make_officer("supervisor", office="CT-01").get("/api/v1/campaign/stats").json()
    assert elsewhere["by_status"] == {}
    national = make_officer("auditor").get("/api/v1/campaign/stats").json()
    assert national["scope"] == "national"
    assert {"office": "HP-01", "applications": 1, "issued": 0} in national["by_office"]
    assert "TAN LIM" not in str(national) and "V50000005" not in str(national)

    page = httpx.get(f"{live}/dashboard")
    script = re.search(r'<script src="(/static/dashboard\.js\?v=\w+)"', page.text)
    assert page.status_code == 200 and script is not None
    assert "/campaign/stats" in httpx.get(f"{live}{script.group(1)}").text
