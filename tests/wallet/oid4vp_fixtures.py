"""Shared by the OpenID4VP tests: a relying party, a holder with a card, and the wallet's side
done by hand (fetch the request object, present, post)."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from joserfc import jws
from joserfc.jwk import ECKey

from eid.core import clock
from eid.core.database import unit_of_work
from eid.wallet import sdjwt
from eid.wallet.oid4vp import X5cRegistry
from eid.wallet.service import issue_residence_card
from tests.identity.factories import TestHolder, make_holder
from tests.identity.oidc_fixtures import RelyingPartyFixture, register


@dataclass
class Card:
    holder: TestHolder
    credential: str


def relying_party(name: str = "Nhà trọ Hoa Mai") -> RelyingPartyFixture:
    return register(["openid", "ekyc_basic", "residence"], name=name)


def card() -> Card:
    with unit_of_work() as db:
        holder = make_holder(db, key=ECKey.generate_key("P-256"))
        issued = issue_residence_card(db, holder.account_id)
    return Card(holder, issued.credential)


def create(server: str, rp: RelyingPartyFixture, **form: str) -> httpx.Response:
    return httpx.post(
        f"{server}/api/v1/oid4vp/requests",
        data={"client_id": rp.client_id, "client_secret": rp.client_secret, **form},
    )


def wallet_params(wallet_url: str) -> dict[str, str]:
    parts = urlsplit(wallet_url)
    assert parts.scheme == "openid4vp"
    return {k: v[0] for k, v in parse_qs(parts.query).items()}


def resolve(wallet_url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """As a wallet: fetch the request object, check x509_hash and the signature by x5c[0]."""
    params = wallet_params(wallet_url)
    response = httpx.get(params["request_uri"])
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/oauth-authz-req+jwt")
    token = response.text
    header = json.loads(sdjwt.b64url_decode(token.split(".")[0]))
    leaf = base64.b64decode(header["x5c"][0])
    assert params["client_id"] == "x509_hash:" + sdjwt.b64url(hashlib.sha256(leaf).digest())
    cert = x509.load_der_x509_certificate(leaf)
    key = ECKey.import_key(
        cert.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    obj = jws.deserialize_compact(
        token, key, algorithms=["ES256"], registry=X5cRegistry(algorithms=["ES256"])
    )
    return header, json.loads(obj.payload)


def present(
    c: Card,
    request: dict[str, Any],
    reveal: list[str],
    *,
    nonce: str | None = None,
    aud: str | None = None,
) -> str:
    return sdjwt.present(
        c.credential,
        c.holder.device_key,
        reveal=reveal,
        aud=aud or request["client_id"],
        nonce=nonce or request["nonce"],
        iat=int(clock.now().timestamp()),
    )


def post(request: dict[str, Any], vp_token: dict[str, Any] | None, **extra: str) -> httpx.Response:
    data: dict[str, str] = {"state": request["state"], **extra}
    if vp_token is not None:
        data["vp_token"] = json.dumps(vp_token)
    return httpx.post(request["response_uri"], data=data)


def result(server: str, rp: RelyingPartyFixture, request_id: str, **form: str) -> httpx.Response:
    return httpx.post(
        f"{server}/api/v1/oid4vp/requests/{request_id}/result",
        data={"client_id": rp.client_id, "client_secret": rp.client_secret, **form},
    )
