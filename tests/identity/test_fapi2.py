"""FAPI 2.0 Security Profile for clients registered with it (issue 11, item 2), one test per
requirement, named after the clause: registration with keys, PAR (RFC 9126), private_key_jwt
(RFC 7523, OpenID Connect Core §9), DPoP (RFC 9449), and FAPI 2.0's own rules (§5.3.2)."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, OctKey, OKPKey
from sqlalchemy import select, update
from typer.testing import CliRunner

from eid.cli import app as cli
from eid.core.database import unit_of_work
from eid.core.errors import ValidationFailed
from eid.identity import client_keys
from eid.identity.clients import create_client
from eid.identity.models import AuthorizationCode, PushedRequest
from eid.identity.oauth_server import FAPI_CODE_TTL
from eid.identity.service import ACR_LEVEL2
from tests.identity.fapi_fixtures import (
    FapiClient,
    browser,
    callback_params,
    new_key,
    new_rsa_key,
    public_jwks,
    register_fapi,
    through_login_and_consent,
)
from tests.identity.oidc_fixtures import ADMIN, REDIRECT, holder, register

pytestmark = pytest.mark.usefixtures("server")


def _pushed(rp: FapiClient, **extra: str) -> tuple[str, str, dict[str, str]]:
    params, verifier = rp.authorization_params(**extra)
    response = rp.push(params)
    assert response.status_code == 201, response.text
    return response.json()["request_uri"], verifier, params


def _code(rp: FapiClient, **extra: str) -> tuple[str, str, dict[str, str]]:
    """A code from the whole FAPI flow: push, the holder logs in and consents."""
    request_uri, verifier, params = _pushed(rp, **extra)
    with browser(rp.server) as b:
        answer = callback_params(
            through_login_and_consent(b, holder(), rp.authorize_url(request_uri))
        )
    assert answer["state"] == params["state"]
    return answer["code"], verifier, answer


def _tokens(rp: FapiClient) -> dict[str, Any]:
    code, verifier, _ = _code(rp)
    response = rp.redeem(code, verifier)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _introspect(rp: FapiClient, token: str) -> dict[str, Any]:
    response = httpx.post(f"{rp.server}/oauth2/introspect", data={"token": token, **rp.auth()})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# ------------------------------------------------------------------ registration


def test_fapi2_registration_refuses_private_key_members_in_jwks() -> None:
    key = new_key()
    with unit_of_work() as db, pytest.raises(ValidationFailed) as refused:
        create_client(
            db,
            name="Leaky",
            redirect_uris=[REDIRECT],
            scopes=["openid"],
            purpose="p",
            actor=ADMIN,
            profile="fapi2",
            jwks={"keys": [key.as_dict(private=True)]},
        )
    assert refused.value.code == "PRIVATE_KEY_IN_JWKS"
    assert refused.value.details == {"members": ["d"]}


def test_fapi2_registration_needs_keys_and_jwks_uri_https() -> None:
    with unit_of_work() as db:
        for kwargs, code in (
            ({}, "KEYS_REQUIRED"),
            ({"jwks_uri": "http://rp.example/jwks"}, "INVALID_JWKS_URI"),
            ({"jwks_uri": "ftp://rp.example/jwks"}, "INVALID_JWKS_URI"),
        ):
            with pytest.raises(ValidationFailed) as refused:
                create_client(
                    db,
                    name="No keys",
                    redirect_uris=[REDIRECT],
                    scopes=["openid"],
                    purpose="p",
                    actor=ADMIN,
                    profile="fapi2",
                    **kwargs,  # type: ignore[arg-type]
                )
            assert refused.value.code == code
        # Loopback http only outside production (the tests' own JWKS server).
        client_id, secret = create_client(
            db,
            name="Local",
            redirect_uris=[REDIRECT],
            scopes=["openid"],
            purpose="p",
            actor=ADMIN,
            profile="fapi2",
            jwks_uri="http://127.0.0.1:9/jwks",
        )
    assert client_id.startswith("rp_") and secret is None


# ------------------------------------------------------------------ PAR (RFC 9126)


def test_rfc9126_s5_discovery_advertises_par_private_key_jwt_and_dpop(server: str) -> None:
    meta = httpx.get(f"{server}/.well-known/openid-configuration").json()
    assert meta["pushed_authorization_request_endpoint"] == f"{server}/oauth2/par"
    assert meta["require_pushed_authorization_requests"] is False  # per client (fapi2)
    assert "private_key_jwt" in meta["token_endpoint_auth_methods_supported"]
    assert meta["token_endpoint_auth_signing_alg_values_supported"] == ["ES256", "PS256"]
    for endpoint in ("revocation", "introspection"):
        assert "private_key_jwt" in meta[f"{endpoint}_endpoint_auth_methods_supported"]
        assert meta[f"{endpoint}_endpoint_auth_signing_alg_values_supported"] == ["ES256", "PS256"]
    assert meta["dpop_signing_alg_values_supported"] == ["ES256", "PS256", "EdDSA"]
    assert meta["request_object_signing_alg_values_supported"] == ["ES256", "PS256"]
    assert meta["id_token_signing_alg_values_supported"] == ["ES256"]


def test_rfc9126_s2_1_par_requires_client_authentication(server: str) -> None:
    rp = register_fapi(server)
    params, _ = rp.authorization_params()
    response = rp.push(params, auth={"client_id": rp.client_id})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["cache-control"] == "no-store"


def test_rfc9126_s2_2_par_answers_201_request_uri_and_expires_in(server: str) -> None:
    rp = register_fapi(server)
    request_uri, _, _ = _pushed(rp)
    assert request_uri.startswith("urn:ietf:params:oauth:request_uri:")
    assert len(request_uri) > len("urn:ietf:params:oauth:request_uri:") + 40
    params, _ = rp.authorization_params()
    response = rp.push(params)
    assert response.status_code == 201 and response.headers["cache-control"] == "no-store"
    assert set(response.json()) == {"request_uri", "expires_in"}
    assert 0 < response.json()["expires_in"] <= 60


def test_rfc9126_s2_1_par_basic_client_with_secret(server: str) -> None:
    """PAR is for every client: a basic client pushes with its secret, no DPoP needed."""
    rp = register(["openid"])
    fapi = FapiClient(server=server, client_id=rp.client_id, key=new_key())
    params, _ = fapi.authorization_params(scope="openid")
    response = httpx.post(
        f"{server}/oauth2/par", data=params, auth=(rp.client_id, rp.client_secret)
    )
    assert response.status_code == 201, response.text


def test_rfc9126_s2_3_par_validates_the_request_at_push_time(server: str) -> None:
    rp = register_fapi(server)
    cases = [
        ({"redirect_uri": "http://127.0.0.1:9/other"}, "invalid_request"),
        ({"code_challenge": ""}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"scope": "openid residence"}, "invalid_scope"),
        ({"response_type": "token"}, "unsupported_response_type"),
    ]
    for extra, error in cases:
        params, _ = rp.authorization_params()
        params.update(extra)
        response = rp.push({k: v for k, v in params.items() if v})
        assert response.status_code == 400, (extra, response.text)
        assert response.json()["error"] == error, (extra, response.json())
        assert "request_uri" not in response.json()


def test_rfc9126_s2_1_request_uri_in_the_push_is_invalid_request(server: str) -> None:
    rp = register_fapi(server)
    params, _ = rp.authorization_params(request_uri="urn:ietf:params:oauth:request_uri:x")
    response = rp.push(params)
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "request_uri cannot be pushed",
    }


def test_rfc9126_s2_1_push_for_another_client_id_is_refused(server: str) -> None:
    rp = register_fapi(server)
    other = register_fapi(server)
    params, _ = rp.authorization_params(client_id=other.client_id)
    auth = rp.auth()
    del auth["client_id"]
    response = rp.push(params, auth=auth)
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_client",
        "error_description": "client_id does not match the assertion",
    }


def test_rfc9126_s4_only_pushed_parameters_are_used(server: str) -> None:
    rp = register_fapi(server)
    request_uri, _, params = _pushed(rp)
    url = rp.authorize_url(request_uri) + "&" + urlencode({"state": "outer", "scope": "openid"})
    with browser(server) as b:
        answer = callback_params(through_login_and_consent(b, holder(), url))
    assert answer["state"] == params["state"] and answer["iss"] == server


def test_rfc9126_s4_request_uri_is_single_use(server: str) -> None:
    rp = register_fapi(server)
    request_uri, _, _ = _pushed(rp)
    who = holder()
    with browser(server) as b:
        callback_params(through_login_and_consent(b, who, rp.authorize_url(request_uri)))
        again = b.get(rp.authorize_url(request_uri))
    assert again.status_code == 400 and "invalid_request_uri" in again.text
    # Opened once (the browser got its interaction ticket): a second opening without it fails.
    second_uri, _, _ = _pushed(rp)
    with browser(server) as first, browser(server) as thief:
        assert first.get(rp.authorize_url(second_uri)).status_code == 303
        stolen = thief.get(rp.authorize_url(second_uri))
    assert stolen.status_code == 400 and "invalid_request_uri" in stolen.text


def test_rfc9126_s4_expired_or_foreign_request_uri_is_refused(server: str) -> None:
    rp = register_fapi(server)
    other = register_fapi(server)
    request_uri, _, _ = _pushed(rp)
    with browser(server) as b:
        foreign = b.get(other.authorize_url(request_uri))
        assert foreign.status_code == 400 and "invalid_request_uri" in foreign.text
        with unit_of_work() as db:
            db.execute(
                update(PushedRequest).values(
                    expires_at=PushedRequest.expires_at - dt.timedelta(minutes=5)
                )
            )
        expired = b.get(rp.authorize_url(request_uri))
    assert expired.status_code == 400 and "invalid_request_uri" in expired.text


def test_oidc_core_6_2_request_uri_other_than_par_is_not_supported(server: str) -> None:
    rp = register_fapi(server)
    params, _ = rp.authorization_params(request_uri="https://rp.example/request.jwt")
    with browser(server) as b:
        answer = callback_params(b.get("/oauth2/authorize?" + urlencode(params)))
    assert answer["error"] == "request_uri_not_supported"


def test_fapi2_s5_3_2_2_par_required(server: str) -> None:
    """FAPI 2.0 §5.3.2.2-1: a FAPI 2.0 client's request sent straight to the authorization
    endpoint is refused, to its (exactly registered) redirect URI."""
    rp = register_fapi(server)
    params, _ = rp.authorization_params()
    with browser(server) as b:
        answer = callback_params(b.get("/oauth2/authorize?" + urlencode(params)))
    assert answer["error"] == "invalid_request"
    assert answer["error_description"] == "this client must push its authorization requests (PAR)"
    assert answer["state"] == params["state"] and answer["iss"] == server


# ------------------------------------------------------------------ private_key_jwt


def test_rfc7523_s2_2_private_key_jwt_at_token_revocation_and_introspection(server: str) -> None:
    rp = register_fapi(server)
    tokens = _tokens(rp)
    assert _introspect(rp, tokens["access_token"])["active"] is True
    revoked = httpx.post(
        f"{server}/oauth2/revoke",
        data={"token": tokens["refresh_token"], "token_type_hint": "refresh_token", **rp.auth()},
    )
    assert revoked.status_code == 200, revoked.text
    assert _introspect(rp, tokens["access_token"]) == {"active": False}


def test_rfc7523_s3_assertion_jti_is_single_use(server: str) -> None:
    rp = register_fapi(server)
    auth = rp.auth()
    params, _ = rp.authorization_params()
    assert rp.push(params, auth=auth).status_code == 201
    replay = rp.push(params, auth=auth)
    assert replay.status_code == 400  # RFC 6749 §5.2: 401 only for the Authorization header
    assert replay.json() == {
        "error": "invalid_client",
        "error_description": "JWT ID is used before.",
    }


def test_fapi2_s5_3_2_1_assertion_aud_is_the_issuer_only(server: str) -> None:
    """FAPI 2.0 (final) §5.3.2.1: only the issuer identifier, as a string, in `aud`."""
    rp = register_fapi(server)
    params, _ = rp.authorization_params()
    for aud in (f"{server}/oauth2/token", f"{server}/oauth2/par", [server], "https://other"):
        response = rp.push(params, auth=rp.auth(aud=aud))
        assert response.status_code == 400, aud
        assert response.json() == {
            "error": "invalid_client",
            "error_description": "aud must be the issuer identifier, as a string",
        }


def test_rfc7523_s3_assertion_exp_is_required_short_and_not_past(server: str) -> None:
    rp = register_fapi(server)
    params, _ = rp.authorization_params()
    now = int(time.time())
    for exp in (None, now - 120, now + 3600):
        response = rp.push(params, auth=rp.auth(exp=exp))
        assert response.status_code == 400, exp
        assert response.json()["error"] == "invalid_client"
    future = rp.push(params, auth=rp.auth(iat=now + 120))
    assert future.status_code == 400 and "iat" in future.json()["error_description"]


def test_oidc_core_9_assertion_signed_by_another_key_or_hs256_is_refused(server: str) -> None:
    rp = register_fapi(server)
    params, _ = rp.authorization_params()
    stranger = FapiClient(server=server, client_id=rp.client_id, key=new_key(rp.key.kid))
    assert stranger.push(params).status_code == 400
    secret = OctKey.generate_key(256)
    claims = {
        "iss": rp.client_id,
        "sub": rp.client_id,
        "aud": server,
        "jti": "j1",
        "exp": int(time.time()) + 60,
    }
    mac = jwt.encode({"alg": "HS256"}, claims, secret, algorithms=["HS256"])
    auth = {
        "client_id": rp.client_id,
        "client_assertion_type": rp.auth()["client_assertion_type"],
        "client_assertion": mac,
    }
    response = rp.push(params, auth=auth)
    assert response.status_code == 400 and response.json()["error"] == "invalid_client"


def test_fapi2_s5_3_2_1_fapi_client_cannot_use_a_secret(server: str) -> None:
    rp = register_fapi(server)
    params, _ = rp.authorization_params()
    response = httpx.post(f"{server}/oauth2/par", data=params, auth=(rp.client_id, "guess"))
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_rfc7523_s3_basic_client_cannot_use_an_assertion(server: str) -> None:
    basic = register(["openid"])
    rp = FapiClient(server=server, client_id=basic.client_id, key=new_key())
    params, _ = rp.authorization_params(scope="openid")
    response = rp.push(params)
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_client",
        "error_description": "The client cannot authenticate with method: private_key_jwt",
    }


class _JwksServer:
    """The relying party's jwks_uri: a local http server whose keys the test changes."""

    def __init__(self) -> None:
        self.jwks: dict[str, Any] = {"keys": []}
        self.hits = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.hits += 1
                body = json.dumps(outer.jwks).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Cache-Control", "max-age=600")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                return None

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/jwks"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def jwks_server() -> Iterator[_JwksServer]:
    served = _JwksServer()
    yield served
    served.httpd.shutdown()
    client_keys.forget(served.url)


