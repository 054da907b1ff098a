"""The OpenAPI declares every status the server can answer, with the one error shape."""

from __future__ import annotations

from typing import Any

METHODS = ("get", "put", "post", "delete", "patch")


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def test_every_operation_declares_its_error_statuses(api: Any) -> None:
    schema = api.get("/openapi.json").json()
    assert "Error" in schema["components"]["schemas"]
    operations = _operations(schema)
    assert len(operations) > 50
    for path, method, operation in operations:
        responses = operation["responses"]
        where = f"{method.upper()} {path}"
        assert "422" in responses, where
        if path not in ("/healthz", "/readyz"):
            assert "503" in responses and "Retry-After" in responses["503"]["headers"], where
        if "{" in path:
            assert "404" in responses, where
        if method != "get":
            assert "409" in responses, where
        if "requestBody" in operation:
            assert "413" in responses, where
        for status, response in responses.items():
            content = response.get("content", {}).get("application/json")
            if status.startswith(("4", "5")) and content and "$ref" in content["schema"]:
                # FastAPI's own 422 shape ({"detail": [...]}) is never what the server sends.
                assert content["schema"]["$ref"] == "#/components/schemas/Error", where


def test_officer_routes_declare_401_and_403(api: Any) -> None:
    paths = api.get("/openapi.json").json()["paths"]
    read = paths["/api/v1/applications/{app_id}"]["get"]["responses"]
    assert {"200", "401", "403", "404", "422", "503"} <= set(read)
    upload = paths["/api/v1/applications/{app_id}/portrait"]["put"]
    assert {"401", "403", "404", "409", "413", "422", "503"} <= set(upload["responses"])
    assert set(upload["requestBody"]["content"]) == {"image/jpeg", "image/png"}
    consent = paths["/api/v1/consent-texts/{version}"]["get"]["responses"]
    assert "401" not in consent and "403" not in consent  # anonymous: no auth statuses


def test_metrics_are_not_in_the_public_openapi(api: Any) -> None:
    assert "/metrics" not in api.get("/openapi.json").json()["paths"]


def test_registration_steps_declare_401_for_their_token(api: Any) -> None:
    """Found by schemathesis: every step of a Level-1 registration answers 401
    REGISTRATION_TOKEN_INVALID without its `X-Registration-Token`, a status none declared."""
    paths = api.get("/openapi.json").json()["paths"]
    steps = [
        (path, operation)
        for path, item in paths.items()
        if path.startswith("/api/v1/registrations/{reg_id}")
        for operation in item.values()
    ]
    assert len(steps) == 7
    for path, operation in steps:
        assert "401" in operation["responses"], path
    created = paths["/api/v1/registrations"]["post"]["responses"]
    assert "401" not in created  # anonymous: no token yet
