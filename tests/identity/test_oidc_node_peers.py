"""Issue 11: two independent, OpenID-certified relying-party libraries, panva's `openid-client` 6
and `oauth4webapi` 3 (Node.js from the machine; versions pinned by
tests/peers/node/package-lock.json, installed by scripts/test), run the code flow against the live
server. The library does what a relying party's code does (discovery, the authorization URL with
PKCE/state/nonce, PAR and DPoP in the FAPI flow; then the code exchange, ID-token validation,
userinfo, refresh, revocation, logout); this file plays the holder's browser in between (login
with password + passcode, consent) and checks what the library answered.

The tests' issuer is plain `http://127.0.0.1:<port>`: the driver passes `allowInsecureRequests`
to both libraries for that (tests only, see tests/peers/node/driver.mjs).
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from typer.testing import CliRunner

from eid.cli import app as cli
from eid.identity.service import ACR_LEVEL2
from tests.identity import factories
from tests.identity.factories import PASSCODE, PASSWORD
from tests.identity.oidc_fixtures import REDIRECT, RelyingPartyFixture, holder, register

NODE_DIR = Path(__file__).resolve().parents[1] / "peers" / "node"
DRIVER = NODE_DIR / "driver.mjs"
LIBS = ["openid-client", "oauth4webapi"]


def _node_missing() -> str | None:
    if shutil.which("node") is None:
        return "Node.js is not on this machine: the independent relying-party libraries cannot run"
    for package in ("openid-client", "oauth4webapi"):
        if not (NODE_DIR / "node_modules" / package / "package.json").exists():
            return (
                f"{package} is not installed: `npm ci --prefix tests/peers/node` "
                "(scripts/test does it when npm is on the machine)"
            )
    return None


pytestmark = [
    pytest.mark.usefixtures("server"),
    pytest.mark.skipif(_node_missing() is not None, reason=_node_missing() or ""),
]


def node(lib: str, step: str, **request: Any) -> dict[str, Any]:
    """One step of the relying party, done by `lib`; its answer (fails the test on an error)."""
    answer = _run(lib, step, **request)
    assert answer["ok"], f"{lib} {step}: {answer['error']}"
    result: dict[str, Any] = answer["result"]
    return result


def _run(lib: str, step: str, **request: Any) -> dict[str, Any]:
    done = subprocess.run(
        ["node", str(DRIVER)],
        input=json.dumps({"lib": lib, "step": step, **request}),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=NODE_DIR,
        check=False,
    )
    assert done.returncode == 0 and done.stdout, (done.returncode, done.stderr[-2000:])
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


class Browser:
    """The holder's browser: keeps its cookies (the server's login session) between flows, logs
    in with password + passcode when sent to /oauth2/login, allows on the consent page, and
    stops at the first redirect that leaves the server (the relying party's callback)."""

    def __init__(self, base: str, who: factories.TestHolder) -> None:
        self.base = base
        self.who = who
        self.http = httpx.Client(base_url=base, follow_redirects=False, timeout=30)
        self.logged_in = 0
        self.consented = 0

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *_: object) -> None:
        self.http.close()

    def open(self, url: str) -> httpx.Response:
        """Open `url` and go wherever the server leads; the response that leaves it (or the
        last page when none does)."""
        response = self.http.get(url)
        for _ in range(10):
            if response.is_redirect:
                location = str(response.next_request.url) if response.next_request else ""
                if not location.startswith(self.base):
                    return response
                if "/oauth2/login" in urlsplit(location).path:
                    response = self._login(location)
                else:
                    response = self.http.get(location)
            elif response.status_code == 200 and 'name="decision"' in response.text:
                fields = {k: html.unescape(v) for k, v in _HIDDEN.findall(response.text)}
                fields["decision"] = "allow"
                self.consented += 1
                response = self.http.post(str(response.url), data=fields)
            else:
                return response
        raise AssertionError("too many redirects")

    def _login(self, location: str) -> httpx.Response:
        self.logged_in += 1
        next_url = parse_qs(urlsplit(location).query)["next"][0]
        return self.http.post(
            "/oauth2/login",
            data={
                "eid_number": self.who.eid_number,
                "password": PASSWORD,
                "passcode": PASSCODE,
                "next": next_url,
            },
        )


