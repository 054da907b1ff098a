"""Approval on the bound device over HTTP against the live server: a relying party's login
page asks, the holder's app (bearer session, software authenticator) approves or denies, and
the relying party gets an ID token with `acr` Level 2 and `amr` hwk, or `access_denied` at its
redirect URI (issue 11, item 3)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import re
import secrets
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from eid.authority import service as authority
from eid.core import clock
from eid.core.database import unit_of_work
from eid.i18n import SUPPORTED, gettext
from eid.identity import approvals
from eid.identity.dependencies import COOKIE
from eid.identity.passkeys import relying_party
from eid.identity.service import ACR_LEVEL2
from tests.identity.factories import PASSCODE, PASSWORD, TEST_ACTOR, make_account
from tests.identity.oidc_fixtures import REDIRECT, RelyingPartyFixture, register
from tests.identity.soft_authenticator import SoftAuthenticator

_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
_CODE = re.compile(r'id="matching-code"[^>]*>(\d\d)<')
APPROVALS = "/api/v1/identity/approvals"


def _passkey_holder(server: str) -> tuple[str, str, SoftAuthenticator]:
    """(e-ID number, the app's bearer token, its passkey)."""
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
    return number, activated.json()["access_token"], authenticator


class Flow:
    def __init__(self, server: str, rp: RelyingPartyFixture) -> None:
        self.server = server
        self.rp = rp
        self.verifier = secrets.token_urlsafe(48)
        self.state = secrets.token_urlsafe(8)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(self.verifier.encode()).digest())
        self.query = urlencode(
            {
                "response_type": "code",
                "client_id": rp.client_id,
                "redirect_uri": REDIRECT,
                "scope": "openid ekyc_basic",
                "state": self.state,
                "nonce": "n-1",
                "code_challenge": challenge.rstrip(b"=").decode(),
                "code_challenge_method": "S256",
            }
        )
        self.browser = httpx.Client(base_url=server, follow_redirects=False, timeout=30)

    def ask(self, eid_number: str) -> tuple[httpx.Response, httpx.Response]:
        """The login page's "approve in the eID app": (the 303, the waiting page)."""
        to_login = self.browser.get(f"/oauth2/authorize?{self.query}")
        assert to_login.status_code == 303
        next_url = parse_qs(urlsplit(to_login.headers["location"]).query)["next"][0]
        login = self.browser.get(to_login.headers["location"])
        assert 'action="/oauth2/approval"' in login.text
        started = self.browser.post(
            "/oauth2/approval", data={"eid_number": eid_number, "next": next_url}
        )
        assert started.status_code == 303, started.text
        return started, self.browser.get(started.headers["location"])


