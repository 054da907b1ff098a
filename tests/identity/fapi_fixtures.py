"""A FAPI 2.0 relying party in Python, for the spec-clause tests: its keys, private_key_jwt
assertions, DPoP proofs, pushed requests and signed request objects (joserfc), and the holder's
browser through login and consent."""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
import time
import warnings
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from joserfc import jwt
from joserfc.jwk import ECKey, OKPKey, RSAKey

from eid.core.database import unit_of_work
from eid.identity.clients import create_client
from tests.identity.factories import PASSCODE, PASSWORD, TestHolder
from tests.identity.oidc_fixtures import ADMIN, REDIRECT

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def new_key(kid: str | None = None) -> ECKey:
    return ECKey.generate_key("P-256", parameters={"kid": kid or secrets.token_hex(8)})


def new_rsa_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": secrets.token_hex(8)})


def _alg(key: ECKey | RSAKey) -> str:
    return "PS256" if isinstance(key, RSAKey) else "ES256"


def public_jwks(*keys: ECKey | RSAKey) -> dict[str, Any]:
    return {"keys": [{**k.as_dict(private=False), "use": "sig", "alg": _alg(k)} for k in keys]}


@dataclass
class FapiClient:
    server: str
    client_id: str
    key: ECKey | RSAKey
    dpop_key: ECKey | OKPKey = field(default_factory=new_key)

    # ------------------------------------------------------------ client authentication
    def assertion(self, **override: Any) -> str:
        now = int(time.time())
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.server,
            "jti": secrets.token_urlsafe(16),
            "iat": now,
            "exp": now + 60,
            **override,
        }
        claims = {k: v for k, v in claims.items() if v is not None}
        alg = _alg(self.key)
        return jwt.encode({"alg": alg, "kid": self.key.kid}, claims, self.key, algorithms=[alg])

    def auth(self, **override: Any) -> dict[str, str]:
        return {
            "client_id": self.client_id,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self.assertion(**override),
        }

    # ------------------------------------------------------------ DPoP
    def proof(
        self,
        htm: str,
        path: str,
        *,
        access_token: str | None = None,
        key: ECKey | OKPKey | None = None,
        header: dict[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        key = key or self.dpop_key
        payload: dict[str, Any] = {
            "htm": htm,
            "htu": f"{self.server}{path}",
            "iat": int(time.time()),
            "jti": secrets.token_urlsafe(12),
        }
        if access_token is not None and "ath" not in claims:
            digest = hashlib.sha256(access_token.encode()).digest()
            payload["ath"] = base64.urlsafe_b64encode(digest).decode().rstrip("=")
        payload.update(claims)
        payload = {k: v for k, v in payload.items() if v is not None}
        alg = "EdDSA" if isinstance(key, OKPKey) else "ES256"
        head = {"typ": "dpop+jwt", "alg": alg, "jwk": key.as_dict(private=False)}
        head.update(header or {})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # joserfc: "EdDSA" has newer names (RFC 9864)
            return jwt.encode(head, payload, key, algorithms=[head["alg"]])

    # ------------------------------------------------------------ the flow
    def authorization_params(self, **extra: str) -> tuple[dict[str, str], str]:
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": REDIRECT,
            "scope": "openid ekyc_basic",
            "state": secrets.token_urlsafe(8),
            "nonce": secrets.token_urlsafe(8),
            "code_challenge": challenge.rstrip(b"=").decode(),
            "code_challenge_method": "S256",
            **extra,
        }
        return {k: v for k, v in params.items() if v}, verifier

    def push(
        self, params: dict[str, str], *, dpop: bool = True, auth: dict[str, str] | None = None
    ) -> httpx.Response:
        headers = {"DPoP": self.proof("POST", "/oauth2/par")} if dpop else {}
        return httpx.post(
            f"{self.server}/oauth2/par",
            data={**params, **(auth if auth is not None else self.auth())},
            headers=headers,
        )

    def authorize_url(self, request_uri: str) -> str:
        return "/oauth2/authorize?" + urlencode(
            {"client_id": self.client_id, "request_uri": request_uri}
        )

    def redeem(
        self, code: str, verifier: str, *, dpop: bool = True, key: ECKey | OKPKey | None = None
    ) -> httpx.Response:
        headers = {"DPoP": self.proof("POST", "/oauth2/token", key=key)} if dpop else {}
        return httpx.post(
            f"{self.server}/oauth2/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "code_verifier": verifier,
                "redirect_uri": REDIRECT,
                **self.auth(),
            },
            headers=headers,
        )

    def refresh(
        self,
        refresh_token: str,
        *,
        dpop: bool = True,
        key: ECKey | OKPKey | None = None,
    ) -> httpx.Response:
        headers = {"DPoP": self.proof("POST", "/oauth2/token", key=key)} if dpop else {}
        return httpx.post(
            f"{self.server}/oauth2/token",
            data={"grant_type": "refresh_token", "refresh_token": refresh_token, **self.auth()},
            headers=headers,
        )

    def userinfo(self, access_token: str, *, scheme: str = "DPoP", **proof: Any) -> httpx.Response:
        headers = {"Authorization": f"{scheme} {access_token}"}
        if scheme == "DPoP":
            proof.setdefault("access_token", access_token)
            headers["DPoP"] = self.proof("GET", "/oauth2/userinfo", **proof)
        return httpx.get(f"{self.server}/oauth2/userinfo", headers=headers)


def register_fapi(
    server: str,
    *,
    profile: str = "fapi2",
    key: ECKey | RSAKey | None = None,
    jwks_uri: str | None = None,
    scopes: tuple[str, ...] = ("openid", "ekyc_basic"),
) -> FapiClient:
    key = key or new_key()
    with unit_of_work() as db:
        client_id, secret = create_client(
            db,
            name="FAPI Bank",
            redirect_uris=[REDIRECT],
            scopes=list(scopes),
            purpose="open a bank account (KYC)",
            actor=ADMIN,
            profile=profile,
            jwks=None if jwks_uri else public_jwks(key),
            jwks_uri=jwks_uri,
        )
    assert secret is None
    return FapiClient(server=server, client_id=client_id, key=key)


# ------------------------------------------------------------------ the holder's browser


def browser(server: str) -> httpx.Client:
    return httpx.Client(base_url=server, follow_redirects=False, timeout=30)


def callback_params(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 302, (response.status_code, response.text[:300])
    location = response.headers["location"]
    assert location.startswith(REDIRECT), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def through_login_and_consent(client: httpx.Client, who: TestHolder, url: str) -> httpx.Response:
    """Open `url`, log in when sent to the login page, allow on the consent page: the
    response that leaves the server (or the page it stopped at)."""
    response = client.get(url)
    if response.status_code == 303 and "/oauth2/login" in response.headers["location"]:
        next_url = parse_qs(urlsplit(response.headers["location"]).query)["next"][0]
        response = client.post(
            "/oauth2/login",
            data={
                "eid_number": who.eid_number,
                "password": PASSWORD,
                "passcode": PASSCODE,
                "next": next_url,
            },
        )
        assert response.status_code == 303, response.text[:300]
        response = client.get(response.headers["location"])
    if response.status_code == 200 and 'name="decision"' in response.text:
        fields = {k: html.unescape(v) for k, v in _HIDDEN.findall(response.text)}
        fields["decision"] = "allow"
        response = client.post("/oauth2/authorize", data=fields)
    return response
