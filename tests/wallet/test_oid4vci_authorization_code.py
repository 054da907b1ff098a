"""OpenID4VCI 1.0 §5 with eid's own authorization server: a wallet registered as a public client
(`eid client create --profile wallet`) asks for the card's scope with PKCE S256 and DPoP, the
holder logs in and consents as for any relying party, the wallet redeems the code without a
secret and obtains the card at the credential endpoint."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import secrets
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from joserfc import jws
from joserfc.jwk import ECKey
from typer.testing import CliRunner

from eid.cli import app as cli
from eid.core import clock
from eid.core.errors import ValidationFailed
from eid.identity.clients import create_client
from eid.wallet import oid4vci, sdjwt
from tests.identity.factories import PASSCODE, PASSWORD
from tests.identity.oidc_fixtures import ADMIN, REDIRECT, holder

_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
SCOPE = "eid_residence_card"


def _dpop(key: ECKey, url: str, access_token: str | None = None) -> str:
    payload: dict[str, Any] = {
        "htm": "POST",
        "htu": url,
        "iat": int(clock.now().timestamp()),
        "jti": secrets.token_hex(8),
    }
    if access_token is not None:
        payload["ath"] = sdjwt.digest(access_token)
    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": key.as_dict(private=False)}
    return jws.serialize_compact(header, json.dumps(payload).encode(), key, algorithms=["ES256"])


def _register_wallet() -> str:
    result = CliRunner().invoke(
        cli,
        [
            "client",
            "create",
            "--name",
            "Example Wallet",
            "--redirect-uri",
            REDIRECT,
            "--scopes",
            SCOPE,
            "--purpose",
            "keep the holder's e-residence card",
            "--profile",
            "wallet",
        ],
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert "client_secret" not in out and out["profile"] == "wallet"
    return str(out["client_id"])


def test_wallet_registration_rules(live: str) -> None:
    from eid.core.database import unit_of_work

    with unit_of_work() as db, pytest.raises(ValidationFailed):
        create_client(
            db,
            name="w",
            redirect_uris=[REDIRECT],
            scopes=["openid", SCOPE],
            purpose="p",
            actor=ADMIN,
            profile="wallet",
        )
    with unit_of_work() as db, pytest.raises(ValidationFailed):  # a relying party cannot
        create_client(
            db,
            name="rp",
            redirect_uris=[REDIRECT],
            scopes=["openid", SCOPE],
            purpose="p",
            actor=ADMIN,
        )
    with unit_of_work() as db:  # a native wallet's private-use scheme (RFC 8252 §7.1)
        create_client(
            db,
            name="w",
            redirect_uris=["vn.example.wallet:/callback"],
            scopes=[SCOPE],
            purpose="p",
            actor=ADMIN,
            profile="wallet",
        )


def test_authorization_code_flow_with_pkce_and_dpop(live: str) -> None:
    client_id = _register_wallet()
    who = holder()
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    state = secrets.token_urlsafe(8)
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT,
        "scope": SCOPE,
        "state": state,
        "code_challenge": challenge.rstrip(b"=").decode(),
        "code_challenge_method": "S256",
    }
    with httpx.Client(base_url=live, follow_redirects=False, timeout=30) as browser:
        response = browser.get("/oauth2/authorize?" + urlencode(params))
        assert response.status_code == 303, response.text[:300]
        next_url = parse_qs(urlsplit(response.headers["location"]).query)["next"][0]
        login = browser.post(
            "/oauth2/login",
            data={
                "eid_number": who.eid_number,
                "password": PASSWORD,
                "passcode": PASSCODE,
                "next": next_url,
            },
        )
        consent = browser.get(login.headers["location"])
        assert consent.status_code == 200, consent.text[:300]
        assert "your e-residence card, to keep in this wallet" in consent.text
        fields = {k: html.unescape(v) for k, v in _HIDDEN.findall(consent.text)}
        fields["decision"] = "allow"
        back = browser.post("/oauth2/authorize", data=fields)
    assert back.status_code == 302 and back.headers["location"].startswith(REDIRECT)
    query = {k: v[0] for k, v in parse_qs(urlsplit(back.headers["location"]).query).items()}
    assert query["state"] == state
    dpop_key = ECKey.generate_key("P-256")
    form = {
        "grant_type": "authorization_code",
        "code": query["code"],
        "code_verifier": verifier,
        "redirect_uri": REDIRECT,
        "client_id": client_id,
    }
    token = httpx.post(
        f"{live}/oauth2/token", data=form, headers={"DPoP": _dpop(dpop_key, f"{live}/oauth2/token")}
    )
    assert token.status_code == 200, token.text
    body = token.json()
    assert body["token_type"] == "DPoP" and body["scope"] == SCOPE
    assert "refresh_token" not in body and "id_token" not in body
    # A public client cannot pretend to be a secret one, nor redeem without PKCE.
    nonce = httpx.post(f"{live}/oid4vci/nonce").json()["c_nonce"]
    wallet_key = ECKey.generate_key("P-256")
    proof = jws.serialize_compact(
        {"typ": oid4vci.PROOF_TYP, "alg": "ES256", "jwk": wallet_key.as_dict(private=False)},
        json.dumps(
            {"aud": live, "iat": int(clock.now().timestamp()), "nonce": nonce, "iss": client_id}
        ).encode(),
        wallet_key,
        algorithms=["ES256"],
    )
    url = f"{live}/oid4vci/credential"
    answer = httpx.post(
        url,
        json={
            "credential_configuration_id": oid4vci.SD_JWT_CONFIGURATION,
            "proofs": {"jwt": [proof]},
        },
        headers={
            "Authorization": f"DPoP {body['access_token']}",
            "DPoP": _dpop(dpop_key, url, body["access_token"]),
        },
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["credentials"][0]["credential"].count("~") >= 2
    # The wallet's token opens no userinfo: it is not a relying party's token.
    info = httpx.get(
        f"{live}/oauth2/userinfo",
        headers={
            "Authorization": f"DPoP {body['access_token']}",
            "DPoP": _dpop_get(dpop_key, f"{live}/oauth2/userinfo", body["access_token"]),
        },
    )
    assert info.status_code in (401, 403)


def _dpop_get(key: ECKey, url: str, access_token: str) -> str:
    payload = {
        "htm": "GET",
        "htu": url,
        "iat": int(clock.now().timestamp()),
        "jti": secrets.token_hex(8),
        "ath": sdjwt.digest(access_token),
    }
    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": key.as_dict(private=False)}
    return jws.serialize_compact(header, json.dumps(payload).encode(), key, algorithms=["ES256"])


def test_wallet_without_pkce_or_with_openid_is_refused(live: str) -> None:
    client_id = _register_wallet()
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT,
        "scope": f"openid {SCOPE}",
        "state": "s",
        "code_challenge": "x" * 43,
        "code_challenge_method": "S256",
    }
    response = httpx.get(f"{live}/oauth2/authorize?" + urlencode(params), follow_redirects=False)
    assert "invalid_scope" in response.headers.get("location", "")
    del params["code_challenge"]
    params["scope"] = SCOPE
    response = httpx.get(f"{live}/oauth2/authorize?" + urlencode(params), follow_redirects=False)
    assert "invalid_request" in response.headers.get("location", "")
