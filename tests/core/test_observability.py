"""Operations: JSON request logs with a request id and nothing personal; Prometheus metrics."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from eid.core.observability import JsonFormatter
from tests.core.conftest import tk01_form


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_request_logs_are_json_with_a_request_id_and_no_personal_data(
    api: Any, officer_headers: dict[str, str], log_lines: io.StringIO
) -> None:
    form = tk01_form()
    r = api.post(
        "/api/v1/applications?lang=vi",
        json=form,
        headers={**officer_headers, "X-Request-ID": "counter-7-request-0001"},
    )
    assert r.status_code == 201, r.text
    assert r.headers["x-request-id"] == "counter-7-request-0001"
    app_id = r.json()["id"]
    r = api.get(f"/api/v1/applications/{app_id}", headers=officer_headers)
    assert r.status_code == 200
    generated = r.headers["x-request-id"]
    assert len(generated) == 32  # none was sent: one is made

    # Everything the server logged (the test's own HTTP client logs under "httpx").
    lines = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    lines = [line for line in lines if line["logger"] != "httpx"]
    text = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines)
    requests = [line for line in lines if line.get("event") == "request"]
    assert [(x["method"], x["route"], x["status"]) for x in requests] == [
        ("POST", "/api/v1/applications", 201),
        ("GET", "/api/v1/applications/{app_id}", 200),
    ]
    assert requests[0]["request_id"] == "counter-7-request-0001"
    assert requests[1]["request_id"] == generated
    assert all(isinstance(x["duration_ms"], float) for x in requests)
    personal = [
        form["full_name"],
        "PARK",
        form["passport"]["number"],
        form["residence_card"]["number"],
        form["phone"],
        form["phone"][3:],
        form["email"],
        "Trang Tien",
        form["date_of_birth"],
        app_id,  # the raw path is never logged, only its template
    ]
    for value in personal:
        assert value not in text, (value, text)


def test_a_malformed_request_id_is_replaced(api: Any) -> None:
    r = api.get("/healthz", headers={"X-Request-ID": "bad id\twith junk"})
    assert r.headers["x-request-id"] != "bad id\twith junk"
    assert len(r.headers["x-request-id"]) == 32


def test_metrics_show_routes_by_template_the_queue_and_outcomes(
    api: Any, officer_headers: dict[str, str]
) -> None:
    r = api.post("/api/v1/applications", json=tk01_form(), headers=officer_headers)
    app_id = r.json()["id"]
    api.get(f"/api/v1/applications/{app_id}", headers=officer_headers)
    r = api.get("/metrics")  # the test client counts as local
    assert r.status_code == 200
    body = r.text
    assert (
        'eid_http_request_duration_seconds_count{method="GET",'
        'route="/api/v1/applications/{app_id}",status="2xx"} 1.0'
    ) in body
    assert app_id not in body
    assert "eid_http_requests_in_flight" in body
    assert "eid_http_requests_shed_total 0.0" in body
    assert "eid_metrics_database_up 1.0" in body
    assert "eid_jobs_oldest_queued_age_seconds" in body
    assert 'eid_applications{status="draft"} 1.0' in body
    # Deliveries and check outcomes are families too; they have samples once rows exist.
    assert "# TYPE eid_jobs gauge" in body


def test_metrics_from_elsewhere_need_the_token_in_production(
    api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from eid.core.observability import _may_scrape
    from eid.core.settings import Settings

    class Remote:
        def __init__(self, headers: dict[str, str], host: str = "203.0.113.9") -> None:
            self.headers = headers
            self.client = type("C", (), {"host": host})()

    production = Settings.model_construct(env="production", metrics_token="s3cret-scrape")
    assert not _may_scrape(Remote({}), production)  # type: ignore[arg-type]
    assert not _may_scrape(Remote({"authorization": "Bearer wrong"}), production)  # type: ignore[arg-type]
    assert _may_scrape(Remote({"authorization": "Bearer s3cret-scrape"}), production)  # type: ignore[arg-type]
    assert _may_scrape(Remote({}, host="127.0.0.1"), production)  # type: ignore[arg-type]
    proxied = Remote({"x-forwarded-for": "203.0.113.9"}, host="127.0.0.1")
    assert not _may_scrape(proxied, production)  # type: ignore[arg-type]
    no_token = Settings.model_construct(env="production", metrics_token=None)
    assert not _may_scrape(Remote({}), no_token)  # type: ignore[arg-type]


def test_one_process_keeps_its_series_in_memory(api: Any) -> None:
    """No PROMETHEUS_MULTIPROC_DIR (only `eid serve --workers N` sets one): no files, the edge
    series come from the process's own collector."""
    import os

    from prometheus_client import values

    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ
    assert values.ValueClass is values.MutexValue
    assert api.get("/metrics").text.count("# TYPE eid_http_requests_in_flight gauge") == 1


def test_shared_edge_metrics_follow_the_admission() -> None:
    """With several processes the admission's counts are copied at every change: in flight and
    waiting as they are, the shed counter by what was added."""
    import anyio

    from eid.core.backpressure import Admission
    from eid.core.observability import SharedEdgeMetrics

    admission = Admission(in_flight=1, waiting=1, wait_seconds=0.05)
    shared = SharedEdgeMetrics(admission)

    def value(metric: Any) -> float:
        return float(metric.collect()[0].samples[0].value)

    async def scenario() -> None:
        async with admission.slot() as first:
            assert first and value(shared.in_flight) == 1
            async with anyio.create_task_group() as tg:

                async def wait_then_shed() -> None:
                    async with admission.slot() as second:
                        assert not second  # waited its 50 ms, then shed

                tg.start_soon(wait_then_shed)
                await anyio.sleep(0.01)
                assert value(shared.waiting) == 1
            assert value(shared.waiting) == 0
            async with admission.slot() as third:
                assert not third  # the slot is still taken: it waits too, then is shed
        assert value(shared.in_flight) == 0

    anyio.run(scenario)
    assert value(shared.shed) == 2
    assert admission.shed == 2
