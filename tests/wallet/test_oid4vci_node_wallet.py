"""Issue 12: an independent wallet, the OpenWallet Foundation's `@openid4vc/openid4vci` 0.4 with
`@openid4vc/oauth2` and `@sd-jwt/sd-jwt-vc` (pinned by tests/peers/wallet-vci/package-lock.json,
Node.js from the machine), obtains the card from eid's offer against the live server: it
resolves the offer by reference, reads the issuer and authorization server metadata, redeems the
pre-authorized code with the transaction code the holder got by SMS (DPoP-bound), gets a nonce,
signs its proof, obtains the credential and verifies it (issuer signature, status list). The
driver is tests/peers/wallet-vci/wallet.mjs; this file plays the holder (asks for the offer,
reads the SMS).

The same wallet, registered with eid as a public client, also takes the authorization code flow
(tests/peers/wallet-vci/wallet-authorization-code.mjs): an offer with the `authorization_code`
grant, `authorization_details` and `issuer_state` pushed by PAR with DPoP and PKCE, the holder's
login and consent in the browser (played here), `credential_identifiers` in the token response
and the card asked for by its identifier."""

from __future__ import annotations

import html
import json
import re
import select
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from joserfc.jwk import ECKey
from sqlalchemy import select as sql_select

from eid.authority import service as authority
from eid.core.database import unit_of_work
from eid.identity.clients import create_client
from eid.wallet import oid4vci
from eid.wallet.models import CredentialOffer
from tests.identity.factories import PASSCODE, PASSWORD, activate_over_api
from tests.identity.oidc_fixtures import ADMIN, REDIRECT
from tests.support import code_in, outbox

_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')

PEER_DIR = Path(__file__).resolve().parents[1] / "peers" / "wallet-vci"
WALLET = PEER_DIR / "wallet.mjs"


def _node_missing() -> str | None:
    if shutil.which("node") is None:
        return "Node.js is not on this machine: the independent wallet cannot run"
    for package in ("@openid4vc/openid4vci", "@sd-jwt/sd-jwt-vc"):
        if not (PEER_DIR / "node_modules" / package / "package.json").exists():
            return (
                f"{package} is not installed: `npm ci --prefix tests/peers/wallet-vci` "
                "(scripts/test does it when npm is on the machine)"
            )
    return None


pytestmark = pytest.mark.skipif(_node_missing() is not None, reason=_node_missing() or "")


def _wallet(offer: str, tx_code: str) -> dict[str, Any]:
    done = subprocess.run(
        ["node", str(WALLET), offer, tx_code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=PEER_DIR,
        check=False,
    )
    assert done.stdout, (done.returncode, done.stderr[-2000:])
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def _holder_offer(live: str) -> tuple[Any, str, str]:
    """A holder signs in (the device session of an activation) and asks for an offer; returns
    (account id, the QR's deep link, the code from the SMS)."""
    with httpx.Client(base_url=live, timeout=30) as http:
        number, token = activate_over_api(http, ECKey.generate_key("P-256"))
        made = http.post(
            "/api/v1/me/wallet/offers",
            json={"credential_configuration_ids": [oid4vci.SD_JWT_CONFIGURATION]},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert made.status_code == 201, made.text
    with unit_of_work() as db:
        account = authority.find_by_eid_number(db, number)
        assert account is not None
        sms = [m for m in outbox(db, account.id, "wallet_offer_tx_code") if m.channel == "sms"]
    return account.id, made.json()["deep_link"], code_in(sms[0].text)


def test_third_party_wallet_obtains_and_verifies_the_card(live: str) -> None:
    _, deep_link, tx_code = _holder_offer(live)
    answer = _wallet(deep_link, tx_code)
    assert answer["ok"], answer
    assert answer["steps"] == [
        "offer",
        "metadata",
        "token",
        "nonce",
        "proof",
        "credential",
        "verified",
    ]
    assert answer["token_type"] == "DPoP"
    assert answer["format"] == "dc+sd-jwt"
    assert oid4vci.SD_JWT_CONFIGURATION in answer["known_configurations"], answer
    claims = answer["claims"]
    assert claims["iss"] == live and claims["full_name"] == "NGUYEN VAN A"
    assert answer["cnf_is_holder_key"] is True
    assert answer["replay_error"] == "invalid_nonce"


def test_third_party_wallet_with_a_wrong_code_gets_nothing(live: str) -> None:
    _, deep_link, tx_code = _holder_offer(live)
    wrong = f"{(int(tx_code) + 1) % 10**6:06d}"
    answer = _wallet(deep_link, wrong)
    assert not answer["ok"] and "invalid_grant" in json.dumps(answer), answer


# ---------------------------------------------------------------- the authorization code flow

WALLET_AUTHORIZATION_CODE = PEER_DIR / "wallet-authorization-code.mjs"
CARD_LABEL = "your e-residence card, to keep in this wallet"


def _line(process: subprocess.Popen[str], seconds: float = 60) -> dict[str, Any]:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], seconds)
    assert ready, "the wallet said nothing"
    line = process.stdout.readline()
    assert line, process.stderr.read()[-2000:] if process.stderr else "no output"
    answer: dict[str, Any] = json.loads(line)
    return answer