def test_oidc_core_10_1_1_jwks_uri_cached_and_refetched_once_on_unknown_kid(
    server: str, jwks_server: _JwksServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The live server runs in this process: its jwks_uri cache is the one inspected here."""
    first = new_key()
    jwks_server.jwks = public_jwks(first)
    rp = register_fapi(server, key=first, jwks_uri=jwks_server.url)
    params, _ = rp.authorization_params()
    assert rp.push(params).status_code == 201
    assert rp.push(params).status_code == 201
    assert jwks_server.hits == 1  # cached for its max-age
    # The client rotates: the new kid is unknown to the cache, so the JWKS is fetched again.
    monkeypatch.setattr(client_keys, "REFETCH_INTERVAL", 0.0)
    rotated = new_key()
    jwks_server.jwks = public_jwks(rotated)
    rp.key = rotated
    assert rp.push(params).status_code == 201
    assert jwks_server.hits == 2
    # Made-up kids within the rate limit: no fetch.
    monkeypatch.setattr(client_keys, "REFETCH_INTERVAL", 3600.0)
    rp.key = new_key()
    assert rp.push(params).status_code == 400
    assert jwks_server.hits == 2


# ------------------------------------------------------------------ DPoP (RFC 9449)


def test_rfc9449_s5_token_response_is_dpop_bound(server: str) -> None:
    rp = register_fapi(server)
    tokens = _tokens(rp)
    assert tokens["token_type"] == "DPoP"
    jkt = rp.dpop_key.thumbprint()
    assert _introspect(rp, tokens["access_token"])["cnf"] == {"jkt": jkt}
    assert _introspect(rp, tokens["access_token"])["token_type"] == "DPoP"
    refresh = _introspect(rp, tokens["refresh_token"])
    assert refresh["cnf"] == {"jkt": jkt} and "token_type" not in refresh


def test_rfc9449_s6_2_introspection_reports_cnf_jkt(server: str) -> None:
    rp = register_fapi(server)
    tokens = _tokens(rp)
    answer = _introspect(rp, tokens["access_token"])
    assert answer["active"] is True and answer["cnf"]["jkt"] == rp.dpop_key.thumbprint()


def test_fapi2_s5_3_2_1_fapi_client_must_use_dpop(server: str) -> None:
    rp = register_fapi(server)
    code, verifier, _ = _code(rp)
    response = rp.redeem(code, verifier, dpop=False)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert response.json()["error_description"] == "a FAPI 2.0 client must send a DPoP proof"


def test_rfc9449_s4_3_invalid_proofs_are_invalid_dpop_proof(server: str) -> None:
    rp = register_fapi(server)
    key = rp.dpop_key
    secret = OctKey.generate_key(256)
    now = int(time.time())
    bad = {
        "typ": rp.proof("POST", "/oauth2/token", header={"typ": "JWT"}),
        "htm": rp.proof("GET", "/oauth2/token"),
        "htu": rp.proof("POST", "/oauth2/userinfo"),
        "old iat": rp.proof("POST", "/oauth2/token", iat=now - 600),
        "future iat": rp.proof("POST", "/oauth2/token", iat=now + 120),
        "no jti": rp.proof("POST", "/oauth2/token", jti=None),
        "private jwk": rp.proof("POST", "/oauth2/token", header={"jwk": key.as_dict(private=True)}),
        "other jwk": rp.proof(
            "POST", "/oauth2/token", header={"jwk": new_key().as_dict(private=False)}
        ),
        "HS256": jwt.encode(
            {"typ": "dpop+jwt", "alg": "HS256", "jwk": {"kty": "oct"}},
            {"htm": "POST", "htu": f"{server}/oauth2/token", "iat": now, "jti": "x"},
            secret,
            algorithms=["HS256"],
        ),
        "not a JWT": "nope",
    }
    for case, proof in bad.items():
        response = httpx.post(
            f"{server}/oauth2/token",
            data={"grant_type": "refresh_token", "refresh_token": "x", **rp.auth()},
            headers={"DPoP": proof},
        )
        assert response.status_code == 400, (case, response.text)
        assert response.json()["error"] == "invalid_dpop_proof", case


def test_rfc9449_s11_1_proof_jti_replay_is_refused(server: str) -> None:
    rp = register_fapi(server)
    proof = rp.proof("POST", "/oauth2/par")
    params, _ = rp.authorization_params()
    first = httpx.post(
        f"{server}/oauth2/par", data={**params, **rp.auth()}, headers={"DPoP": proof}
    )
    assert first.status_code == 201, first.text
    again = httpx.post(
        f"{server}/oauth2/par", data={**params, **rp.auth()}, headers={"DPoP": proof}
    )
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_dpop_proof"


def test_rfc9449_s10_1_par_dpop_key_binds_the_code(server: str) -> None:
    rp = register_fapi(server)
    code, verifier, _ = _code(rp)
    response = rp.redeem(code, verifier, key=new_key())
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_grant",
        "error_description": "the grant is bound to another DPoP key",
    }


def test_rfc9449_s5_refresh_requires_the_same_key(server: str) -> None:
    rp = register_fapi(server)
    tokens = _tokens(rp)
    other = rp.refresh(tokens["refresh_token"], key=new_key())
    assert other.status_code == 400 and other.json()["error"] == "invalid_grant"
    same = rp.refresh(tokens["refresh_token"])
    assert same.status_code == 200, same.text
    assert same.json()["token_type"] == "DPoP" and same.json()["refresh_token"]


def test_rfc9449_s5_basic_client_may_bind_its_refresh_token(server: str) -> None:
    """Any client may use DPoP; a refresh token so bound needs the key afterwards."""
    basic = register(["openid"])
    rp = FapiClient(server=server, client_id=basic.client_id, key=new_key())
    params, verifier = rp.authorization_params(scope="openid")
    with browser(server) as b:
        url = "/oauth2/authorize?" + urlencode(params)
        code = callback_params(through_login_and_consent(b, holder(), url))["code"]
    token = httpx.post(
        f"{server}/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": verifier,
            "redirect_uri": REDIRECT,
        },
        auth=(basic.client_id, basic.client_secret),
        headers={"DPoP": rp.proof("POST", "/oauth2/token")},
    ).json()
    assert token["token_type"] == "DPoP"
    unbound = httpx.post(
        f"{server}/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
        auth=(basic.client_id, basic.client_secret),
    )
    assert unbound.status_code == 400 and unbound.json()["error"] == "invalid_grant"


def test_rfc9449_s7_1_userinfo_refuses_bearer_use_of_dpop_bound_token(server: str) -> None:
    rp = register_fapi(server)
    tokens = _tokens(rp)
    response = rp.userinfo(tokens["access_token"], scheme="Bearer")
    assert response.status_code == 401
    assert response.json() == {
        "error": "invalid_token",
        "error_description": "the access token is DPoP-bound: use the DPoP scheme",
    }
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("DPoP ") and 'error="invalid_token"' in challenge
    assert 'algs="ES256 PS256 EdDSA"' in challenge
    ok = rp.userinfo(tokens["access_token"])
    assert ok.status_code == 200 and ok.json()["name"] == "NGUYEN VAN A"


def test_rfc9449_s7_1_userinfo_needs_a_proof_with_ath_of_the_bound_key(server: str) -> None:
    rp = register_fapi(server)
    access = _tokens(rp)["access_token"]
    cases = {
        "no ath": rp.userinfo(access, ath=None),
        "wrong ath": rp.userinfo(access, ath="AAAA"),
        "other key": rp.userinfo(access, key=new_key()),
        "wrong htm": httpx.get(
            f"{server}/oauth2/userinfo",
            headers={
                "Authorization": f"DPoP {access}",
                "DPoP": rp.proof("POST", "/oauth2/userinfo", access_token=access),
            },
        ),
        "no proof": httpx.get(
            f"{server}/oauth2/userinfo", headers={"Authorization": f"DPoP {access}"}
        ),
    }
    for case, response in cases.items():
        assert response.status_code == 401, case
        assert response.json()["error"] == "invalid_dpop_proof", case
        assert (
            'DPoP algs="ES256 PS256 EdDSA", error="invalid_dpop_proof"'
            in (response.headers["www-authenticate"])
        ), case


def test_rfc9449_s7_2_unbound_token_under_the_dpop_scheme_is_refused(server: str) -> None:
    basic = register(["openid"])
    rp = FapiClient(server=server, client_id=basic.client_id, key=new_key())
    params, verifier = rp.authorization_params(scope="openid")
    with browser(server) as b:
        url = "/oauth2/authorize?" + urlencode(params)
        code = callback_params(through_login_and_consent(b, holder(), url))["code"]
    token = httpx.post(
        f"{server}/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": verifier,
            "redirect_uri": REDIRECT,
        },
        auth=(basic.client_id, basic.client_secret),
    ).json()
    assert token["token_type"] == "Bearer"
    response = rp.userinfo(token["access_token"])
    assert response.status_code == 401 and response.json()["error"] == "invalid_token"
    assert (
        httpx.get(
            f"{server}/oauth2/userinfo",
            headers={"Authorization": f"Bearer {token['access_token']}"},
        ).status_code
        == 200
    )


# ------------------------------------------------------------------ FAPI 2.0 §5.3.2


def test_fapi2_s5_3_2_1_authorization_code_lives_at_most_60_seconds(server: str) -> None:
    rp = register_fapi(server)
    _code(rp)
    with unit_of_work() as db:
        row = db.execute(
            select(AuthorizationCode).order_by(AuthorizationCode.created_at.desc()).limit(1)
        ).scalar_one()
        assert row.client_id == rp.client_id
        assert row.expires_at - row.created_at <= FAPI_CODE_TTL + dt.timedelta(seconds=1)
    assert dt.timedelta(seconds=60) >= FAPI_CODE_TTL


def test_fapi2_s5_3_2_2_only_response_type_code(server: str) -> None:
    rp = register_fapi(server)
    for response_type in ("code id_token", "token", "id_token"):
        params, _ = rp.authorization_params(response_type=response_type)
        response = rp.push(params)
        assert response.status_code == 400
        assert response.json()["error"] == "unsupported_response_type", response_type


def test_fapi2_s5_3_2_2_pkce_s256_required(server: str) -> None:
    rp = register_fapi(server)
    params, _ = rp.authorization_params(code_challenge_method="plain")
    plain = rp.push(params)
    assert plain.status_code == 400
    assert plain.json() == {
        "error": "invalid_request",
        "error_description": "'code_challenge_method' must be S256",
    }
    params, _ = rp.authorization_params()
    del params["code_challenge"], params["code_challenge_method"]
    missing = rp.push(params)
    assert missing.status_code == 400
    assert missing.json()["error_description"] == "PKCE is required: missing 'code_challenge'"


def test_fapi2_s5_3_2_1_rfc9207_iss_and_es256_id_token(server: str) -> None:
    rp = register_fapi(server)
    code, verifier, answer = _code(rp)
    assert answer["iss"] == server
    tokens = rp.redeem(code, verifier).json()
    jwks = KeySet.import_key_set(httpx.get(f"{server}/oauth2/jwks").json())
    token = jwt.decode(tokens["id_token"], jwks, algorithms=["ES256"])
    assert token.header["alg"] == "ES256"
    assert token.claims["aud"] == rp.client_id and token.claims["iss"] == server


def test_fapi2_code_is_single_use_and_redeemed_with_pkce(server: str) -> None:
    rp = register_fapi(server)
    code, verifier, _ = _code(rp)
    wrong = rp.redeem(code, "x" * 43)
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    code, verifier, _ = _code(rp)
    assert rp.redeem(code, verifier).status_code == 200
    again = rp.redeem(code, verifier)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


# ------------------------------------------------------------------ more


def test_rfc7523_s2_2_ps256_assertion_with_an_rsa_key(server: str) -> None:
    rp = register_fapi(server, key=new_rsa_key())
    params, _ = rp.authorization_params()
    assert rp.push(params).status_code == 201


def test_rfc9449_s5_eddsa_proof_binds_to_its_key(server: str) -> None:
    rp = register_fapi(server)
    rp.dpop_key = OKPKey.generate_key("Ed25519", parameters={"kid": "ed"})
    tokens = _tokens(rp)
    assert tokens["token_type"] == "DPoP"
    assert _introspect(rp, tokens["access_token"])["cnf"] == {"jkt": rp.dpop_key.thumbprint()}
    assert rp.userinfo(tokens["access_token"]).status_code == 200


def test_rfc7523_s3_simultaneous_replays_of_one_assertion_one_wins(server: str) -> None:
    rp = register_fapi(server)
    auth = rp.auth()
    params, _ = rp.authorization_params()
    barrier = threading.Barrier(4)
    statuses: list[int] = []

    def push() -> None:
        barrier.wait()
        statuses.append(rp.push(params, auth=auth, dpop=False).status_code)

    threads = [threading.Thread(target=push) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201, 400, 400, 400]


def test_rfc9449_s10_par_dpop_jkt_must_match_the_proof(server: str) -> None:
    rp = register_fapi(server)
    params, _ = rp.authorization_params(dpop_jkt=new_key().thumbprint())
    response = rp.push(params)
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_dpop_proof",
        "error_description": "dpop_jkt is not the proof's key",
    }


def test_fapi2_cli_registration_refuses_private_keys_and_missing_keys(tmp_path: Path) -> None:
    key_file = tmp_path / "jwks.json"
    key_file.write_text(json.dumps({"keys": [new_key().as_dict(private=True)]}))
    common = [
        *("client", "create", "--name", "Bank", "--redirect-uri", REDIRECT),
        *("--scopes", "openid", "--purpose", "KYC", "--profile", "fapi2"),
    ]
    leaked = CliRunner().invoke(cli, [*common, "--jwks", str(key_file)])
    assert leaked.exit_code != 0
    assert isinstance(leaked.exception, ValidationFailed)
    assert leaked.exception.code == "PRIVATE_KEY_IN_JWKS"
    none = CliRunner().invoke(cli, common)
    assert isinstance(none.exception, ValidationFailed)
    assert none.exception.code == "KEYS_REQUIRED"
    key_file.write_text(json.dumps(public_jwks(new_key())))
    made = CliRunner().invoke(cli, [*common, "--jwks", str(key_file)])
    assert made.exit_code == 0, made.output
    out = json.loads(made.output)
    assert out["profile"] == "fapi2" and "client_secret" not in out


def test_oidc_core_3_1_2_1_pushed_login_hint_reaches_the_login_page(server: str) -> None:
    rp = register_fapi(server)
    who = holder()
    request_uri, _, _ = _pushed(rp, login_hint=who.eid_number)
    with browser(server) as b:
        to_login = b.get(rp.authorize_url(request_uri))
        assert to_login.status_code == 303
        page = b.get(to_login.headers["location"])
    assert page.status_code == 200 and f'value="{who.eid_number}"' in page.text
    assert "request_uri" in to_login.headers["location"]
    assert who.eid_number not in to_login.headers["location"]  # by reference only


def test_fapi2_s5_3_2_2_par_requires_redirect_uri(server: str) -> None:
    rp = register_fapi(server)
    params, _ = rp.authorization_params()
    del params["redirect_uri"]
    response = rp.push(params)
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "redirect_uri is required",
    }


def test_fapi2_pushed_request_approved_on_the_bound_device(server: str) -> None:
    """A pushed (PAR) request travels by reference through "approve in the eid app" too: the
    app shows the relying party, the holder approves, the FAPI client gets Level 2 and hwk."""
    from tests.identity.test_device_approval_http import _CODE, APPROVALS, _app, _passkey_holder

    number, token, authenticator = _passkey_holder(server)
    rp = register_fapi(server)
    request_uri, verifier, params = _pushed(rp)
    with browser(server) as b:
        to_login = b.get(rp.authorize_url(request_uri))
        assert to_login.status_code == 303
        next_url = parse_qs(urlsplit(to_login.headers["location"]).query)["next"][0]
        started = b.post("/oauth2/approval", data={"eid_number": number, "next": next_url})
        assert started.status_code == 303, started.text
        waiting = b.get(started.headers["location"])
        shown = _CODE.search(waiting.text)
        assert shown, waiting.text[:500]
        with _app(server, token) as app:
            [pending] = app.get(APPROVALS).json()
            assert pending["client_name"] == "FAPI Bank"
            base = f"{APPROVALS}/{pending['id']}"
            options = app.post(f"{base}/options").json()["public_key"]
            decided = app.post(
                f"{base}/decision",
                json={
                    "decision": "approve",
                    "matching_code": shown[1],
                    "credential": authenticator.get(options),
                },
            )
            assert decided.status_code == 200, decided.text
        onward = b.post(started.headers["location"] + "/continue")
        assert onward.status_code == 303, onward.text
        answer = callback_params(through_login_and_consent(b, holder(), onward.headers["location"]))
    assert answer["state"] == params["state"] and answer["iss"] == server
    tokens = rp.redeem(answer["code"], verifier)
    assert tokens.status_code == 200, tokens.text
    claims = jwt.decode(
        tokens.json()["id_token"],
        KeySet.import_key_set(httpx.get(f"{server}/oauth2/jwks").json()),
        algorithms=["ES256"],
    ).claims
    assert claims["acr"] == ACR_LEVEL2 and "hwk" in claims["amr"]
