"""Input limits: credentials before bytes, bodies bounded while read, invalid text refused."""

from __future__ import annotations

import json
import re
import select
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from eid.core.limits import IMAGE_BODY_LIMIT, JSON_BODY_LIMIT
from tests.core.conftest import tk01_form

PNG = b"\x89PNG\r\n\x1a\n"


class CountingBody:
    """A request body that records how many of its bytes the server pulled."""

    def __init__(self, total: int, chunk: int = 64 * 1024) -> None:
        self.total, self.chunk, self.consumed = total, chunk, 0

    def __iter__(self) -> Iterator[bytes]:
        while self.consumed < self.total:
            piece = PNG if self.consumed == 0 else b"\0" * self.chunk
            self.consumed += len(piece)
            yield piece


def _app_id(api: Any, headers: dict[str, str]) -> str:
    r = api.post("/api/v1/applications", json=tk01_form(), headers=headers)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


@pytest.mark.parametrize(
    "credential",
    [{}, {"Authorization": "Bearer not-a-token"}, {"Cookie": "eid_officer=forged"}],
    ids=["none", "invalid-bearer", "forged-cookie"],
)
def test_an_upload_without_a_valid_credential_is_refused_before_its_body_is_read(
    api: Any, officer_headers: dict[str, str], credential: dict[str, str]
) -> None:
    app_id = _app_id(api, officer_headers)
    body = CountingBody(200 * 1024 * 1024)
    r = api.put(
        f"/api/v1/applications/{app_id}/portrait",
        content=body,
        headers={"Content-Type": "image/png", **credential},
    )
    # A cookie without its page's CSRF token is refused before the session is even looked up.
    expected = (403, "CSRF_TOKEN_INVALID") if "Cookie" in credential else (401, "INVALID_TOKEN")
    assert (r.status_code, r.json()["error"]["code"]) == expected
    assert body.consumed == 0


