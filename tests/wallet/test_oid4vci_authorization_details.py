"""OpenID4VCI 1.0 authorization code flow beyond `scope`: a wallet asks for the card by
`authorization_details` (§5.1.1, RFC 9396), at the authorization endpoint or by PAR; the token
response names `credential_identifiers` (§6.2) and the credential endpoint then takes those only
(§8.2); an offer's `authorization_code` grant carries an `issuer_state` (§4.1.1) that binds the
request to the offer and its holder (§5.1.3). Every refusal has its stable error code."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import secrets
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from joserfc import jws
from joserfc.jwk import ECKey
from sqlalchemy import text, update

from eid.authority import service as authority
from eid.core import clock
from eid.core.database import unit_of_work
from eid.identity.clients import create_client
from eid.wallet import oid4vci, sdjwt
from eid.wallet.models import CredentialOffer
from tests.identity.factories import PASSCODE, PASSWORD, activate_over_api
from tests.identity.oidc_fixtures import ADMIN, REDIRECT
from tests.support import code_in, outbox

_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
SCOPE = oid4vci.SCOPES[oid4vci.SD_JWT_CONFIGURATION]
CONFIG = oid4vci.SD_JWT_CONFIGURATION
CARD_LABEL = "your e-residence card, to keep in this wallet"


def _details(*configuration_ids: str, **extra: Any) -> str:
    return json.dumps(
        [
            {"type": "openid_credential", "credential_configuration_id": c, **extra}
            for c in configuration_ids
        ]
    )


def _dpop(key: ECKey, method: str, url: str, access_token: str | None = None) -> str:
    payload: dict[str, Any] = {
        "htm": method,
        "htu": url,
        "iat": int(clock.now().timestamp()),
        "jti": secrets.token_hex(8),
    }
    if access_token is not None:
        payload["ath"] = sdjwt.digest(access_token)
    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": key.as_dict(private=False)}
    return jws.serialize_compact(header, json.dumps(payload).encode(), key, algorithms=["ES256"])


def _wallet(scopes: list[str] | None = None) -> str:
    with unit_of_work() as db:
        client_id, _ = create_client(
            db,
            name="Example Wallet",
            redirect_uris=[REDIRECT],
            scopes=scopes or [SCOPE],
            purpose="keep the holder's e-residence card",
            actor=ADMIN,
            profile="wallet",
        )
        return client_id


@dataclass
class Holder:
    eid_number: str
    token: str  # the holder app's access token (to ask for offers)

    @property
    def account_id(self) -> uuid.UUID:
        with unit_of_work() as db:
            account = authority.find_by_eid_number(db, self.eid_number)
            assert account is not None
            return account.id


def _holder(live: str) -> Holder:
    with httpx.Client(base_url=live, timeout=30) as http:
        number, token = activate_over_api(http, ECKey.generate_key("P-256"))
    return Holder(number, token)


def _offer(live: str, holder: Holder, *, authorization_code: bool = True) -> dict[str, Any]:
    """The offer as a wallet resolves it from the QR's credential_offer_uri."""
    with httpx.Client(base_url=live, timeout=30) as http:
        made = http.post(
            "/api/v1/me/wallet/offers",
            json={
                "credential_configuration_ids": [CONFIG],
                "authorization_code": authorization_code,
            },
            headers={"Authorization": f"Bearer {holder.token}"},
        )
        assert made.status_code == 201, made.text
        document = http.get(made.json()["credential_offer_uri"])
        assert document.status_code == 200, document.text
    offer: dict[str, Any] = document.json()
    return offer


@dataclass
class Request:
    params: dict[str, str]
    verifier: str


def _request(client_id: str, **extra: str) -> Request:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT,
        "state": secrets.token_urlsafe(8),
        "code_challenge": challenge.rstrip(b"=").decode(),
        "code_challenge_method": "S256",
        **extra,
    }
    return Request(params, verifier)


