"""Issue 12: an independent wallet, the OpenWallet Foundation's `@openid4vc/openid4vci` 0.4 with
`@openid4vc/oauth2` and `@sd-jwt/sd-jwt-vc` (pinned by tests/peers/wallet-vci/package-lock.json,
Node.js from the machine), obtains the card from eid's offer against the live server: it
resolves the offer by reference, reads the issuer and authorization server metadata, redeems the
pre-authorized code with the transaction code the holder got by SMS (DPoP-bound), gets a nonce,
signs its proof, obtains the credential and verifies it (issuer signature, status list). The
driver is tests/peers/wallet-vci/wallet.mjs; this file plays the holder (asks for the offer,
reads the SMS)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc.jwk import ECKey

from eid.authority import service as authority
from eid.core.database import unit_of_work
from eid.wallet import oid4vci
from tests.identity.factories import activate_over_api
from tests.support import code_in, outbox

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
