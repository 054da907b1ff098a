"""The full code flow with PKCE, driven by Authlib's own OAuth2 client against the live server;
the id_token is checked here against the published JWKS."""

from __future__ import annotations

import secrets

import httpx
import pytest
from authlib.integrations.httpx_client import OAuth2Client
from joserfc import jwt
from joserfc.jwk import KeySet

from eid.authority import service as authority
from eid.core.database import unit_of_work
from eid.identity.service import ACR_LEVEL2
from tests.identity.factories import PASSCODE, PASSWORD, TEST_ACTOR
from tests.identity.live_server import browser_authorize, query_of
from tests.identity.oidc_fixtures import REDIRECT, holder, register

pytestmark = pytest.mark.usefixtures("server")


def _client(base: str, rp: object, scope: str) -> OAuth2Client:
    return OAuth2Client(
        client_id=rp.client_id,  # type: ignore[attr-defined]
        client_secret=rp.client_secret,  # type: ignore[attr-defined]
        scope=scope,
        redirect_uri=REDIRECT,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
    )


def _authorize(base: str, client: OAuth2Client, who: object, **extra: str) -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    url, state = client.create_authorization_url(
        f"{base}/oauth2/authorize", code_verifier=verifier, nonce="n-" + state_token(), **extra
    )
    response = browser_authorize(base, url, who.eid_number, PASSWORD, PASSCODE)  # type: ignore[attr-defined]
    assert response.status_code == 302, (response.headers, response.text)
    params = query_of(response)
    assert params["state"] == state
    return params["code"], verifier


def state_token() -> str:
    return secrets.token_urlsafe(8)


def test_code_flow_with_pkce_and_id_token_against_jwks(server: str) -> None:
    rp = register(["openid", "ekyc_basic", "residence"])
    who = holder()
    client = _client(server, rp, "openid ekyc_basic")
    code, verifier = _authorize(server, client, who)
    token = client.fetch_token(
        f"{server}/oauth2/token", code=code, code_verifier=verifier, grant_type="authorization_code"
    )
    jwks = KeySet.import_key_set(httpx.get(f"{server}/oauth2/jwks").json())
    decoded = jwt.decode(token["id_token"], jwks, algorithms=["ES256"])
    claims = decoded.claims
    assert claims["iss"] == server
    assert claims["aud"] == rp.client_id
    assert claims["acr"] == ACR_LEVEL2
    assert "name" not in claims  # eKYC claims only through userinfo
    # Pairwise: the subject is not the e-ID number nor the account id.
    assert claims["sub"] not in (who.eid_number, str(who.account_id))

    info = client.get(f"{server}/oauth2/userinfo").json()
    assert info["sub"] == claims["sub"]
    assert info["name"] == "NGUYEN VAN A" and info["nationality"] == "KOR"
    assert "residence_card_number" not in info  # not requested, though the agreement allows it

    # The holder sees who asked, what, and why.
    me = httpx.get(
        f"{server}/api/v1/me/access-history",
        headers={"Authorization": f"Bearer {who.session_token}"},
    ).json()
    assert me[0]["client_name"] == "Example Bank"
    assert set(me[0]["claims"]) == {"name", "birthdate", "nationality"}
    assert me[0]["purpose"] == "open a bank account (KYC)"


def test_pairwise_subjects_differ_between_parties(server: str) -> None:
    who = holder()
    subs = []
    for name in ("Bank A", "Landlord B"):
        rp = register(["openid"], name=name)
        client = _client(server, rp, "openid")
        code, verifier = _authorize(server, client, who)
        token = client.fetch_token(f"{server}/oauth2/token", code=code, code_verifier=verifier)
        info = client.get(f"{server}/oauth2/userinfo")
        assert info.status_code == 200, info.text
        subs.append(info.json()["sub"])
        assert token["id_token"]
    assert subs[0] != subs[1]