def _query(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def _authorize(
    live: str, params: dict[str, str], holder: Holder, *, consent: bool = True
) -> tuple[str, dict[str, str]]:
    """The holder signs in and (if asked) allows; returns (consent page text, the query of the
    redirect back to the wallet)."""
    with httpx.Client(base_url=live, follow_redirects=False, timeout=30) as browser:
        response = browser.get("/oauth2/authorize?" + urlencode(params))
        assert response.status_code == 303, response.text[:300]
        next_url = _query(response.headers["location"])["next"]
        login = browser.post(
            "/oauth2/login",
            data={
                "eid_number": holder.eid_number,
                "password": PASSWORD,
                "passcode": PASSCODE,
                "next": next_url,
            },
        )
        page = browser.get(login.headers["location"])
        if page.status_code == 302:  # refused once the holder is known
            return "", _query(page.headers["location"])
        assert page.status_code == 200, page.text[:300]
        fields = {k: html.unescape(v) for k, v in _HIDDEN.findall(page.text)}
        fields["decision"] = "allow" if consent else "deny"
        back = browser.post("/oauth2/authorize", data=fields)
    assert back.status_code == 302 and back.headers["location"].startswith(REDIRECT)
    return page.text, _query(back.headers["location"])


def _token(live: str, client_id: str, code: str, verifier: str, key: ECKey) -> httpx.Response:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "code_verifier": verifier,
        "redirect_uri": REDIRECT,
        "client_id": client_id,
    }
    url = f"{live}/oauth2/token"
    return httpx.post(url, data=form, headers={"DPoP": _dpop(key, "POST", url)})


def _proof(live: str) -> str:
    nonce = httpx.post(f"{live}/oid4vci/nonce").json()["c_nonce"]
    key = ECKey.generate_key("P-256")
    return jws.serialize_compact(
        {"typ": oid4vci.PROOF_TYP, "alg": "ES256", "jwk": key.as_dict(private=False)},
        json.dumps({"aud": live, "iat": int(clock.now().timestamp()), "nonce": nonce}).encode(),
        key,
        algorithms=["ES256"],
    )


def _credential(live: str, access: str, key: ECKey, body: dict[str, Any]) -> httpx.Response:
    url = f"{live}/oid4vci/credential"
    return httpx.post(
        url,
        json=body,
        headers={
            "Authorization": f"DPoP {access}",
            "DPoP": _dpop(key, "POST", url, access),
        },
    )


def _code_flow(
    live: str, client_id: str, holder: Holder, **extra: str
) -> tuple[str, dict[str, Any], ECKey]:
    """Authorize, consent, redeem: (consent page text, token response, DPoP key)."""
    request = _request(client_id, **extra)
    page, query = _authorize(live, request.params, holder)
    assert query.get("state") == request.params["state"] and "code" in query, query
    key = ECKey.generate_key("P-256")
    token = _token(live, client_id, query["code"], request.verifier, key)
    assert token.status_code == 200, token.text
    return page, token.json(), key


# ---------------------------------------------------------------- metadata


def test_authorization_server_metadata_advertises_openid_credential(live: str) -> None:
    metadata = httpx.get(f"{live}/.well-known/oauth-authorization-server").json()
    assert metadata["authorization_details_types_supported"] == ["openid_credential"]
    assert metadata["pushed_authorization_request_endpoint"] == f"{live}/oauth2/par"


# ---------------------------------------------------------------- the happy paths


def test_authorization_details_only_yields_credential_identifiers(live: str) -> None:
    client_id = _wallet()
    holder = _holder(live)
    page, body, key = _code_flow(
        live, client_id, holder, authorization_details=_details(CONFIG, locations=[live])
    )
    assert CARD_LABEL in page  # the consent page names the card asked for
    assert body["token_type"] == "DPoP" and "scope" not in body
    [entry] = body["authorization_details"]
    assert entry["type"] == "openid_credential"
    assert entry["credential_configuration_id"] == CONFIG
    [identifier] = entry["credential_identifiers"]
    access = body["access_token"]
    proof = _proof(live)
    # §8.2: with identifiers issued, the configuration id is the wrong parameter ...
    wrong = _credential(
        live, access, key, {"credential_configuration_id": CONFIG, "proofs": {"jwt": [proof]}}
    )
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_credential_request"
    both = _credential(
        live,
        access,
        key,
        {
            "credential_identifier": identifier,
            "credential_configuration_id": CONFIG,
            "proofs": {"jwt": [proof]},
        },
    )
    assert both.status_code == 400 and both.json()["error"] == "invalid_credential_request"
    unknown = _credential(
        live, access, key, {"credential_identifier": "card-other", "proofs": {"jwt": [proof]}}
    )
    assert unknown.status_code == 400
    assert unknown.json()["error"] == "unknown_credential_identifier"
    # ... and the identifier the right one (the refusals above spent no nonce).
    answer = _credential(
        live, access, key, {"credential_identifier": identifier, "proofs": {"jwt": [proof]}}
    )
    assert answer.status_code == 200, answer.text
    credential = answer.json()["credentials"][0]["credential"]
    payload = json.loads(base64.urlsafe_b64decode(credential.split(".")[1] + "=="))
    assert payload["vct"] == oid4vci.configurations()[CONFIG]["vct"]


