"""OpenID Connect RP-Initiated Logout 1.0 at `end_session_endpoint`, and RFC 7662 introspection
of a refresh token. Tests are named after the clause they check."""

from __future__ import annotations

import datetime as dt
import html
import re
import secrets
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from joserfc import jwt

from eid.core import clock
from eid.core.database import unit_of_work
from eid.core.settings import get_settings
from eid.identity import clients, keys, service
from eid.identity.dependencies import COOKIE
from eid.identity.oauth_server import ACCESS_TOKEN_TTL, REFRESH_TOKEN_TTL
from tests.identity import factories
from tests.identity.factories import PASSCODE, PASSWORD
from tests.identity.live_server import browser_authorize, query_of
from tests.identity.oidc_fixtures import ADMIN, REDIRECT, holder

BACK = "https://bank.example/signed-out?from=eid"
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def _party(back: list[str] | None = None) -> str:
    with unit_of_work() as db:
        client_id, _ = clients.create_client(
            db,
            name="Example Bank",
            redirect_uris=["https://bank.example/cb"],
            post_logout_redirect_uris=[BACK] if back is None else back,
            scopes=["openid"],
            purpose="KYC",
            actor=ADMIN,
        )
    return client_id


def _id_token(client_id: str, who: factories.TestHolder, **claims: object) -> str:
    keys.forget_active_key()  # the cached key's row went with an earlier test's truncation
    with unit_of_work() as db:
        rp = clients.get_client(db, client_id)
        assert rp is not None
        sub = clients.pairwise_subject(rp, who.account_id)
        kid, key = keys.active_key(db)
    now = int(clock.now().timestamp())
    body = {"iss": get_settings().issuer, "aud": client_id, "sub": sub, "iat": now}
    body["exp"] = now + 3600
    body.update(claims)
    return jwt.encode({"alg": keys.ALG, "kid": kid}, body, key)


def _signed_in(api: TestClient, **kwargs: object) -> factories.TestHolder:
    who = holder(**kwargs)
    assert who.session_token
    api.cookies.set(COOKIE, who.session_token)
    return who


def _session_alive(who: factories.TestHolder) -> bool:
    with unit_of_work() as db:
        try:
            service.session_for_token(db, who.session_token or "")
        except service.EidError:
            return False
    return True


def _query(location: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(location).query)


def test_discovery_advertises_end_session_endpoint(api: TestClient) -> None:
    found = api.get("/.well-known/openid-configuration").json()
    assert found["end_session_endpoint"].endswith("/oauth2/logout")


def test_rp_initiated_logout_2_valid_id_token_hint_ends_the_session_and_redirects_with_state(
    api: TestClient,
) -> None:
    client_id = _party()
    who = _signed_in(api)
    hint = _id_token(client_id, who, exp=int(clock.now().timestamp()) - 60)  # expired: fine
    answer = api.get(
        "/oauth2/logout",
        params={"id_token_hint": hint, "post_logout_redirect_uri": BACK, "state": "s-1"},
        follow_redirects=False,
    )
    assert answer.status_code == 302, answer.text
    location = answer.headers["location"]
    assert location.startswith("https://bank.example/signed-out?")
    assert _query(location) == {"from": ["eid"], "state": ["s-1"]}
    assert f'{COOKIE}=""' in answer.headers["set-cookie"]
    assert not _session_alive(who)