def _callback(response: httpx.Response) -> str:
    assert response.is_redirect, (response.status_code, response.text[:500])
    location = response.headers["location"]
    assert location.startswith(REDIRECT), location
    return str(location)


def flow(
    lib: str,
    base: str,
    rp: RelyingPartyFixture,
    browser: Browser,
    *,
    params: dict[str, str] | None = None,
    max_age: int | None = None,
    check_reuse: bool = True,
) -> dict[str, Any]:
    """The whole code flow: the library's URL, the holder's browser, the library's callback."""
    common = {
        "issuer": base,
        "client_id": rp.client_id,
        "client_secret": rp.client_secret,
        "redirect_uri": REDIRECT,
        "scope": " ".join(rp.scopes),
    }
    start = node(lib, "authorize", params=params or {}, **common)
    callback = _callback(browser.open(start["url"]))
    extra = {"max_age": max_age} if max_age is not None else {}
    return node(
        lib,
        "callback",
        state=start["state"],
        callback=callback,
        check_reuse=check_reuse,
        **common,
        **extra,
    )


def _next_second(auth_time: int) -> None:
    """Wait for the clock to pass `auth_time`'s second (auth_time counts whole seconds), so a
    new authentication shows as a greater auth_time: under a second."""
    while time.time() < auth_time + 1:
        time.sleep(0.05)


def _common(base: str, rp: RelyingPartyFixture) -> dict[str, Any]:
    return {
        "issuer": base,
        "client_id": rp.client_id,
        "client_secret": rp.client_secret,
        "redirect_uri": REDIRECT,
    }


# ------------------------------------------------------------------------- what passes today


@pytest.mark.parametrize("lib", LIBS)
def test_basic_code_flow_pkce_id_token_userinfo_refresh(server: str, lib: str) -> None:
    rp = register(["openid", "ekyc_basic"])
    who = holder()
    with Browser(server, who) as browser:
        out = flow(lib, server, rp, browser)
    assert browser.logged_in == 1 and browser.consented == 1
    claims = out["claims"]
    assert claims["iss"] == server and claims["aud"] == rp.client_id
    assert claims["acr"] == ACR_LEVEL2
    assert out["at_hash_ok"], "at_hash does not match the access token"
    assert out["signature_ok"], "the ID token's signature does not verify with the JWKS"
    assert out["token_type"].lower() == "bearer"
    assert out["userinfo"]["sub"] == claims["sub"]
    assert out["userinfo"]["name"] == "NGUYEN VAN A"
    assert claims["sub"] not in (who.eid_number, str(who.account_id))  # pairwise
    # Refresh rotation: a new refresh token, the old one refused to the library.
    assert out["refresh"]["rotated"] and out["refresh"]["new_access_token"]
    assert out["reuse"]["refused"], out["reuse"]
    assert out["reuse"].get("error") == "invalid_grant", out["reuse"]


@pytest.mark.parametrize("lib", LIBS)
def test_revocation_by_the_library_ends_the_tokens(server: str, lib: str) -> None:
    rp = register(["openid"])
    with Browser(server, holder()) as browser:
        out = flow(lib, server, rp, browser, check_reuse=False)
    token, access = out["refresh_token"], out["rotated_access_token"]
    auth = (rp.client_id, rp.client_secret)

    def active(t: str) -> bool:
        answer = httpx.post(f"{server}/oauth2/introspect", auth=auth, data={"token": t}).json()
        return bool(answer["active"])

    assert active(token) and active(access)  # rotation without reuse keeps the family alive
    node(lib, "revoke", token=token, token_type_hint="refresh_token", **_common(server, rp))
    assert not active(token) and not active(access)
    userinfo = httpx.get(f"{server}/oauth2/userinfo", headers={"Authorization": f"Bearer {access}"})
    assert userinfo.status_code == 401


