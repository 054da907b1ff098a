"""OpenID Connect Core for the code flow, one test per requirement, named after the clause:
prompt, max_age/auth_time, id_token_hint, POST to the authorization endpoint, login_hint,
acr_values, request objects, RFC 9207 `iss`, and the RFC error shapes (issue 11, item 1)."""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
import time
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import update

from eid.authority.models import Account
from eid.core.database import unit_of_work
from eid.identity.service import ACR_LEVEL1, ACR_LEVEL2
from tests.identity.factories import PASSCODE, PASSWORD
from tests.identity.factories import TestHolder as Holder
from tests.identity.oidc_fixtures import REDIRECT, RelyingPartyFixture, holder, register

pytestmark = pytest.mark.usefixtures("server")

_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


class Request:
    """One authorization request of a relying party, and what it needs at the token endpoint."""

    def __init__(self, rp: RelyingPartyFixture, **extra: str) -> None:
        self.rp = rp
        self.verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(self.verifier.encode()).digest())
        self.state = secrets.token_urlsafe(8)
        self.params = {
            "response_type": "code",
            "client_id": rp.client_id,
            "redirect_uri": REDIRECT,
            "scope": "openid",
            "state": self.state,
            "nonce": secrets.token_urlsafe(8),
            "code_challenge": challenge.rstrip(b"=").decode(),
            "code_challenge_method": "S256",
            **extra,
        }

    @property
    def url(self) -> str:
        return "/oauth2/authorize?" + urlencode(self.params)

    def redeem(self, server: str, code: str) -> dict[str, Any]:
        response = httpx.post(
            f"{server}/oauth2/token",
            auth=(self.rp.client_id, self.rp.client_secret),
            data={
                "grant_type": "authorization_code",
                "code": code,
                "code_verifier": self.verifier,
                "redirect_uri": REDIRECT,
            },
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


def _browser(server: str) -> httpx.Client:
    return httpx.Client(base_url=server, follow_redirects=False, timeout=30)


def _query(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 302, (response.status_code, response.text[:300])
    location = response.headers["location"]
    assert location.startswith(REDIRECT), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def _next_of(response: httpx.Response) -> str:
    assert response.status_code == 303, (response.status_code, response.text[:300])
    location = response.headers["location"]
    assert location.startswith("/oauth2/login?"), location
    return parse_qs(urlsplit(location).query)["next"][0]


def _sign_in(browser: httpx.Client, who: Holder, next_url: str) -> httpx.Response:
    response = browser.post(
        "/oauth2/login",
        data={
            "eid_number": who.eid_number,
            "password": PASSWORD,
            "passcode": PASSCODE,
            "next": next_url,
        },
    )
    assert response.status_code == 303, response.text[:300]
    return browser.get(response.headers["location"])


def _decide(browser: httpx.Client, consent: httpx.Response) -> httpx.Response:
    """Allow on the consent page; a holder who already consented is not asked (§3.1.2.4)."""
    if consent.status_code == 302:
        return consent
    assert consent.status_code == 200, consent.text[:300]
    fields = {k: html.unescape(v) for k, v in _HIDDEN.findall(consent.text)}
    fields["decision"] = "allow"
    return browser.post("/oauth2/authorize", data=fields)


def _interactive(browser: httpx.Client, who: Holder, request: Request) -> dict[str, str]:
    """Log in when asked, consent, and return the redirect's parameters."""
    response = browser.get(request.url)
    if response.status_code == 303:
        response = _sign_in(browser, who, _next_of(response))
    return _query(_decide(browser, response))


def _id_token(server: str, token: dict[str, Any]) -> dict[str, Any]:
    jwks = KeySet.import_key_set(httpx.get(f"{server}/oauth2/jwks").json())
    claims: dict[str, Any] = jwt.decode(token["id_token"], jwks, algorithms=["ES256"]).claims
    return claims


def _signed_in_with_consent(server: str) -> tuple[httpx.Client, Holder, RelyingPartyFixture]:
    rp = register(["openid"])
    who = holder()
    browser = _browser(server)
    first = Request(rp)
    assert "code" in _interactive(browser, who, first)
    return browser, who, rp


def test_oidc_core_3_1_2_1_prompt_none_returns_code_with_session(server: str) -> None:
    browser, _, rp = _signed_in_with_consent(server)
    silent = Request(rp, prompt="none")
    params = _query(browser.get(silent.url))
    assert params["state"] == silent.state and params["iss"] == server
    assert _id_token(server, silent.redeem(server, params["code"]))["aud"] == rp.client_id


def test_oidc_core_3_1_2_1_prompt_none_with_id_token_hint(server: str) -> None:
    browser, _, rp = _signed_in_with_consent(server)
    hinted = Request(rp, prompt="none")
    code = _query(browser.get(hinted.url))["code"]
    id_token = hinted.redeem(server, code)["id_token"]
    again = Request(rp, prompt="none", id_token_hint=id_token)
    params = _query(browser.get(again.url))
    assert "code" in params and params["iss"] == server
    # A hint naming someone else (here: not a token of ours) is not the signed-in holder.
    other = Request(rp, prompt="none", id_token_hint=id_token[:-4] + "AAAA")
    assert _query(browser.get(other.url))["error"] == "login_required"


def test_oidc_core_3_1_2_6_prompt_none_without_session_is_login_required(server: str) -> None:
    rp = register(["openid"])
    request = Request(rp, prompt="none")
    params = _query(_browser(server).get(request.url))
    assert params["error"] == "login_required"
    assert params["state"] == request.state and params["iss"] == server


def test_oidc_core_3_1_2_6_prompt_none_without_consent_is_consent_required(server: str) -> None:
    browser, _, _ = _signed_in_with_consent(server)
    stranger = register(["openid"], name="Never consented")
    request = Request(stranger, prompt="none")
    params = _query(browser.get(request.url))
    assert params["error"] == "consent_required"
    assert params["state"] == request.state and params["iss"] == server


def test_oidc_core_3_1_2_1_prompt_login_reauthenticates_with_new_auth_time(server: str) -> None:
    rp = register(["openid"])
    who = holder()
    browser = _browser(server)
    first = Request(rp)
    before = _id_token(server, first.redeem(server, _interactive(browser, who, first)["code"]))
    time.sleep(1.1)
    forced = Request(rp, prompt="login")
    response = browser.get(forced.url)
    next_url = _next_of(response)  # to the login page, though a session exists
    params = _query(_decide(browser, _sign_in(browser, who, next_url)))
    after = _id_token(server, forced.redeem(server, params["code"]))
    assert after["auth_time"] > before["auth_time"]
    assert after["auth_time"] >= int(time.time()) - 5


def test_oidc_core_3_1_2_1_max_age_older_session_reauthenticates(server: str) -> None:
    rp = register(["openid"])
    who = holder()
    browser = _browser(server)
    first = Request(rp)
    _interactive(browser, who, first)
    # A recent enough session: no new login, and auth_time in the ID token.
    recent = Request(rp, max_age="600")
    response = browser.get(recent.url)
    claims = _id_token(server, recent.redeem(server, _query(_decide(browser, response))["code"]))
    assert "auth_time" in claims and claims["auth_time"] >= int(time.time()) - 600
    time.sleep(2.1)
    strict = Request(rp, max_age="1")
    response = _sign_in(browser, who, _next_of(browser.get(strict.url)))
    fresh = _id_token(server, strict.redeem(server, _query(_decide(browser, response))["code"]))
    assert fresh["auth_time"] > claims["auth_time"]
    # max_age=0 asks for a login each time, and does not loop once it happened.
    zero = Request(rp, max_age="0")
    response = _sign_in(browser, who, _next_of(browser.get(zero.url)))
    assert "code" in _query(response)


def test_oidc_core_3_1_2_4_consent_given_is_not_asked_again(server: str) -> None:
    """§3.1.2.4: the server obtains consent "unless a prior ... established" it: the same
    client and scopes go straight back with a code; a wider scope asks again."""
    rp = register(["openid", "ekyc_basic"])
    who = holder()
    browser = _browser(server)
    first = Request(rp)
    assert "code" in _interactive(browser, who, first)
    again = Request(rp)
    params = _query(browser.get(again.url))
    assert params["state"] == again.state and params["iss"] == server
    assert _id_token(server, again.redeem(server, params["code"]))["aud"] == rp.client_id
    wider = Request(rp, scope="openid ekyc_basic")
    response = browser.get(wider.url)
    assert response.status_code == 200 and 'name="decision"' in response.text


def test_oidc_core_3_1_2_1_prompt_consent_shows_consent_again(server: str) -> None:
    browser, _, rp = _signed_in_with_consent(server)
    response = browser.get(Request(rp, prompt="consent").url)
    assert response.status_code == 200 and 'name="decision"' in response.text


def test_oidc_core_3_1_2_1_post_authorization_request_with_session(server: str) -> None:
    browser, _, rp = _signed_in_with_consent(server)
    request = Request(rp, prompt="consent")
    response = browser.post("/oauth2/authorize", data=request.params)
    assert response.status_code == 200 and 'name="decision"' in response.text
    params = _query(_decide(browser, response))
    assert params["state"] == request.state
    request.redeem(server, params["code"])
    silent = Request(rp, prompt="none")
    params = _query(browser.post("/oauth2/authorize", data=silent.params))
    assert "code" in params and params["iss"] == server


def test_oidc_core_3_1_2_1_login_hint_and_parameters_survive_login_redirect(server: str) -> None:
    rp = register(["openid"])
    who = holder()
    browser = _browser(server)
    extra = {
        "login_hint": who.eid_number,
        "acr_values": ACR_LEVEL2,
        "claims": '{"id_token":{"acr":{"essential":true}}}',
        "max_age": "300",
    }
    request = Request(rp, **extra)
    next_url = _next_of(browser.get(request.url))
    carried = {k: v[0] for k, v in parse_qs(urlsplit(next_url).query).items()}
    assert {k: carried[k] for k in extra} == extra
    page = browser.get("/oauth2/login", params={"next": next_url})
    assert f'value="{who.eid_number}"' in page.text
    params = _query(_decide(browser, _sign_in(browser, who, next_url)))
    claims = _id_token(server, request.redeem(server, params["code"]))
    assert claims["acr"] == ACR_LEVEL2 and "auth_time" in claims


def test_oidc_unmet_authentication_requirements_level1_asked_for_level2(server: str) -> None:
    """`acr_values=urn:eid:vn:level2` for a Level-1 account: the error OpenID registered for it
    ("OpenID Connect Core Error Code unmet_authentication_requirements 1.0"), to the redirect
    URI with state and iss; Level 1 asked of the same account passes."""
    rp = register(["openid"])
    who = holder()
    with unit_of_work() as db:
        db.execute(update(Account).where(Account.id == who.account_id).values(level=1))
    browser = _browser(server)
    request = Request(rp, acr_values=ACR_LEVEL2)
    response = _sign_in(browser, who, _next_of(browser.get(request.url)))
    params = _query(response)
    assert params["error"] == "unmet_authentication_requirements"
    assert params["state"] == request.state and params["iss"] == server
    ok = Request(rp, acr_values=f"{ACR_LEVEL2} {ACR_LEVEL1}")
    params = _query(_decide(browser, browser.get(ok.url)))
    assert _id_token(server, ok.redeem(server, params["code"]))["acr"] == ACR_LEVEL1


def test_oidc_core_3_1_2_6_request_object_not_supported(server: str) -> None:
    rp = register(["openid"])
    request = Request(rp, request="eyJhbGciOiJub25lIn0.eyJzdGF0ZSI6IngifQ.")
    params = _query(_browser(server).get(request.url))
    assert params["error"] == "request_not_supported" and params["iss"] == server
    by_reference = Request(rp, request_uri="https://rp.example/request.jwt")
    del by_reference.params["code_challenge"]  # inside the object: its refusal comes first
    params = _query(_browser(server).get(by_reference.url))
    assert params["error"] == "request_uri_not_supported"
    assert params["state"] == by_reference.state


def test_oidc_discovery_advertises_parameters_and_rfc9207_iss(server: str) -> None:
    meta = httpx.get(f"{server}/.well-known/openid-configuration").json()
    # Request objects for clients with keys (tests/identity/test_request_objects.py); a client
    # without keys still gets request_not_supported (above).
    assert meta["request_parameter_supported"] is True
    assert meta["request_uri_parameter_supported"] is False
    assert meta["claims_parameter_supported"] is False
    assert meta["authorization_response_iss_parameter_supported"] is True


def test_rfc9207_2_iss_in_success_and_error_responses(server: str) -> None:
    rp = register(["openid"])
    browser = _browser(server)
    params = _interactive(browser, holder(), Request(rp))
    assert params["iss"] == server and "code" in params
    denied = Request(rp, scope="openid residence")  # outside the agreement
    params = _query(browser.get(denied.url))
    assert params["error"] == "invalid_scope" and params["iss"] == server


def test_rfc6749_5_2_missing_grant_type_is_invalid_request(server: str) -> None:
    rp = register(["openid"])
    response = httpx.post(
        f"{server}/oauth2/token", auth=(rp.client_id, rp.client_secret), data={"code": "x"}
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_rfc6750_3_1_userinfo_without_token_has_no_error_code(server: str) -> None:
    response = httpx.get(f"{server}/oauth2/userinfo")
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer") and "error" not in challenge
    assert "error" not in response.text
    invalid = httpx.get(f"{server}/oauth2/userinfo", headers={"Authorization": "Bearer nope"})
    assert invalid.status_code == 401 and invalid.json()["error"] == "invalid_token"
    assert 'error="invalid_token"' in invalid.headers["www-authenticate"]


def test_oidc_core_3_1_2_1_prompt_none_with_other_values_is_invalid_request(server: str) -> None:
    browser, _, rp = _signed_in_with_consent(server)
    request = Request(rp, prompt="none login")
    params = _query(browser.get(request.url))
    assert params["error"] == "invalid_request"
    assert params["state"] == request.state and params["iss"] == server