def _app(server: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=server, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def test_approved_in_the_app_the_relying_party_gets_acr_level2_and_amr_hwk(server: str) -> None:
    number, token, authenticator = _passkey_holder(server)
    flow = Flow(server, register(["openid", "ekyc_basic"], name="Example Bank"))
    started, waiting = flow.ask(number)
    assert started.headers["location"].startswith("/oauth2/approval/")
    cookie = started.headers["set-cookie"]
    assert "eid_approval=" in cookie and "httponly" in cookie.lower()
    assert "samesite=strict" in cookie.lower() and "path=/oauth2/approval" in cookie.lower()
    assert waiting.status_code == 200
    assert "unsafe-inline" not in waiting.headers["content-security-policy"]
    match = _CODE.search(waiting.text)
    assert match, waiting.text
    shown = match[1]
    status_url = started.headers["location"] + "/status"
    assert flow.browser.get(status_url).json() == {"status": "pending"}
    # The approval id alone, in another browser, says nothing and opens nothing.
    thief = httpx.Client(base_url=server, follow_redirects=False, timeout=30)
    assert thief.get(status_url).status_code == 404
    assert thief.post(started.headers["location"] + "/continue").status_code == 404

    with _app(server, token) as app:
        [waiting_in_app] = app.get(APPROVALS).json()
        assert waiting_in_app["client_name"] == "Example Bank"
        assert shown in waiting_in_app["choices"] and len(waiting_in_app["choices"]) == 3
        assert "name" in waiting_in_app["claims"]
        base = f"{APPROVALS}/{waiting_in_app['id']}"
        options = app.post(f"{base}/options").json()["public_key"]
        decided = app.post(
            f"{base}/decision",
            json={
                "decision": "approve",
                "matching_code": shown,
                "credential": authenticator.get(options),
            },
        )
        assert decided.status_code == 200, decided.text
        assert decided.json() == {"status": "approved"}
        again = app.post(f"{base}/decision", json={"decision": "deny"})
        assert again.status_code == 409 and again.json()["error"]["code"] == "APPROVAL_DECIDED"

    assert flow.browser.get(status_url).json() == {"status": "approved"}
    onward = flow.browser.post(started.headers["location"] + "/continue")
    assert onward.status_code == 303 and onward.headers["location"].startswith("/oauth2/authorize")
    # Used once: the same browser cannot open a second session with it.
    assert flow.browser.post(started.headers["location"] + "/continue").status_code == 404
    consent = flow.browser.get(onward.headers["location"])
    assert consent.status_code == 200, consent.text[:300]
    fields = {k: html.unescape(v) for k, v in _HIDDEN.findall(consent.text)}
    done = flow.browser.post("/oauth2/authorize", data={**fields, "decision": "allow"})
    assert done.status_code == 302
    params = {k: v[0] for k, v in parse_qs(urlsplit(done.headers["location"]).query).items()}
    assert params["state"] == flow.state and params["iss"] == server
    tokens = httpx.post(
        f"{server}/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": REDIRECT,
            "code_verifier": flow.verifier,
        },
        auth=(flow.rp.client_id, flow.rp.client_secret),
    )
    assert tokens.status_code == 200, tokens.text
    jwks = KeySet.import_key_set(httpx.get(f"{server}/oauth2/jwks").json())
    claims: dict[str, Any] = jwt.decode(
        tokens.json()["id_token"], jwks, algorithms=["ES256"]
    ).claims
    assert claims["acr"] == ACR_LEVEL2
    assert claims["amr"] == ["hwk", "user"]
    assert isinstance(claims["auth_time"], int)


def test_denied_in_the_app_the_relying_party_gets_access_denied(server: str) -> None:
    number, token, _ = _passkey_holder(server)
    flow = Flow(server, register(["openid", "ekyc_basic"]))
    started, _ = flow.ask(number)
    with _app(server, token) as app:
        [waiting_in_app] = app.get(APPROVALS).json()
        denied = app.post(f"{APPROVALS}/{waiting_in_app['id']}/decision", json={"decision": "deny"})
        assert denied.json() == {"status": "denied"}
    back = flow.browser.post(started.headers["location"] + "/continue")
    assert back.status_code == 303
    location = back.headers["location"]
    assert location.startswith(REDIRECT)
    params = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert params["error"] == "access_denied"
    assert params["state"] == flow.state and params["iss"] == server


def test_an_unknown_e_id_number_gets_the_same_answer(server: str) -> None:
    number, _, _ = _passkey_holder(server)
    rp = register(["openid", "ekyc_basic"])
    known, known_page = Flow(server, rp).ask(number)
    stranger = Flow(server, rp)
    unknown, unknown_page = stranger.ask("987654321098")
    assert known.status_code == unknown.status_code == 303
    assert known_page.status_code == unknown_page.status_code == 200

    def shape(page: httpx.Response) -> str:
        return re.sub(r"[0-9a-f-]{36}|>\d\d<|[?&]next=[^\"]*", "", page.text)

    assert shape(known_page) == shape(unknown_page)
    status = unknown.headers["location"] + "/status"
    assert stranger.browser.get(status).json() == {"status": "pending"}