@pytest.mark.parametrize("lib", LIBS)
def test_prompt_none_without_a_session_is_login_required_to_the_library(
    server: str, lib: str
) -> None:
    rp = register(["openid"])
    common = {**_common(server, rp), "scope": "openid"}
    start = node(lib, "authorize", params={"prompt": "none"}, **common)
    with Browser(server, holder()) as browser:
        callback = _callback(browser.open(start["url"]))
        assert browser.logged_in == 0 and browser.consented == 0
    answer = _run(lib, "callback", state=start["state"], callback=callback, **common)
    assert not answer["ok"]
    assert answer["error"]["code"] == "OAUTH_AUTHORIZATION_RESPONSE_ERROR"
    assert answer["error"]["error"] == "login_required"


# ------------------------------------------------------------------------- what issue 11 asks


@pytest.mark.parametrize("lib", LIBS)
def test_prompt_none_is_silent_with_a_session_and_consent(server: str, lib: str) -> None:
    rp = register(["openid"])
    with Browser(server, holder()) as browser:
        first = flow(lib, server, rp, browser)
        silent = {"prompt": "none", "id_token_hint": first["id_token"]}
        second = flow(lib, server, rp, browser, params=silent)
        assert browser.logged_in == 1 and browser.consented == 1  # no page the second time
    assert second["claims"]["sub"] == first["claims"]["sub"]
    assert second["claims"]["auth_time"] == first["claims"]["auth_time"]


@pytest.mark.parametrize("lib", LIBS)
def test_prompt_login_reauthenticates_with_a_new_auth_time(server: str, lib: str) -> None:
    rp = register(["openid"])
    with Browser(server, holder()) as browser:
        first = flow(lib, server, rp, browser)
        _next_second(first["claims"]["auth_time"])
        second = flow(lib, server, rp, browser, params={"prompt": "login"})
        assert browser.logged_in == 2
    assert second["claims"]["auth_time"] > first["claims"]["auth_time"]


@pytest.mark.parametrize("lib", LIBS)
def test_max_age_reauthenticates_with_a_new_auth_time(server: str, lib: str) -> None:
    """`max_age=0`: the holder authenticates again whatever the session's age (OpenID Connect
    Core 3.1.2.1); the library checks `auth_time` against `max_age` itself (oauth4webapi:
    OAUTH_JWT_TIMESTAMP_CHECK_FAILED past its clock tolerance)."""
    rp = register(["openid"])
    with Browser(server, holder()) as browser:
        first = flow(lib, server, rp, browser)
        _next_second(first["claims"]["auth_time"])
        second = flow(lib, server, rp, browser, params={"max_age": "0"}, max_age=0)
        assert browser.logged_in == 2
    assert second["claims"]["auth_time"] > first["claims"]["auth_time"]


@pytest.mark.parametrize("lib", LIBS)
def test_rp_initiated_logout_ends_the_session(server: str, lib: str) -> None:
    rp = register(["openid"], post_logout_redirect_uris=[REDIRECT])
    with Browser(server, holder()) as browser:
        first = flow(lib, server, rp, browser)
        logout = node(
            lib,
            "logout",
            id_token=first["id_token"],
            post_logout_redirect_uri=REDIRECT,
            logout_state="bye-1",
            **_common(server, rp),
        )
        back = browser.open(logout["url"])
        assert back.is_redirect, (back.status_code, back.text[:300])
        location = back.headers["location"]
        assert location.startswith(REDIRECT)
        assert parse_qs(urlsplit(location).query)["state"] == ["bye-1"]
        # The session is gone: the next authorization asks the holder to log in again.
        flow(lib, server, rp, browser)
        assert browser.logged_in == 2