def test_rp_initiated_logout_2_accepts_the_parameters_as_a_form_post(api: TestClient) -> None:
    client_id = _party()
    who = _signed_in(api)
    answer = api.post(
        "/oauth2/logout",
        data={
            "id_token_hint": _id_token(client_id, who),
            "client_id": client_id,
            "post_logout_redirect_uri": BACK,
            "state": "s-2",
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert _query(answer.headers["location"])["state"] == ["s-2"]
    assert not _session_alive(who)


def test_rp_initiated_logout_2_without_hint_asks_the_holder_in_their_language(
    api: TestClient,
) -> None:
    client_id = _party()
    who = _signed_in(api, language="vi")
    asked = api.get(
        "/oauth2/logout",
        params={"client_id": client_id, "post_logout_redirect_uri": BACK, "state": "s-3"},
        headers={"Accept-Language": "en"},
    )
    assert asked.status_code == 200
    assert '<html lang="vi"' in asked.text and "Example Bank" in asked.text
    assert "Đăng xuất định danh điện tử của bạn?" in asked.text  # the holder's language
    policy = asked.headers["content-security-policy"]
    assert "'unsafe-inline'" not in policy and "<script>" not in asked.text
    assert "form-action 'self' https://bank.example" in policy
    assert _session_alive(who)  # nothing ended before the holder answers
    fields = {k: html.unescape(v) for k, v in _HIDDEN.findall(asked.text)}
    forged = api.post(
        "/oauth2/logout", data={**fields, "csrf": "x", "decision": "logout"}, follow_redirects=False
    )
    assert forged.status_code == 403 and _session_alive(who)
    answered = api.post(
        "/oauth2/logout", data={**fields, "decision": "logout"}, follow_redirects=False
    )
    assert answered.status_code == 303
    assert _query(answered.headers["location"])["state"] == ["s-3"]
    assert not _session_alive(who)


def test_rp_initiated_logout_2_hint_of_another_holder_is_not_enough(api: TestClient) -> None:
    client_id = _party()
    who = _signed_in(api)
    someone_else = holder()
    asked = api.get(
        "/oauth2/logout",
        params={"id_token_hint": _id_token(client_id, someone_else)},
        follow_redirects=False,
    )
    assert asked.status_code == 200 and 'name="decision" value="logout"' in asked.text
    assert _session_alive(who)


def test_rp_initiated_logout_2_a_hint_we_did_not_sign_is_not_enough(api: TestClient) -> None:
    from joserfc.jwk import ECKey

    client_id = _party()
    who = _signed_in(api)
    forged = jwt.encode(
        {"alg": "ES256", "kid": "x"},
        {"iss": get_settings().issuer, "aud": client_id, "sub": "s"},
        ECKey.generate_key("P-256"),
    )
    asked = api.get("/oauth2/logout", params={"id_token_hint": forged}, follow_redirects=False)
    assert asked.status_code == 200 and _session_alive(who)


def test_rp_initiated_logout_3_unregistered_post_logout_redirect_uri_is_never_followed(
    api: TestClient,
) -> None:
    client_id = _party()
    who = _signed_in(api)
    for uri in ("https://evil.example/", BACK + "&x=1", "https://bank.example/cb"):
        refused = api.get(
            "/oauth2/logout",
            params={
                "id_token_hint": _id_token(client_id, who),
                "post_logout_redirect_uri": uri,
                "state": "s",
            },
            follow_redirects=False,
        )
        assert refused.status_code == 400 and "location" not in refused.headers
    assert _session_alive(who)
    # Without a client to check it against, no redirect either.
    alone = api.get(
        "/oauth2/logout", params={"post_logout_redirect_uri": BACK}, follow_redirects=False
    )
    assert alone.status_code == 400


def test_rp_initiated_logout_2_client_id_must_match_the_hints_audience(api: TestClient) -> None:
    client_id, other = _party(), _party()
    who = _signed_in(api)
    refused = api.get(
        "/oauth2/logout",
        params={"id_token_hint": _id_token(client_id, who), "client_id": other},
        follow_redirects=False,
    )
    assert refused.status_code == 400 and _session_alive(who)


def test_rp_initiated_logout_5_without_redirect_uri_the_op_says_the_holder_is_out(
    api: TestClient,
) -> None:
    client_id = _party()
    who = _signed_in(api, language="ko")
    done = api.get("/oauth2/logout", params={"id_token_hint": _id_token(client_id, who)})
    assert done.status_code == 200 and "로그아웃되었습니다" in done.text
    assert 'role="status"' in done.text and not _session_alive(who)
    api.cookies.clear()
    again = api.get("/oauth2/logout", headers={"Accept-Language": "ja"})
    assert again.status_code == 200 and '<html lang="ja"' in again.text


def test_eid_client_create_registers_post_logout_redirect_uris(committed: object) -> None:
    import json

    from typer.testing import CliRunner

    from eid.cli import app as cli

    made = CliRunner().invoke(
        cli,
        [
            "client",
            "create",
            "--name",
            "Bank",
            "--redirect-uri",
            "https://bank.example/cb",
            "--post-logout-redirect-uri",
            BACK,
            "--scopes",
            "openid",
            "--purpose",
            "KYC",
        ],
    )
    assert made.exit_code == 0, made.output
    with unit_of_work() as db:
        row = clients.get_client(db, json.loads(made.output)["client_id"])
        assert row is not None and row.post_logout_redirect_uris == [BACK]
    bad = CliRunner().invoke(
        cli,
        [
            *("client", "create", "--name", "B", "--redirect-uri", "https://b.example/cb"),
            *("--post-logout-redirect-uri", "http://b.example/out", "--scopes", "openid"),
            *("--purpose", "KYC"),
        ],
    )
    assert bad.exit_code != 0


@pytest.mark.usefixtures("live")
def test_rfc7662_2_2_introspection_of_a_refresh_token_reports_its_own_expiry(live: str) -> None:
    from authlib.integrations.httpx_client import OAuth2Client

    from tests.identity.oidc_fixtures import register

    rp = register(["openid"])
    who = holder()
    client = OAuth2Client(
        client_id=rp.client_id,
        client_secret=rp.client_secret,
        scope="openid",
        redirect_uri=REDIRECT,
        code_challenge_method="S256",
    )
    verifier = secrets.token_urlsafe(48)
    url, _ = client.create_authorization_url(f"{live}/oauth2/authorize", code_verifier=verifier)
    code = query_of(browser_authorize(live, url, who.eid_number, PASSWORD, PASSCODE))["code"]
    issued_at = int(clock.now().timestamp())
    token = client.fetch_token(f"{live}/oauth2/token", code=code, code_verifier=verifier)
    auth = (rp.client_id, rp.client_secret)
    clock.shift(dt.timedelta(seconds=ACCESS_TOKEN_TTL + 60))  # the access token has expired
    access = httpx.post(
        f"{live}/oauth2/introspect", auth=auth, data={"token": token["access_token"]}
    ).json()
    assert access == {"active": False}
    refresh = httpx.post(
        f"{live}/oauth2/introspect",
        auth=auth,
        data={"token": token["refresh_token"], "token_type_hint": "refresh_token"},
    ).json()
    assert refresh["active"] is True
    expected = issued_at + int(REFRESH_TOKEN_TTL.total_seconds())
    assert abs(refresh["exp"] - expected) <= 5
    assert "token_type" not in refresh  # not a Bearer token
    clock.shift(REFRESH_TOKEN_TTL)
    gone = httpx.post(
        f"{live}/oauth2/introspect", auth=auth, data={"token": token["refresh_token"]}
    ).json()
    assert gone == {"active": False}