def test_a_json_body_without_credentials_is_not_read(api: Any) -> None:
    body = CountingBody(32 * 1024)
    r = api.post("/api/v1/applications", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "INVALID_TOKEN"
    assert body.consumed == 0


def test_an_over_long_content_length_is_refused_at_once(
    api: Any, officer_headers: dict[str, str]
) -> None:
    app_id = _app_id(api, officer_headers)
    body = CountingBody(IMAGE_BODY_LIMIT + 1024 * 1024)
    r = api.put(
        f"/api/v1/applications/{app_id}/portrait",
        content=body,
        headers={
            **officer_headers,
            "Content-Type": "image/png",
            "Content-Length": str(body.total),
        },
    )
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "BODY_TOO_LARGE"
    assert body.consumed == 0


def test_a_streamed_body_is_cut_off_at_the_routes_limit(
    api: Any, officer_headers: dict[str, str]
) -> None:
    """Chunked (no Content-Length): the server counts what it reads and answers 413 while the
    client is still sending, long before 50 MiB are through."""
    from eid.app import create_app
    from tests.support import LiveServer

    app_id = _app_id(api, officer_headers)
    with (
        LiveServer(create_app()) as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=5) as conn,
    ):
        head = (
            f"PUT /api/v1/applications/{app_id}/fingerprints/2 HTTP/1.1\r\n"
            f"Host: 127.0.0.1\r\nAuthorization: {officer_headers['Authorization']}\r\n"
            "Content-Type: image/png\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        conn.sendall(head.encode())
        chunk = b"\0" * (64 * 1024)
        sent = 0
        try:
            while sent < 50 * 1024 * 1024:
                conn.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
                if select.select([conn], [], [], 0)[0]:
                    break
        except (TimeoutError, ConnectionError):
            pass  # the server stopped reading: what it sent back says why
        answer = _read_response(conn)
    assert answer.startswith("HTTP/1.1 413"), answer[:200]
    assert "BODY_TOO_LARGE" in answer
    assert sent < 20 * 1024 * 1024


def _read_response(conn: socket.socket) -> str:
    data = b""
    while b"\r\n\r\n" not in data or len(data.partition(b"\r\n\r\n")[2]) < int(
        re.search(rb"content-length: (\d+)", data.lower()).group(1)  # type: ignore[union-attr]
        if b"content-length" in data.lower()
        else 0
    ):
        piece = conn.recv(65536)
        if not piece:
            break
        data += piece
    return data.decode("latin-1")


def test_json_routes_take_64_kib(api: Any, officer_headers: dict[str, str]) -> None:
    form = tk01_form(address="x" * (JSON_BODY_LIMIT + 10))
    r = api.post("/api/v1/applications", json=form, headers=officer_headers)
    assert r.status_code == 413 and r.json()["error"]["code"] == "BODY_TOO_LARGE"
    assert r.json()["error"]["details"]["limit"] == JSON_BODY_LIMIT


def test_an_ordinary_upload_still_goes_through(api: Any, officer_headers: dict[str, str]) -> None:
    app_id = _app_id(api, officer_headers)
    r = api.put(
        f"/api/v1/applications/{app_id}/portrait",
        content=PNG + b"not really an image",
        headers={**officer_headers, "Content-Type": "image/png"},
    )
    # The body reached the service, which judged the image (not the edge).
    assert r.status_code == 422
    assert r.json()["error"]["code"] not in ("BODY_TOO_LARGE", "INVALID_TOKEN")


@pytest.mark.parametrize(
    "name",
    ["PARK\u0000JI-HOON", "PARK \ud800", "PARK\u0007JI", "PARK\u001bJI"],
    ids=["nul", "lone-surrogate", "bell", "escape"],
)
def test_invalid_text_in_a_body_is_a_422_with_a_code(
    api: Any, officer_headers: dict[str, str], name: str
) -> None:
    body = json.dumps(tk01_form(full_name=name)).encode()  # ensure_ascii: \u escapes
    r = api.post(
        "/api/v1/applications",
        content=body,
        headers={**officer_headers, "Content-Type": "application/json"},
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "INVALID_TEXT"


def test_invalid_text_on_an_anonymous_route_is_refused(api: Any) -> None:
    r = api.post(
        "/api/v1/officer/sessions",
        json={"username": "a\u0000b", "password": "x", "totp": "123456"},
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "INVALID_TEXT"


def test_invalid_utf8_is_invalid_text_not_a_400(api: Any) -> None:
    r = api.post(
        "/api/v1/officer/sessions",
        content=b'{"username": "\xff", "password": "x", "totp": "1"}',
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "INVALID_TEXT"


def test_invalid_text_in_query_and_path(api: Any) -> None:
    r = api.get("/api/v1/consent-texts/2025-07-v1?language=v%00i")
    assert r.status_code == 422 and r.json()["error"]["code"] == "INVALID_TEXT"
    r = api.get("/api/v1/consent-texts/2025%00-07?language=vi")
    assert r.status_code == 422 and r.json()["error"]["code"] == "INVALID_TEXT"
    r = api.get("/api/v1/consent-texts/2025-07-v1?language=%ff")
    assert r.status_code == 422 and r.json()["error"]["code"] == "INVALID_TEXT"
    r = api.get("/api/v1/consent-texts/2025-07-v1?language=en")
    assert r.status_code == 200


def test_tabs_and_newlines_are_text(api: Any, officer_headers: dict[str, str]) -> None:
    r = api.post(
        "/api/v1/applications",
        json=tk01_form(address="12 Trang Tien\nHoan Kiem\tHa Noi"),
        headers=officer_headers,
    )
    assert r.status_code == 201, r.text


def test_integrations_are_bounded(api: Any, officer_headers: dict[str, str]) -> None:
    cases = [
        {f"card_{i}": "x" for i in range(40)},  # keys
        {"a": {"b": {"c": {"d": "deep"}}}},  # depth
        {"note": "x" * 5000},  # bytes
    ]
    for integrations in cases:
        r = api.post(
            "/api/v1/applications",
            json=tk01_form(integrations=integrations),
            headers=officer_headers,
        )
        assert r.status_code == 422, r.text
        fields = [e["field"] for e in r.json()["error"]["details"]["errors"]]
        assert fields == ["integrations"]
    r = api.post(
        "/api/v1/applications",
        json=tk01_form(integrations={"driving_licence": "790123456789", "tax_code": "8012345678"}),
        headers=officer_headers,
    )
    assert r.status_code == 201, r.text


def test_an_upload_without_a_content_type_is_not_read_as_text(
    api: Any, officer_headers: dict[str, str]
) -> None:
    app_id = _app_id(api, officer_headers)
    r = api.put(
        f"/api/v1/applications/{app_id}/portrait",
        content=PNG + b"\xff\xfe\x00 binary",
        headers={**officer_headers, "Content-Type": ""},
    )
    assert r.json()["error"]["code"] != "INVALID_TEXT"


MULTIPART_WITHOUT_BOUNDARY = {"Content-Type": "multipart/form-data"}


def test_a_malformed_form_upload_is_a_missing_image_not_a_400(
    api: Any, officer_headers: dict[str, str]
) -> None:
    """Found by fuzzing: a multipart body without a boundary was Starlette's plain 400
    (`HTTP_ERROR`), a status the upload routes do not declare."""
    app_id = _app_id(api, officer_headers)
    for headers in (
        MULTIPART_WITHOUT_BOUNDARY,
        {"Content-Type": "multipart/form-data; boundary=x"},
    ):
        r = api.put(
            f"/api/v1/applications/{app_id}/portrait",
            content=b"--x\r\n",
            headers={**officer_headers, **headers},
        )
        assert (r.status_code, r.json()["error"]["code"]) == (422, "IMAGE_MISSING"), r.text


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/identity/sessions",
        "/api/v1/identity/activation",
        "/api/v1/identity/passkeys/options",
    ],
)
def test_a_malformed_form_on_a_throttled_json_route_is_its_422(api: Any, path: str) -> None:
    """Found by fuzzing: the throttle reads its key field from the body; a multipart body
    without a boundary escaped it as an undeclared 400 instead of the route's own 422."""
    r = api.post(path, content=b"--x\r\n", headers=MULTIPART_WITHOUT_BOUNDARY)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "INVALID_REQUEST"