def test_refresh_rotates_and_old_refresh_token_is_dead(server: str) -> None:
    rp = register(["openid"])
    who = holder()
    client = _client(server, rp, "openid")
    code, verifier = _authorize(server, client, who)
    first = client.fetch_token(f"{server}/oauth2/token", code=code, code_verifier=verifier)
    second = client.refresh_token(f"{server}/oauth2/token", refresh_token=first["refresh_token"])
    assert second["refresh_token"] != first["refresh_token"]
    reuse = httpx.post(
        f"{server}/oauth2/token",
        auth=(rp.client_id, rp.client_secret),
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
    )
    assert reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant"
    # Reuse of a rotated token ends the whole family, the new one included.
    intro = httpx.post(
        f"{server}/oauth2/introspect",
        auth=(rp.client_id, rp.client_secret),
        data={"token": second["access_token"]},
    ).json()
    assert intro == {"active": False}


def test_introspection_and_revocation(server: str) -> None:
    rp = register(["openid"])
    who = holder()
    client = _client(server, rp, "openid")
    code, verifier = _authorize(server, client, who)
    token = client.fetch_token(f"{server}/oauth2/token", code=code, code_verifier=verifier)
    auth = (rp.client_id, rp.client_secret)
    intro = httpx.post(
        f"{server}/oauth2/introspect", auth=auth, data={"token": token["access_token"]}
    ).json()
    assert intro["active"] is True and intro["acr"] == ACR_LEVEL2 and intro["scope"] == "openid"
    assert (
        httpx.post(
            f"{server}/oauth2/revoke",
            auth=auth,
            data={"token": token["refresh_token"], "token_type_hint": "refresh_token"},
        ).status_code
        == 200
    )
    intro = httpx.post(
        f"{server}/oauth2/introspect", auth=auth, data={"token": token["access_token"]}
    ).json()
    assert intro == {"active": False}
    assert (
        httpx.get(
            f"{server}/oauth2/userinfo",
            headers={"Authorization": f"Bearer {token['access_token']}"},
        ).status_code
        == 401
    )


def test_locked_account_is_refused_at_login_token_and_userinfo(server: str) -> None:
    rp = register(["openid", "ekyc_basic"])
    who = holder()
    client = _client(server, rp, "openid ekyc_basic")
    code, verifier = _authorize(server, client, who)
    token = client.fetch_token(f"{server}/oauth2/token", code=code, code_verifier=verifier)
    code2, verifier2 = _authorize(server, client, who)
    with unit_of_work() as db:
        authority.add_lock_ground(db, who.account_id, "passport_expired", actor=TEST_ACTOR)
    # userinfo with an already-issued token
    assert (
        httpx.get(
            f"{server}/oauth2/userinfo",
            headers={"Authorization": f"Bearer {token['access_token']}"},
        ).status_code
        == 401
    )
    # a code issued before the lock buys nothing
    refused = httpx.post(
        f"{server}/oauth2/token",
        auth=(rp.client_id, rp.client_secret),
        data={
            "grant_type": "authorization_code",
            "code": code2,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier2,
        },
    )
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    # and the holder cannot log in to authorize again
    url, _ = client.create_authorization_url(
        f"{server}/oauth2/authorize", code_verifier=secrets.token_urlsafe(48)
    )
    response = browser_authorize(server, url, who.eid_number, PASSWORD, PASSCODE)
    assert response.status_code == 403


def test_withdrawing_consent_stops_releases_and_revokes_tokens(server: str) -> None:
    rp = register(["openid", "ekyc_basic"])
    who = holder()
    client = _client(server, rp, "openid ekyc_basic")
    code, verifier = _authorize(server, client, who)
    token = client.fetch_token(f"{server}/oauth2/token", code=code, code_verifier=verifier)
    me = {"Authorization": f"Bearer {who.session_token}"}
    consents = httpx.get(f"{server}/api/v1/me/consents", headers=me).json()
    assert [c["client_name"] for c in consents] == ["Example Bank"]
    assert consents[0]["scopes"] == ["openid", "ekyc_basic"]
    withdrawn = httpx.delete(f"{server}/api/v1/me/consents/{consents[0]['id']}", headers=me)
    assert withdrawn.status_code == 204
    assert client.get(f"{server}/oauth2/userinfo").status_code == 401
    refresh = httpx.post(
        f"{server}/oauth2/token",
        auth=(rp.client_id, rp.client_secret),
        data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
    )
    assert refresh.status_code == 400