def test_scope_and_authorization_details_together(live: str) -> None:
    """Both: the scope is granted, and identifiers are named for every credential granted."""
    client_id = _wallet()
    _, body, _ = _code_flow(
        live, client_id, _holder(live), scope=SCOPE, authorization_details=_details(CONFIG)
    )
    assert body["scope"] == SCOPE
    assert [e["credential_configuration_id"] for e in body["authorization_details"]] == [CONFIG]


def test_scope_only_token_refuses_a_credential_identifier(live: str) -> None:
    client_id = _wallet()
    _, body, key = _code_flow(live, client_id, _holder(live), scope=SCOPE)
    assert "authorization_details" not in body
    refused = _credential(
        live,
        body["access_token"],
        key,
        {"credential_identifier": "card-x", "proofs": {"jwt": [_proof(live)]}},
    )
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_credential_request"


def test_pushed_authorization_details_of_a_public_wallet(live: str) -> None:
    """A wallet is a public client: it pushes with its client_id (and a DPoP proof)."""
    client_id = _wallet()
    holder = _holder(live)
    request = _request(client_id, authorization_details=_details(CONFIG))
    key = ECKey.generate_key("P-256")
    pushed = httpx.post(
        f"{live}/oauth2/par",
        data=request.params,
        headers={"DPoP": _dpop(key, "POST", f"{live}/oauth2/par")},
    )
    assert pushed.status_code == 201, pushed.text
    _, query = _authorize(
        live, {"client_id": client_id, "request_uri": pushed.json()["request_uri"]}, holder
    )
    token = _token(live, client_id, query["code"], request.verifier, key)
    assert token.status_code == 200, token.text
    assert token.json()["authorization_details"][0]["credential_configuration_id"] == CONFIG
    # Another key cannot redeem a code pushed with this one (RFC 9449 §10).
    assert token.json()["token_type"] == "DPoP"


# ---------------------------------------------------------------- refusals


REFUSED_DETAILS = {
    "not JSON": ("[{", "must be a JSON array"),
    "not an array": (json.dumps({"type": "openid_credential"}), "non-empty array"),
    "empty": ("[]", "non-empty array"),
    "entry not an object": ('["openid_credential"]', "is an object"),
    "unknown type": (
        json.dumps([{"type": "payment_initiation", "credential_configuration_id": CONFIG}]),
        "unknown authorization_details type",
    ),
    "unknown configuration": (_details("eid_passport_dc_sd_jwt"), "unknown credential_config"),
    "no configuration": (json.dumps([{"type": "openid_credential"}]), "unknown credential_config"),
    "repeated": (_details(CONFIG, CONFIG), "is repeated"),
    "unknown member": (
        _details(CONFIG, credential_identifiers=["x"]),
        "unknown member of an openid_credential entry: credential_identifiers",
    ),
    "another location": (_details(CONFIG, locations=["https://elsewhere.example"]), "locations"),
    "claims without path": (_details(CONFIG, claims=[{"name": "x"}]), "needs a path"),
    "too many entries": (json.dumps([{"type": "openid_credential"}] * 5), "at most 4 entries"),
    "too long": (_details(CONFIG, claims=[{"path": ["x" * 5000]}]), "longer than 4096"),
}


@pytest.mark.parametrize("case", sorted(REFUSED_DETAILS))
def test_malformed_authorization_details_are_refused(live: str, case: str) -> None:
    value, description = REFUSED_DETAILS[case]
    client_id = _wallet()
    request = _request(client_id, authorization_details=value)
    response = httpx.get(
        f"{live}/oauth2/authorize?" + urlencode(request.params), follow_redirects=False
    )
    assert response.status_code == 302, response.text[:300]
    query = _query(response.headers["location"])
    assert query["error"] == "invalid_authorization_details"
    assert description in query["error_description"]
    assert query["state"] == request.params["state"] and query["iss"] == live
    # The same refusal when pushed (RFC 9126 §2.3: the error in the PAR response).
    pushed = httpx.post(f"{live}/oauth2/par", data=request.params)
    assert pushed.status_code == 400
    assert pushed.json()["error"] == "invalid_authorization_details"


