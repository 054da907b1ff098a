"""Signed request objects (RFC 9101, JAR) for clients registered with keys (issue 11, item 1):
one test per requirement, named after the clause."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey

from tests.identity.fapi_fixtures import (
    FapiClient,
    browser,
    callback_params,
    new_key,
    register_fapi,
    through_login_and_consent,
)
from tests.identity.oidc_fixtures import REDIRECT, holder, register

pytestmark = pytest.mark.usefixtures("server")


def _object(
    rp: FapiClient,
    params: dict[str, str],
    *,
    key: ECKey | OctKey | None = None,
    alg: str = "ES256",
    **claims: Any,
) -> str:
    now = int(time.time())
    body: dict[str, Any] = {
        **params,
        "iss": rp.client_id,
        "aud": rp.server,
        "iat": now,
        "nbf": now,
        "exp": now + 60,
        "jti": f"ro-{now}-{id(params)}",
        **claims,
    }
    body = {k: v for k, v in body.items() if v is not None}
    signer = key or rp.key
    header = {"alg": alg, "typ": "oauth-authz-req+jwt", "kid": rp.key.kid}
    return jwt.encode(header, body, signer, algorithms=[alg])


def _basic_with_keys(server: str) -> FapiClient:
    """A basic-profile client that registered keys: request objects straight to the
    authorization endpoint (no PAR needed)."""
    return register_fapi(server, profile="basic")


def _outer(rp: FapiClient, request: str, **extra: str) -> str:
    return "/oauth2/authorize?" + urlencode(
        {"client_id": rp.client_id, "request": request, **extra}
    )


def test_rfc9101_s10_1_discovery_advertises_request_objects(server: str) -> None:
    meta = httpx.get(f"{server}/.well-known/openid-configuration").json()
    assert meta["request_parameter_supported"] is True
    assert meta["request_object_signing_alg_values_supported"] == ["ES256", "PS256"]
    assert meta["request_uri_parameter_supported"] is False  # only PAR's urn


def test_rfc9101_s6_3_request_object_overrides_params(server: str) -> None:
    rp = _basic_with_keys(server)
    inner, verifier = rp.authorization_params(state="inner-state")
    url = _outer(
        rp,
        _object(rp, inner),
        response_type="code",
        state="outer-state",
        scope="openid",
        redirect_uri=REDIRECT,
    )
    with browser(server) as b:
        answer = callback_params(through_login_and_consent(b, holder(), url))
    assert answer["state"] == "inner-state" and answer["iss"] == server
    token = httpx.post(
        f"{server}/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": answer["code"],
            "code_verifier": verifier,
            "redirect_uri": REDIRECT,
            **rp.auth(),
        },
    )
    assert token.status_code == 200, token.text
    assert token.json()["scope"] == "openid ekyc_basic"  # the object's scope, not the outer


def test_rfc9101_s5_outer_client_id_must_match_the_object(server: str) -> None:
    rp = _basic_with_keys(server)
    inner, _ = rp.authorization_params(client_id="rp_someone_else")
    url = _outer(rp, _object(rp, inner), redirect_uri=REDIRECT, state="s1")
    with browser(server) as b:
        answer = callback_params(b.get(url))
    assert answer == {
        "error": "invalid_request_object",
        "error_description": "client_id differs from the request object's",
        "state": "s1",
        "iss": server,
    }


@pytest.mark.parametrize(
    ("case", "description"),
    [
        ("alg none", "the request object must be signed with ['ES256', 'PS256']"),
        ("HS256", "the request object must be signed with ['ES256', 'PS256']"),
        ("other key", "the request object's signature does not verify"),
        ("iss", "iss must be the client_id"),
        ("aud", "aud must be the issuer identifier"),
        ("exp past", "exp is missing, past, or more than an hour away"),
        ("exp missing", "exp is missing, past, or more than an hour away"),
        ("exp far", "exp is missing, past, or more than an hour away"),
        ("nbf future", "nbf is in the future"),
    ],
)
def test_rfc9101_s6_2_invalid_request_object_is_refused(
    server: str, case: str, description: str
) -> None:
    rp = _basic_with_keys(server)
    inner, _ = rp.authorization_params()
    now = int(time.time())
    if case == "alg none":
        request = (
            "eyJhbGciOiJub25lIiwidHlwIjoib2F1dGgtYXV0aHpyZXErand0In0."
            + jwt.encode({"alg": "ES256"}, {"a": 1}, rp.key).split(".")[1]
            + "."
        )
    elif case == "HS256":
        request = _object(rp, inner, key=OctKey.generate_key(256), alg="HS256")
    else:
        claims: dict[str, Any] = {
            "other key": {},
            "iss": {"iss": "rp_other"},
            "aud": {"aud": f"{server}/oauth2/token"},
            "exp past": {"exp": now - 5},
            "exp missing": {"exp": None},
            "exp far": {"exp": now + 7200},
            "nbf future": {"nbf": now + 600},
        }[case]
        request = _object(rp, inner, key=new_key() if case == "other key" else None, **claims)
    url = _outer(rp, request, redirect_uri=REDIRECT, state="outer")
    with browser(server) as b:
        answer = callback_params(b.get(url))
    assert answer["error"] == "invalid_request_object", answer
    assert answer["error_description"] == description
    assert answer["state"] == "outer" and answer["iss"] == server


def test_rfc9101_s6_2_invalid_object_without_registered_redirect_is_an_error_page(
    server: str,
) -> None:
    rp = _basic_with_keys(server)
    inner, _ = rp.authorization_params()
    url = _outer(rp, _object(rp, inner, iss="rp_other"))
    with browser(server) as b:
        response = b.get(url)
    assert response.status_code == 400 and "invalid_request_object" in response.text


def test_rfc9101_s6_request_object_pushed_with_par(server: str) -> None:
    """FAPI 2.0 client: the signed request object inside the pushed request (RFC 9126 §3)."""
    rp = register_fapi(server)
    inner, verifier = rp.authorization_params()
    pushed = httpx.post(
        f"{server}/oauth2/par",
        data={"client_id": rp.client_id, "request": _object(rp, inner), **rp.auth()},
        headers={"DPoP": rp.proof("POST", "/oauth2/par")},
    )
    assert pushed.status_code == 201, pushed.text
    with browser(server) as b:
        url = rp.authorize_url(pushed.json()["request_uri"])
        answer = callback_params(through_login_and_consent(b, holder(), url))
    assert answer["state"] == inner["state"]
    assert rp.redeem(answer["code"], verifier).status_code == 200


def test_rfc9101_s6_invalid_request_object_at_par_is_400(server: str) -> None:
    rp = register_fapi(server)
    inner, _ = rp.authorization_params()
    pushed = rp.push({"request": _object(rp, inner, aud="https://elsewhere")})
    assert pushed.status_code == 400
    assert pushed.json() == {
        "error": "invalid_request_object",
        "error_description": "aud must be the issuer identifier",
    }


def test_fapi2_s5_3_2_2_request_object_without_par_is_refused(server: str) -> None:
    rp = register_fapi(server)
    inner, _ = rp.authorization_params()
    with browser(server) as b:
        answer = callback_params(b.get(_outer(rp, _object(rp, inner))))
    assert answer["error"] == "invalid_request"
    assert answer["state"] == inner["state"]


def test_oidc_core_6_1_client_without_keys_keeps_request_not_supported(server: str) -> None:
    basic = register(["openid"])
    rp = FapiClient(server=server, client_id=basic.client_id, key=new_key())
    inner, _ = rp.authorization_params(scope="openid")
    with browser(server) as b:
        answer = callback_params(
            b.get("/oauth2/authorize?" + urlencode({**inner, "request": _object(rp, inner)}))
        )
    assert answer["error"] == "request_not_supported" and answer["iss"] == server
    pushed = httpx.post(
        f"{server}/oauth2/par",
        data={"client_id": basic.client_id, "request": _object(rp, inner)},
        auth=(basic.client_id, basic.client_secret),
    )
    assert pushed.status_code == 400 and pushed.json()["error"] == "request_not_supported"
