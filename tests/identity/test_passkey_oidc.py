"""`/oauth2/login` with a passkey, end to end against the live server: Authlib's client, the
holder's "browser" (a software authenticator), and the ID token's `amr` checked against the JWKS.
Also: a 429 on the login page is the page, in the holder's language."""

from __future__ import annotations

import html
import json
import re
import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.integrations.httpx_client import OAuth2Client
from joserfc import jwt
from joserfc.jwk import KeySet

from eid.authority import service as authority
from eid.core.database import unit_of_work
from eid.identity.passkeys import relying_party
from eid.identity.service import ACR_LEVEL2
from tests.identity.factories import PASSCODE, PASSWORD, TEST_ACTOR, make_account
from tests.identity.live_server import query_of
from tests.identity.oidc_fixtures import REDIRECT, register
from tests.identity.soft_authenticator import SoftAuthenticator

_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def _passkey_holder(server: str) -> SoftAuthenticator:
    with unit_of_work() as db:
        account_id, number = make_account(db)
        code = authority.new_activation_code(db, account_id, actor=TEST_ACTOR)
    authenticator = SoftAuthenticator(origin=relying_party()[1])
    options = httpx.post(
        f"{server}/api/v1/identity/passkeys/options",
        json={"purpose": "activation", "eid_number": number},
    ).json()
    activated = httpx.post(
        f"{server}/api/v1/identity/activation",
        json={
            "eid_number": number,
            "activation_code": code,
            "password": PASSWORD,
            "passcode": PASSCODE,
            "passkey": {
                "ceremony_id": options["ceremony_id"],
                "credential": authenticator.create(options["public_key"]),
            },
        },
    )
    assert activated.status_code == 201, activated.text
    return authenticator


def _passkey_login(
    browser: httpx.Client, authenticator: SoftAuthenticator, next_url: str, **kwargs: Any
) -> httpx.Response:
    """What the login page's script does: a ceremony, the passkey's answer, the page's form."""
    page = browser.get("/oauth2/login", params={"next": next_url})
    assert 'id="passkey-signin"' in page.text and "passkey.js" in page.text
    options = browser.post("/api/v1/identity/passkeys/options", json={"purpose": "login"}).json()
    return browser.post(
        "/oauth2/login",
        data={
            "method": "passkey",
            "next": next_url,
            "ceremony_id": options["ceremony_id"],
            "credential": json.dumps(authenticator.get(options["public_key"], **kwargs)),
        },
    )


def test_relying_party_login_with_a_passkey_carries_amr_hwk_user(server: str) -> None:
    rp = register(["openid", "ekyc_basic"])
    authenticator = _passkey_holder(server)
    client = OAuth2Client(
        client_id=rp.client_id,
        client_secret=rp.client_secret,
        scope="openid ekyc_basic",
        redirect_uri=REDIRECT,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
    )
    verifier = secrets.token_urlsafe(48)
    url, state = client.create_authorization_url(
        f"{server}/oauth2/authorize", code_verifier=verifier, nonce="n-1"
    )
    with httpx.Client(base_url=server, follow_redirects=False, timeout=30) as browser:
        to_login = browser.get(url)
        assert to_login.status_code == 303
        next_url = parse_qs(urlsplit(to_login.headers["location"]).query)["next"][0]
        signed_in = _passkey_login(browser, authenticator, next_url)
        assert signed_in.status_code == 303, signed_in.text
        consent = browser.get(signed_in.headers["location"])
        assert consent.status_code == 200
        fields = {k: html.unescape(v) for k, v in _HIDDEN.findall(consent.text)}
        done = browser.post("/oauth2/authorize", data={**fields, "decision": "allow"})
    assert done.status_code == 302
    params = query_of(done)
    assert params["state"] == state
    token = client.fetch_token(
        f"{server}/oauth2/token",
        code=params["code"],
        code_verifier=verifier,
        grant_type="authorization_code",
    )
    jwks = KeySet.import_key_set(httpx.get(f"{server}/oauth2/jwks").json())
    claims = jwt.decode(token["id_token"], jwks, algorithms=["ES256"]).claims
    assert claims["amr"] == ["hwk", "user"]
    assert claims["acr"] == ACR_LEVEL2


def test_a_refused_passkey_renders_the_page_and_keeps_the_password_way(server: str) -> None:
    authenticator = _passkey_holder(server)
    authenticator.user_verified = False
    with httpx.Client(
        base_url=server, follow_redirects=False, timeout=30, headers={"Accept-Language": "ko"}
    ) as browser:
        refused = _passkey_login(browser, authenticator, "/oauth2/authorize?client_id=x")
    assert refused.status_code == 401
    assert refused.headers["content-type"].startswith("text/html")
    assert "패스키" in refused.text and 'name="password"' in refused.text


@pytest.mark.parametrize("language", ["vi", "ja"])
def test_too_many_logins_answer_the_page_in_the_holders_language(
    server: str, language: str
) -> None:
    with httpx.Client(
        base_url=server, follow_redirects=False, timeout=30, headers={"Accept-Language": language}
    ) as browser:
        answers = [
            browser.post(
                "/oauth2/login",
                data={"eid_number": "123456789012", "password": "x", "passcode": "1", "next": "/"},
            )
            for _ in range(11)
        ]
    last = answers[-1]
    assert last.status_code == 429
    assert last.headers["content-type"].startswith("text/html")
    assert int(last.headers["retry-after"]) > 0
    assert f'<html lang="{language}">' in last.text
    expected = {"vi": "quá nhiều lần", "ja": "多すぎます"}[language]
    assert expected in last.text, last.text