def test_a_relying_party_cannot_ask_for_credentials(live: str) -> None:
    with unit_of_work() as db:
        rp_id, _ = create_client(
            db,
            name="Bank",
            redirect_uris=[REDIRECT],
            scopes=["openid"],
            purpose="p",
            actor=ADMIN,
        )
    request = _request(rp_id, scope="openid", authorization_details=_details(CONFIG))
    response = httpx.get(
        f"{live}/oauth2/authorize?" + urlencode(request.params), follow_redirects=False
    )
    query = _query(response.headers["location"])
    assert query["error"] == "invalid_authorization_details"


def test_a_credential_outside_the_wallets_agreement_is_refused(live: str) -> None:
    if oid4vci.MDOC_CONFIGURATION not in oid4vci.configurations():
        pytest.skip("the mdoc configuration is not offered here")
    client_id = _wallet([SCOPE])  # the SD-JWT VC card only
    request = _request(client_id, authorization_details=_details(oid4vci.MDOC_CONFIGURATION))
    response = httpx.get(
        f"{live}/oauth2/authorize?" + urlencode(request.params), follow_redirects=False
    )
    query = _query(response.headers["location"])
    assert query["error"] == "invalid_authorization_details"
    assert "agreement" in query["error_description"]


def test_neither_scope_nor_authorization_details_is_refused(live: str) -> None:
    request = _request(_wallet())
    response = httpx.get(
        f"{live}/oauth2/authorize?" + urlencode(request.params), follow_redirects=False
    )
    assert _query(response.headers["location"])["error"] == "invalid_scope"


# ---------------------------------------------------------------- issuer_state


def test_offers_carry_the_authorization_code_grant_only_when_asked(live: str) -> None:
    holder = _holder(live)
    plain = _offer(live, holder, authorization_code=False)
    assert set(plain["grants"]) == {oid4vci.PRE_AUTHORIZED_GRANT}
    both = _offer(live, holder)
    assert set(both["grants"]) == {"authorization_code", oid4vci.PRE_AUTHORIZED_GRANT}
    assert len(both["grants"]["authorization_code"]["issuer_state"]) >= 32


def test_issuer_state_binds_the_card_to_the_offers_holder(live: str) -> None:
    client_id = _wallet()
    holder = _holder(live)
    offer = _offer(live, holder)
    issuer_state = offer["grants"]["authorization_code"]["issuer_state"]
    page, body, key = _code_flow(
        live,
        client_id,
        holder,
        authorization_details=_details(CONFIG),
        issuer_state=issuer_state,
    )
    assert CARD_LABEL in page
    identifier = body["authorization_details"][0]["credential_identifiers"][0]
    answer = _credential(
        live,
        body["access_token"],
        key,
        {"credential_identifier": identifier, "proofs": {"jwt": [_proof(live)]}},
    )
    assert answer.status_code == 200, answer.text
    with unit_of_work() as db:
        spent = db.execute(
            text("SELECT count(*) FROM audit_events WHERE action = 'wallet.offer_authorized'")
        ).scalar_one()
    assert spent >= 1
    # The offer is spent, both ways: its issuer_state again, and its pre-authorized code.
    again = _request(client_id, authorization_details=_details(CONFIG), issuer_state=issuer_state)
    response = httpx.get(
        f"{live}/oauth2/authorize?" + urlencode(again.params), follow_redirects=False
    )
    query = _query(response.headers["location"])
    assert query["error"] == "invalid_request" and "issuer_state" in query["error_description"]
    token = httpx.post(
        f"{live}/oauth2/token",
        data={
            "grant_type": oid4vci.PRE_AUTHORIZED_GRANT,
            "pre-authorized_code": offer["grants"][oid4vci.PRE_AUTHORIZED_GRANT][
                "pre-authorized_code"
            ],
            "tx_code": _tx_code(holder),
        },
    )
    assert token.status_code == 400 and token.json()["error"] == "invalid_grant"


