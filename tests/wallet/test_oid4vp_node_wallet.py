"""Issue 12 item 4: an independent wallet, the OpenWallet Foundation's `@openid4vc/openid4vp`
0.4 with `@sd-jwt/core` (Node.js from the machine; pinned by tests/peers/wallet-vp's lock file,
installed by scripts/test), resolves eid's OpenID4VP request (verifies the signed request object
and its x509_hash client identifier), presents a card eid issued with the disclosures the DCQL
query asks for, and posts it by direct_post; eid's verifier accepts it, and refuses a wrong
nonce, a wrong audience, and a card suspended by a lock."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from eid.authority import service as authority
from eid.core.database import unit_of_work
from tests.identity.factories import TEST_ACTOR
from tests.wallet.oid4vp_fixtures import Card, card, create, relying_party, result

PEER = Path(__file__).resolve().parents[1] / "peers" / "wallet-vp"
PACKAGES = ("@openid4vc/openid4vp", "@sd-jwt/core", "@sd-jwt/crypto-nodejs")


def _missing() -> str | None:
    if shutil.which("node") is None:
        return "Node.js is not on this machine: the independent wallet cannot run"
    for package in PACKAGES:
        if not (PEER / "node_modules" / package / "package.json").exists():
            return f"{package} is not installed: `npm ci --prefix tests/peers/wallet-vp`"
    return None


pytestmark = pytest.mark.skipif(_missing() is not None, reason=_missing() or "")


def wallet(c: Card, wallet_url: str, **job: Any) -> dict[str, Any]:
    answer = run_wallet(c, wallet_url, **job)
    assert answer["step"] == "submitted", answer
    return answer


def run_wallet(c: Card, wallet_url: str, **job: Any) -> dict[str, Any]:
    payload = {
        "wallet_url": wallet_url,
        "credential": c.credential,
        "holder_jwk": c.holder.device_key.as_dict(private=True),
        **job,
    }
    done = subprocess.run(
        ["node", str(PEER / "wallet.mjs")],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.stdout, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def test_third_party_wallet_presents_to_eid_verifier(live: str) -> None:
    rp, c = relying_party(), card()
    header = json.loads(base64.urlsafe_b64decode(c.credential.split(".")[0] + "=="))
    assert header["alg"] == "ES256" and header["x5c"]  # the card as eid issues it now
    made = create(live, rp, preset="landlord").json()
    answer = wallet(c, made["wallet_url"])
    # The library verified the request object and its client identifier itself.
    assert answer["client"]["prefix"] == "x509_hash"
    assert answer["client"]["effective"].startswith("x509_hash:")
    # 127.0.0.1 is no DNS name (so no x509_san_dns: here); x509_hash pins the certificate.
    assert answer["client"]["san"]["sanDnsNames"] == []
    assert answer["jar_typ"] == "oauth-authz-req+jwt"
    assert answer["version"] == 100  # the library reads the request as OpenID4VP 1.0 (final)
    assert answer["response_mode"] == "direct_post"
    assert answer["verifier"]["name"] == "Nhà trọ Hoa Mai"
    assert answer["status"] == 200, answer
    got = result(live, rp, made["id"]).json()
    assert got["status"] == "verified"
    assert got["credentials"]["residence_card"] == {
        "full_name": "NGUYEN VAN A",
        "residence_card_expiry": "2030-12-31",
        "nationality": "KOR",  # optional in the landlord preset; this wallet shares it
    }


def test_the_wallet_refuses_a_client_id_that_is_not_the_certificate_s_hash(live: str) -> None:
    """x509_hash: the library itself compares the client_id with the x5c leaf's SHA-256."""
    rp, c = relying_party(), card()
    made = create(live, rp, preset="landlord").json()
    forged = made["wallet_url"].replace("client_id=x509_hash:", "client_id=x509_hash:A", 1)
    answer = run_wallet(c, forged)
    assert answer["step"] == "resolve"
    assert "client" in answer["error"].lower()


def test_bank_ekyc_without_the_optional_claims(live: str) -> None:
    rp, c = relying_party("Ngân hàng Sao Mai"), card()
    made = create(live, rp, preset="bank_ekyc").json()
    required = [
        "full_name",
        "birthdate",
        "nationality",
        "eid_number",
        "residence_card_number",
        "residence_card_kind",
        "residence_card_expiry",
    ]
    answer = wallet(c, made["wallet_url"], reveal=required)
    assert answer["status"] == 200, answer
    claims = result(live, rp, made["id"]).json()["credentials"]["residence_card"]
    assert sorted(claims) == sorted(required)
    assert "passport_number" not in claims


@pytest.mark.parametrize(
    ("override", "code"),
    [
        ({"nonce": "not-the-request-nonce"}, "KEY_BINDING_INVALID"),
        ({"aud": "x509_hash:someone-else"}, "KEY_BINDING_INVALID"),
    ],
)
def test_wrong_key_binding_is_refused(live: str, override: dict[str, str], code: str) -> None:
    rp, c = relying_party(), card()
    made = create(live, rp, preset="landlord").json()
    answer = wallet(c, made["wallet_url"], override=override)
    assert answer["status"] == 400
    assert answer["body"] == {"error": "invalid_request", "error_description": code}
    assert result(live, rp, made["id"]).json()["outcome"] == code


def test_card_suspended_by_a_lock_within_the_status_ttl_is_refused(live: str) -> None:
    rp, c = relying_party(), card()
    first = create(live, rp, preset="landlord").json()
    assert wallet(c, first["wallet_url"])["status"] == 200
    with unit_of_work() as db:
        authority.add_lock_ground(db, c.holder.account_id, "holder_request", actor=TEST_ACTOR)
    # At once, well within the status list's TTL: eid reads the live status.
    made = create(live, rp, preset="landlord").json()
    answer = wallet(c, made["wallet_url"])
    assert answer["status"] == 400
    assert answer["body"]["error_description"] == "CREDENTIAL_SUSPENDED"
    page = httpx.get(f"{live}/verify/{made['id']}?lang=en")
    assert "suspended now" in page.text


def test_the_wallet_libraries_are_pinned_by_the_lock_file() -> None:
    manifest = json.loads((PEER / "package.json").read_text())
    lock = json.loads((PEER / "package-lock.json").read_text())
    for package, wanted in manifest["dependencies"].items():
        assert wanted[0].isdigit(), f"{package} not pinned exactly: {wanted}"
        locked = lock["packages"][f"node_modules/{package}"]
        assert locked["version"] == wanted and locked["integrity"].startswith("sha512-")
    assert manifest["dependencies"]["@openid4vc/openid4vp"].startswith("0.4.")


def test_direct_post_jwt_the_response_encrypted_to_eid(live: str) -> None:
    """§8.3: the wallet encrypts its response (ECDH-ES, A128GCM) to the key in the request's
    client_metadata.jwks; eid decrypts and verifies as for direct_post."""
    rp, c = relying_party(), card()
    made = create(live, rp, preset="landlord", response_mode="direct_post.jwt").json()
    answer = wallet(c, made["wallet_url"])
    assert answer["response_mode"] == "direct_post.jwt"
    assert answer["status"] == 200, answer
    got = result(live, rp, made["id"]).json()
    assert got["status"] == "verified"
    assert got["credentials"]["residence_card"]["full_name"] == "NGUYEN VAN A"