@pytest.mark.parametrize("lang", SUPPORTED)
def test_every_page_of_the_approval_speaks_the_holders_language(server: str, lang: str) -> None:
    number, token, _ = _passkey_holder(server)
    flow = Flow(server, register(["openid", "ekyc_basic"], name="Example Bank"))
    flow.query += f"&ui_locales={lang}"
    _, waiting = flow.ask(number)
    login = flow.browser.get(
        f"/oauth2/login?{urlencode({'next': '/oauth2/authorize?' + flow.query})}"
    )
    assert gettext(lang, "Approve on my phone", "pages") in html.unescape(login.text)
    assert f'<html lang="{lang}"' in waiting.text
    text = html.unescape(waiting.text)
    assert gettext(lang, "Approve in the eID app", "pages") in text
    assert gettext(lang, "Waiting for your approval in the app…", "pages") in text
    app_page = httpx.get(f"{server}/app/approvals?lang={lang}", cookies={COOKIE: token})
    text = html.unescape(app_page.text)
    assert gettext(lang, "%(party)s asks you to sign in", "pages", party="Example Bank") in text
    assert gettext(lang, "Which number does the sign-in page show?", "pages") in text
    assert gettext(lang, "date of birth", "pages") in text
    # A refusal from the API is in the holder's language too.
    with _app(server, token) as app:
        [item] = app.get(APPROVALS).json()
        wrong = next(c for c in item["choices"] if c != _CODE.search(waiting.text)[1])  # type: ignore[index]
        refused = app.post(
            f"{APPROVALS}/{item['id']}/decision",
            json={"decision": "approve", "matching_code": wrong, "credential": {}},
            headers={"Accept-Language": lang},
        )
    assert refused.status_code == 409
    assert refused.json()["error"]["message"] == gettext(
        lang, "that is not the number on the sign-in page: the request is refused"
    )


def test_not_approved_in_two_minutes_the_relying_party_gets_access_denied(server: str) -> None:
    number, _, _ = _passkey_holder(server)
    flow = Flow(server, register(["openid", "ekyc_basic"]))
    started, _ = flow.ask(number)
    clock.shift(approvals.APPROVAL_TTL + dt.timedelta(seconds=1))
    status_url = started.headers["location"] + "/status"
    assert flow.browser.get(status_url).json() == {"status": "expired"}
    back = flow.browser.post(started.headers["location"] + "/continue")
    assert back.status_code == 303 and back.headers["location"].startswith(REDIRECT)
    params = {k: v[0] for k, v in parse_qs(urlsplit(back.headers["location"]).query).items()}
    assert params["error"] == "access_denied" and params["state"] == flow.state


def test_requests_for_one_e_id_number_are_throttled(server: str) -> None:
    """Each request pushes a prompt to the holder's phone: five per quarter hour per number."""
    number, _, _ = _passkey_holder(server)
    flow = Flow(server, register(["openid", "ekyc_basic"]))
    for _ in range(approvals.START.per_key.count if approvals.START.per_key else 0):
        flow.ask(number)
    refused = flow.browser.post(
        "/oauth2/approval",
        data={"eid_number": number, "next": f"/oauth2/authorize?{flow.query}"},
    )
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    assert refused.headers["content-type"].startswith("text/html")


def test_another_sites_form_cannot_start_an_approval(server: str) -> None:
    number, _, _ = _passkey_holder(server)
    flow = Flow(server, register(["openid", "ekyc_basic"]))
    forged = flow.browser.post(
        "/oauth2/approval",
        data={"eid_number": number, "next": f"/oauth2/authorize?{flow.query}"},
        headers={"Origin": "https://evil.example"},
    )
    assert forged.status_code == 403 and "set-cookie" not in forged.headers
    # What Chromium sends from another site's page with `Referrer-Policy: no-referrer`.
    forged = flow.browser.post(
        "/oauth2/approval",
        data={"eid_number": number, "next": f"/oauth2/authorize?{flow.query}"},
        headers={"Origin": "null", "Sec-Fetch-Site": "cross-site"},
    )
    assert forged.status_code == 403 and "set-cookie" not in forged.headers