def _tx_code(holder: Holder) -> str:
    with unit_of_work() as db:
        sms = [
            m for m in outbox(db, holder.account_id, "wallet_offer_tx_code") if m.channel == "sms"
        ]
    return code_in(sms[-1].text)


def test_unknown_issuer_state_is_refused(live: str) -> None:
    request = _request(_wallet(), scope=SCOPE, issuer_state=secrets.token_urlsafe(32))
    response = httpx.get(
        f"{live}/oauth2/authorize?" + urlencode(request.params), follow_redirects=False
    )
    query = _query(response.headers["location"])
    assert query["error"] == "invalid_request"
    assert query["error_description"] == "issuer_state is unknown, used or expired"


def test_expired_issuer_state_is_refused(live: str) -> None:
    holder = _holder(live)
    offer = _offer(live, holder)
    with unit_of_work() as db:
        db.execute(
            update(CredentialOffer)
            .where(CredentialOffer.account_id == holder.account_id)
            .values(expires_at=clock.now() - oid4vci.OFFER_TTL)
        )
    request = _request(
        _wallet(),
        scope=SCOPE,
        issuer_state=offer["grants"]["authorization_code"]["issuer_state"],
    )
    response = httpx.get(
        f"{live}/oauth2/authorize?" + urlencode(request.params), follow_redirects=False
    )
    assert _query(response.headers["location"])["error"] == "invalid_request"


def test_issuer_state_after_the_pre_authorized_code_is_refused(live: str) -> None:
    holder = _holder(live)
    offer = _offer(live, holder)
    token = httpx.post(
        f"{live}/oauth2/token",
        data={
            "grant_type": oid4vci.PRE_AUTHORIZED_GRANT,
            "pre-authorized_code": offer["grants"][oid4vci.PRE_AUTHORIZED_GRANT][
                "pre-authorized_code"
            ],
            "tx_code": _tx_code(holder),
        },
    )
    assert token.status_code == 200, token.text
    request = _request(
        _wallet(),
        authorization_details=_details(CONFIG),
        issuer_state=offer["grants"]["authorization_code"]["issuer_state"],
    )
    response = httpx.get(
        f"{live}/oauth2/authorize?" + urlencode(request.params), follow_redirects=False
    )
    assert _query(response.headers["location"])["error"] == "invalid_request"


def test_another_holders_issuer_state_is_refused(live: str) -> None:
    offered_to = _holder(live)
    offer = _offer(live, offered_to)
    someone_else = _holder(live)
    request = _request(
        _wallet(),
        authorization_details=_details(CONFIG),
        issuer_state=offer["grants"]["authorization_code"]["issuer_state"],
    )
    page, query = _authorize(live, request.params, someone_else)
    assert page == "" and query["error"] == "access_denied"
    assert query["error_description"] == "the credential offer was made to another holder"


def test_issuer_state_for_a_credential_the_offer_does_not_offer(live: str) -> None:
    if oid4vci.MDOC_CONFIGURATION not in oid4vci.configurations():
        pytest.skip("the mdoc configuration is not offered here")
    holder = _holder(live)
    offer = _offer(live, holder)  # the SD-JWT VC card only
    request = _request(
        _wallet([SCOPE, oid4vci.SCOPES[oid4vci.MDOC_CONFIGURATION]]),
        authorization_details=_details(oid4vci.MDOC_CONFIGURATION),
        issuer_state=offer["grants"]["authorization_code"]["issuer_state"],
    )
    response = httpx.get(
        f"{live}/oauth2/authorize?" + urlencode(request.params), follow_redirects=False
    )
    query = _query(response.headers["location"])
    assert query["error"] == "invalid_request" and "offer" in query["error_description"]


def test_consent_names_the_mdoc_card_asked_for_by_authorization_details(live: str) -> None:
    if oid4vci.MDOC_CONFIGURATION not in oid4vci.configurations():
        pytest.skip("the mdoc configuration is not offered here")
    mdoc = oid4vci.MDOC_CONFIGURATION
    client_id = _wallet([SCOPE, oid4vci.SCOPES[mdoc]])
    page, body, _ = _code_flow(
        live, client_id, _holder(live), authorization_details=_details(mdoc, CONFIG)
    )
    assert "your e-residence card in the ISO mdoc format" in page and CARD_LABEL in page
    granted = [e["credential_configuration_id"] for e in body["authorization_details"]]
    assert granted == [mdoc, CONFIG]