def _holder_signs_in_and_allows(live: str, url: str, number: str) -> str:
    """The holder's browser: the authorization request, the login, the consent page (it names
    the card); returns the URL the browser is sent back to the wallet with."""
    with httpx.Client(follow_redirects=False, timeout=30) as browser:
        response = browser.get(url)
        assert response.status_code == 303, response.text[:300]
        next_url = parse_qs(urlsplit(response.headers["location"]).query)["next"][0]
        login = browser.post(
            f"{live}/oauth2/login",
            data={
                "eid_number": number,
                "password": PASSWORD,
                "passcode": PASSCODE,
                "next": next_url,
            },
        )
        consent = browser.get(live + login.headers["location"])
        assert consent.status_code == 200, consent.text[:300]
        assert CARD_LABEL in consent.text
        fields = {k: html.unescape(v) for k, v in _HIDDEN.findall(consent.text)}
        back = browser.post(f"{live}/oauth2/authorize", data={**fields, "decision": "allow"})
    assert back.status_code == 302, back.text[:300]
    return str(back.headers["location"])


def test_third_party_wallet_by_authorization_details_and_issuer_state(live: str) -> None:
    with unit_of_work() as db:
        client_id, _ = create_client(
            db,
            name="Example Wallet",
            redirect_uris=[REDIRECT],
            scopes=[oid4vci.SCOPES[oid4vci.SD_JWT_CONFIGURATION]],
            purpose="keep the holder's e-residence card",
            actor=ADMIN,
            profile="wallet",
        )
    with httpx.Client(base_url=live, timeout=30) as http:
        number, token = activate_over_api(http, ECKey.generate_key("P-256"))
        made = http.post(
            "/api/v1/me/wallet/offers",
            json={
                "credential_configuration_ids": [oid4vci.SD_JWT_CONFIGURATION],
                "authorization_code": True,
            },
            headers={"Authorization": f"Bearer {token}"},
        )
        assert made.status_code == 201, made.text
    process = subprocess.Popen(
        ["node", str(WALLET_AUTHORIZATION_CODE), made.json()["deep_link"], client_id, REDIRECT],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=PEER_DIR,
    )
    try:
        first = _line(process)
        assert "authorization_request_url" in first, first
        returned = _holder_signs_in_and_allows(live, first["authorization_request_url"], number)
        assert process.stdin is not None
        process.stdin.write(returned + "\n")
        process.stdin.flush()
        answer = _line(process)
    finally:
        process.kill()
        process.wait()
    assert answer["ok"], answer
    assert answer["steps"] == [
        "offer",
        "metadata",
        "authorization_request",
        "authorization_response",
        "token",
        "nonce",
        "proof",
        "credential",
        "verified",
    ]
    assert answer["authorization_details_types_supported"] == ["openid_credential"]
    assert answer["issuer_state_sent"] and answer["pushed"]
    assert answer["token_type"] == "DPoP"
    [granted] = answer["token_authorization_details"]
    assert granted["credential_configuration_id"] == oid4vci.SD_JWT_CONFIGURATION
    assert len(granted["credential_identifiers"]) == 1
    assert answer["by_configuration_id_error"] == "invalid_credential_request"
    claims = answer["claims"]
    # The card is the offer's holder's: the one who asked for the offer and signed in.
    assert claims["iss"] == live and claims["eid_number"] == number
    assert answer["cnf_is_holder_key"] is True
    with unit_of_work() as db:
        account = authority.find_by_eid_number(db, number)
        assert account is not None
        offers = db.execute(
            sql_select(CredentialOffer).where(CredentialOffer.account_id == account.id)
        ).scalars()
        assert [offer.used_at is not None for offer in offers] == [True]
