"""The code flow by `oic` (pyoidc), which fetches discovery and JWKS and verifies the id_token
itself; and the refusals a relying party must meet."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from oic.oic import Client
from oic.oic.message import AccessTokenResponse, AuthorizationResponse, RegistrationResponse
from oic.utils.authn.client import CLIENT_AUTHN_METHOD

from eid.identity.service import ACR_LEVEL2
from tests.identity.factories import PASSCODE, PASSWORD
from tests.identity.live_server import browser_authorize, query_of
from tests.identity.oidc_fixtures import REDIRECT, holder, register


def _oic_client(base: str, client_id: str, secret: str) -> Client:
    client = Client(client_authn_method=CLIENT_AUTHN_METHOD, verify_ssl=False)
    client.provider_config(base)
    client.store_registration_info(
        RegistrationResponse(
            client_id=client_id,
            client_secret=secret,
            redirect_uris=[REDIRECT],
            id_token_signed_response_alg="ES256",
        )
    )
    client.redirect_uris = [REDIRECT]
    return client


def test_oic_client_code_flow_verifies_id_token(server: str) -> None:
    rp = register(["openid", "residence"])
    who = holder()
    client = _oic_client(server, rp.client_id, rp.client_secret)
    state, nonce = secrets.token_urlsafe(8), secrets.token_urlsafe(8)
    pkce, verifier = client.add_code_challenge()
    request = client.construct_AuthorizationRequest(
        request_args={
            "client_id": rp.client_id,
            "response_type": "code",
            "scope": ["openid", "residence"],
            "state": state,
            "nonce": nonce,
            "redirect_uri": REDIRECT,
            **pkce,
        }
    )
    url = request.request(client.authorization_endpoint)
    response = browser_authorize(server, url, who.eid_number, PASSWORD, PASSCODE)
    assert response.status_code == 302
    auth = client.parse_response(
        AuthorizationResponse, info=urlencode(query_of(response)), sformat="urlencoded"
    )
    assert auth["state"] == state
    tokens = client.do_access_token_request(
        state=state,
        request_args={"code": auth["code"], "code_verifier": verifier, "redirect_uri": REDIRECT},
        authn_method="client_secret_basic",
    )
    assert isinstance(tokens, AccessTokenResponse), tokens
    id_token = tokens["id_token"]  # already verified by oic against our JWKS
    assert id_token["iss"] == server and id_token["nonce"] == nonce
    assert id_token["acr"] == ACR_LEVEL2
    info = client.do_user_info_request(state=state)
    assert "error" not in info.to_dict(), info.to_dict()
    assert info["residence_card_number"] == "TT1234567"
    assert info["residence_card_kind"] == "TRC"
    assert "name" not in info.to_dict()  # ekyc_basic is not in this agreement


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _authorize_url(
    base: str,
    client_id: str,
    *,
    scope: str = "openid",
    redirect_uri: str = REDIRECT,
    challenge: str | None = None,
) -> str:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "scope": scope,
        "redirect_uri": redirect_uri,
        "state": "s1",
    }
    if challenge:
        params |= {"code_challenge": challenge, "code_challenge_method": "S256"}
    return f"{base}/oauth2/authorize?{urlencode(params)}"


def test_wrong_redirect_uri_is_refused_without_redirecting(server: str) -> None:
    rp = register(["openid"])
    _, challenge = _pkce()
    response = httpx.get(
        _authorize_url(
            server, rp.client_id, challenge=challenge, redirect_uri="https://evil.example/cb"
        )
    )
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "invalid_request" in response.text


def test_authorization_without_pkce_is_refused(server: str) -> None:
    rp = register(["openid"])
    response = httpx.get(_authorize_url(server, rp.client_id))
    assert response.status_code == 302
    params = query_of(response)
    assert params["error"] == "invalid_request" and "PKCE" in params["error_description"]


def test_plain_pkce_is_refused(server: str) -> None:
    rp = register(["openid"])
    url = _authorize_url(server, rp.client_id).replace(
        "state=s1", "state=s1&code_challenge=" + "a" * 43 + "&code_challenge_method=plain"
    )
    response = httpx.get(url)
    assert query_of(response)["error"] == "invalid_request"


def test_scope_outside_agreement_is_refused(server: str) -> None:
    rp = register(["openid", "ekyc_basic"])
    _, challenge = _pkce()
    response = httpx.get(
        _authorize_url(server, rp.client_id, scope="openid portrait", challenge=challenge)
    )
    assert response.status_code == 302
    assert query_of(response)["error"] == "invalid_scope"


def _code(server: str, rp_client_id: str, who: object) -> tuple[str, str]:
    verifier, challenge = _pkce()
    response = browser_authorize(
        server,
        _authorize_url(server, rp_client_id, challenge=challenge),
        who.eid_number,
        PASSWORD,
        PASSCODE,
    )  # type: ignore[attr-defined]
    assert response.status_code == 302, response.text
    return query_of(response)["code"], verifier


def _token(server: str, rp: object, code: str, verifier: str | None) -> httpx.Response:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    if verifier is not None:
        data["code_verifier"] = verifier
    return httpx.post(f"{server}/oauth2/token", data=data, auth=(rp.client_id, rp.client_secret))  # type: ignore[attr-defined]


def test_missing_or_wrong_pkce_verifier_is_refused(server: str) -> None:
    rp = register(["openid"])
    who = holder()
    code, _ = _code(server, rp.client_id, who)
    missing = _token(server, rp, code, None)
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    wrong = _token(server, rp, code, secrets.token_urlsafe(48))
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"


def test_replayed_code_is_refused_and_revokes_its_tokens(server: str) -> None:
    rp = register(["openid"])
    who = holder()
    code, verifier = _code(server, rp.client_id, who)
    first = _token(server, rp, code, verifier)
    assert first.status_code == 200
    replay = _token(server, rp, code, verifier)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    access = first.json()["access_token"]
    assert (
        httpx.get(
            f"{server}/oauth2/userinfo", headers={"Authorization": f"Bearer {access}"}
        ).status_code
        == 401
    )


def test_code_of_another_client_is_refused(server: str) -> None:
    rp, other = register(["openid"]), register(["openid"], name="Other")
    who = holder()
    code, verifier = _code(server, rp.client_id, who)
    stolen = _token(server, other, code, verifier)
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"


def test_holder_denies_consent(server: str) -> None:
    rp = register(["openid"])
    who = holder()
    _, challenge = _pkce()
    response = browser_authorize(
        server,
        _authorize_url(server, rp.client_id, challenge=challenge),
        who.eid_number,
        PASSWORD,
        PASSCODE,
        decision="deny",
    )
    assert query_of(response)["error"] == "access_denied"


@pytest.mark.parametrize("language", ["vi", "en"])
def test_consent_page_lists_exactly_the_claims_in_the_holders_language(
    server: str, language: str
) -> None:
    rp = register(["openid", "ekyc_basic", "residence", "portrait"])
    who = holder(language=language)
    _, challenge = _pkce()
    url = _authorize_url(server, rp.client_id, scope="openid residence", challenge=challenge)
    with httpx.Client(follow_redirects=False) as browser:
        login = browser.get(url)
        next_url = parse_qs(urlsplit(login.headers["location"]).query)["next"][0]
        browser.post(
            f"{server}/oauth2/login",
            data={
                "eid_number": who.eid_number,
                "password": PASSWORD,
                "passcode": PASSCODE,
                "next": next_url,
            },
        )
        page = browser.get(url).text
    listed = page.split('<ul id="claims">', 1)[1].split("</ul>", 1)[0]
    if language == "vi":
        assert "số thẻ cư trú" in listed and "Đồng ý" in page
    else:
        assert "residence card number" in listed and "Allow" in page
    assert listed.count("<li>") == 4  # sub + the three residence claims, nothing else


def test_token_request_without_redirect_uri_when_authorize_had_none(server: str) -> None:
    rp = register(["openid"])
    who = holder()
    verifier, challenge = _pkce()
    url = f"{server}/oauth2/authorize?" + urlencode(
        {
            "response_type": "code",
            "client_id": rp.client_id,
            "scope": "openid",
            "state": "s",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    response = browser_authorize(server, url, who.eid_number, PASSWORD, PASSCODE)
    assert response.headers["location"].startswith(REDIRECT)
    code = query_of(response)["code"]
    token = httpx.post(
        f"{server}/oauth2/token",
        auth=(rp.client_id, rp.client_secret),
        data={"grant_type": "authorization_code", "code": code, "code_verifier": verifier},
    )
    assert token.status_code == 200, token.text