@pytest.mark.parametrize("lib", LIBS)
def test_fapi2_par_dpop_private_key_jwt(server: str, lib: str, tmp_path: Path) -> None:
    """FAPI 2.0 Security Profile as the library does it: the client registered with its public
    JWKS, the request pushed (PAR) with a private_key_jwt assertion, DPoP-bound tokens;
    userinfo refuses the access token used as a plain bearer token."""
    keys = node(lib, "keys")
    jwks = tmp_path / "rp-jwks.json"
    jwks.write_text(json.dumps(keys["jwks"]))
    created = CliRunner().invoke(
        cli,
        [
            "client",
            "create",
            "--name",
            "FAPI Bank",
            "--redirect-uri",
            REDIRECT,
            "--scopes",
            "openid ekyc_basic",
            "--purpose",
            "open a bank account (KYC)",
            "--profile",
            "fapi2",
            "--jwks",
            str(jwks),
        ],
    )
    assert created.exit_code == 0, created.output
    client_id = json.loads(created.output)["client_id"]
    common = {
        "issuer": server,
        "client_id": client_id,
        "redirect_uri": REDIRECT,
        "scope": "openid ekyc_basic",
        "fapi": True,
    }
    start = node(lib, "authorize", state={"client_key": keys["client_key"]}, **common)
    assert "request_uri=" in start["url"]
    with Browser(server, holder()) as browser:
        callback = _callback(browser.open(start["url"]))
    assert "iss=" in callback  # RFC 9207, required by FAPI 2.0
    out = node(lib, "callback", state=start["state"], callback=callback, **common)
    assert out["token_type"].lower() == "dpop"
    assert out["claims"]["acr"] == ACR_LEVEL2 and out["at_hash_ok"]
    assert out["userinfo"]["name"] == "NGUYEN VAN A"
    assert out["bearer_use_status"] == 401
    assert out["refresh"]["rotated"]


def _register_with_keys(jwks: Path, *profile: str) -> str:
    created = CliRunner().invoke(
        cli,
        [
            "client",
            "create",
            "--name",
            "Keyed Bank",
            "--redirect-uri",
            REDIRECT,
            "--scopes",
            "openid ekyc_basic",
            "--purpose",
            "open a bank account (KYC)",
            *profile,
            "--jwks",
            str(jwks),
        ],
    )
    assert created.exit_code == 0, created.output
    out = json.loads(created.output)
    assert "client_secret" not in out  # private_key_jwt: no secret exists
    client_id: str = out["client_id"]
    return client_id


@pytest.mark.parametrize("lib", LIBS)
def test_rfc9101_signed_request_object_by_the_library(
    server: str, lib: str, tmp_path: Path
) -> None:
    """A basic-profile client with keys: the library signs the authorization request as a
    request object (openid-client `buildAuthorizationUrlWithJAR`, oauth4webapi
    `issueRequestObject`), the outer URL has only client_id and request; private_key_jwt at
    the token endpoint; bearer tokens (no DPoP)."""
    keys = node(lib, "keys")
    jwks = tmp_path / "rp-jwks.json"
    jwks.write_text(json.dumps(keys["jwks"]))
    client_id = _register_with_keys(jwks)
    common = {
        "issuer": server,
        "client_id": client_id,
        "redirect_uri": REDIRECT,
        "scope": "openid ekyc_basic",
        "jar": True,
    }
    start = node(lib, "authorize", state={"client_key": keys["client_key"]}, **common)
    query = parse_qs(urlsplit(start["url"]).query)
    assert set(query) == {"client_id", "request"}, query
    with Browser(server, holder()) as browser:
        callback = _callback(browser.open(start["url"]))
    out = node(lib, "callback", state=start["state"], callback=callback, **common)
    assert out["token_type"].lower() == "bearer"
    assert out["claims"]["aud"] == client_id and out["at_hash_ok"]
    assert out["userinfo"]["name"] == "NGUYEN VAN A"
