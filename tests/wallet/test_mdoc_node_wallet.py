"""Issue 12, the mdoc card in a wallet eid did not write: tests/peers/wallet-mdoc/wallet.mjs
(the OpenWallet Foundation's `@openid4vc/openid4vci` and `@openid4vc/openid4vp` 0.4.6, Animo's
`@animo-id/mdoc` 0.5.2, pinned by its lock file; Node.js from the machine) against the live
server.

- OpenID4VP 1.0 Appendix B.2: the wallet resolves eid's signed request, builds a DeviceResponse
  with the elements the `mso_mdoc` query asks for, signed by the holder's device key over the
  final OpenID4VPHandover session transcript, and posts it by direct_post; eid accepts it with
  exactly those elements, and refuses another nonce, a changed element and a suspended card.
- OpenID4VCI 1.0: the wallet obtains the card as `mso_mdoc` from a pre-authorized offer and
  `@animo-id/mdoc` verifies it (issuerAuth, x5chain to eid's root, digests, validity).
- The chained third-party flow: the card the wallet obtained from the offer, presented by the
  same wallet (its key) to eid's verifier, as mdoc and as SD-JWT VC (tests/peers/wallet-vp).
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import cbor2
import httpx
import pytest
from joserfc.jwk import ECKey

from eid.authority import service as authority
from eid.core.database import unit_of_work
from eid.wallet import formats, metadata, oid4vci
from tests.identity.factories import TEST_ACTOR, activate_over_api, make_holder
from tests.support import code_in, outbox
from tests.wallet.oid4vp_fixtures import create, relying_party, result

PEERS = Path(__file__).resolve().parents[1] / "peers"
PEER = PEERS / "wallet-mdoc"
VP_PEER = PEERS / "wallet-vp"
PACKAGES = ("@animo-id/mdoc", "@openid4vc/openid4vp", "@openid4vc/openid4vci")
NS = metadata.MDOC_NAMESPACE
LANDLORD = {"full_name", "residence_card_expiry", "nationality"}
BANK_REQUIRED = [
    "full_name",
    "birthdate",
    "nationality",
    "eid_number",
    "residence_card_number",
    "residence_card_kind",
    "residence_card_expiry",
]


def _missing() -> str | None:
    if shutil.which("node") is None:
        return "Node.js is not on this machine: the independent wallet cannot run"
    for package in PACKAGES:
        if not (PEER / "node_modules" / package / "package.json").exists():
            return f"{package} is not installed: `npm ci --prefix tests/peers/wallet-mdoc`"
    if not (VP_PEER / "node_modules" / "@sd-jwt/core" / "package.json").exists():
        return "@sd-jwt/core is not installed: `npm ci --prefix tests/peers/wallet-vp`"
    return None


pytestmark = pytest.mark.skipif(_missing() is not None, reason=_missing() or "")


def _node(script: Path, *args: str, job: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        ["node", str(script), *args],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        timeout=90,
        cwd=script.parent,
        check=False,
    )
    assert done.stdout, (done.returncode, done.stderr[-2000:])
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def present(wallet_url: str, issuer_signed: str, holder_jwk: dict[str, Any], **job: Any) -> Any:
    job = {
        "wallet_url": wallet_url,
        "issuer_signed": issuer_signed,
        "holder_jwk": holder_jwk,
        **job,
    }
    answer = _node(PEER / "wallet.mjs", "present", job=job)
    assert answer["step"] == "submitted", answer
    return answer


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def mdoc_card() -> tuple[Any, str, dict[str, Any]]:
    """A holder with the mdoc card: (account id, IssuerSigned base64url, private device JWK)."""
    key = ECKey.generate_key("P-256")
    with unit_of_work() as db:
        holder = make_holder(db, key=key)
        issued = formats.issue_mdoc(db, holder.account_id, key.as_dict(private=False))
    return holder.account_id, _b64(issued), key.as_dict(private=True)


def test_the_wallet_presents_the_mdoc_with_exactly_the_asked_elements(live: str) -> None:
    rp = relying_party()
    _, issued, jwk = mdoc_card()
    made = create(live, rp, preset="landlord", credential_format="mso_mdoc").json()
    query = made["dcql_query"]["credentials"][0]
    assert query["format"] == "mso_mdoc"
    assert query["meta"] == {"doctype_value": formats.MDOC_DOCTYPE}
    answer = present(made["wallet_url"], issued, jwk)
    # The library read the request as OpenID4VP 1.0 (final) and verified its x509_hash client.
    assert answer["version"] == 100 and answer["client"]["prefix"] == "x509_hash"
    assert answer["mdoc_formats"] == {"issuerauth_alg_values": [-7], "deviceauth_alg_values": [-7]}
    assert answer["response_mode"] == "direct_post"
    assert set(answer["released"][NS]) == LANDLORD  # animo released only what was asked
    assert answer["status"] == 200, answer
    got = result(live, rp, made["id"]).json()
    assert got["status"] == "verified"
    assert got["credentials"] == {
        "residence_card_mdoc": {
            "full_name": "NGUYEN VAN A",
            "residence_card_expiry": "2030-12-31",
            "nationality": "KOR",
        }
    }


def test_bank_ekyc_mdoc_without_the_optional_elements(live: str) -> None:
    rp = relying_party("Ngân hàng Sao Mai")
    _, issued, jwk = mdoc_card()
    made = create(live, rp, preset="bank_ekyc", credential_format="mso_mdoc").json()
    answer = present(made["wallet_url"], issued, jwk, reveal=BANK_REQUIRED)
    assert sorted(answer["released"][NS]) == sorted(BANK_REQUIRED)
    assert answer["status"] == 200, answer
    claims = result(live, rp, made["id"]).json()["credentials"]["residence_card_mdoc"]
    assert sorted(claims) == sorted(BANK_REQUIRED)
    assert claims["birthdate"] and "passport_number" not in claims


def test_either_format_the_wallet_answers_with_its_mdoc(live: str) -> None:
    """credential_sets (§6.2): the SD-JWT VC or the mdoc; this wallet holds the mdoc."""
    rp = relying_party()
    _, issued, jwk = mdoc_card()
    made = create(live, rp, preset="landlord", credential_format="either").json()
    answer = present(made["wallet_url"], issued, jwk)
    sets = answer["credential_sets"]
    assert [s["options"] for s in sets] == [[["residence_card"], ["residence_card_mdoc"]]]
    assert answer["query_id"] == "residence_card_mdoc"
    assert answer["status"] == 200, answer
    got = result(live, rp, made["id"]).json()
    assert set(got["credentials"]) == {"residence_card_mdoc"}


def test_direct_post_jwt_binds_the_encryption_key_into_the_transcript(live: str) -> None:
    """§8.3 with B.2.6.1: the response is a JWE to eid's key, and that key's thumbprint is in
    the session transcript the device signed."""
    rp = relying_party()
    _, issued, jwk = mdoc_card()
    made = create(
        live, rp, preset="landlord", credential_format="mso_mdoc", response_mode="direct_post.jwt"
    ).json()
    answer = present(made["wallet_url"], issued, jwk)
    assert answer["response_mode"] == "direct_post.jwt"
    assert answer["status"] == 200, answer
    got = result(live, rp, made["id"]).json()
    assert set(got["credentials"]["residence_card_mdoc"]) == LANDLORD


def test_credential_format_goes_with_a_preset(live: str) -> None:
    rp = relying_party()
    query = json.dumps({"credentials": [{"id": "x"}]})
    for form in (
        {"preset": "landlord", "credential_format": "jwt_vc_json"},
        {"dcql_query": query, "credential_format": "mso_mdoc"},
    ):
        answer = create(live, rp, **form)
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"]["code"] == "CREDENTIAL_FORMAT_INVALID"


def _refused(live: str, answer: dict[str, Any], rp: Any, request_id: str, code: str) -> None:
    assert answer["status"] == 400, answer
    assert answer["body"] == {"error": "invalid_request", "error_description": code}
    assert result(live, rp, request_id).json()["outcome"] == code


def test_a_device_response_for_another_nonce_is_refused(live: str) -> None:
    rp = relying_party()
    _, issued, jwk = mdoc_card()
    made = create(live, rp, preset="landlord", credential_format="mso_mdoc").json()
    answer = present(made["wallet_url"], issued, jwk, override={"nonce": "another-request"})
    _refused(live, answer, rp, made["id"], "DEVICE_AUTH_INVALID")


def test_a_changed_element_is_refused(live: str) -> None:
    """The holder's wallet changes its copy of an element: the device signature is good, the
    issuer's digest no longer matches."""
    rp = relying_party()
    _, issued, jwk = mdoc_card()
    structure = cbor2.loads(base64.urlsafe_b64decode(issued + "=="))
    items = structure["nameSpaces"][NS]
    for i, tagged in enumerate(items):
        item = cbor2.loads(tagged.value)
        if item["elementIdentifier"] == "full_name":
            item["elementValue"] = "NGUYEN VAN B"
            items[i] = cbor2.CBORTag(24, cbor2.dumps(item, canonical=True))
    changed = _b64(cbor2.dumps(structure, canonical=True))
    made = create(live, rp, preset="landlord", credential_format="mso_mdoc").json()
    answer = present(made["wallet_url"], changed, jwk)
    _refused(live, answer, rp, made["id"], "ELEMENT_DIGEST_INVALID")


def test_another_device_key_is_refused(live: str) -> None:
    rp = relying_party()
    _, issued, _ = mdoc_card()
    thief = ECKey.generate_key("P-256").as_dict(private=True)
    made = create(live, rp, preset="landlord", credential_format="mso_mdoc").json()
    answer = present(made["wallet_url"], issued, thief)
    _refused(live, answer, rp, made["id"], "DEVICE_AUTH_INVALID")


def test_an_mdoc_suspended_by_a_lock_is_refused(live: str) -> None:
    rp = relying_party()
    account_id, issued, jwk = mdoc_card()
    first = create(live, rp, preset="landlord", credential_format="mso_mdoc").json()
    assert present(first["wallet_url"], issued, jwk)["status"] == 200
    with unit_of_work() as db:
        authority.add_lock_ground(db, account_id, "holder_request", actor=TEST_ACTOR)
    made = create(live, rp, preset="landlord", credential_format="mso_mdoc").json()
    answer = present(made["wallet_url"], issued, jwk)
    _refused(live, answer, rp, made["id"], "CREDENTIAL_SUSPENDED")


def test_the_wallet_libraries_are_pinned_by_the_lock_file() -> None:
    manifest = json.loads((PEER / "package.json").read_text())
    lock = json.loads((PEER / "package-lock.json").read_text())
    for package, wanted in manifest["dependencies"].items():
        assert wanted[0].isdigit(), f"{package} not pinned exactly: {wanted}"
        locked = lock["packages"][f"node_modules/{package}"]
        assert locked["version"] == wanted and locked["integrity"].startswith("sha512-")
    vc = json.loads((PEERS / "vc" / "package.json").read_text())["dependencies"]
    assert manifest["dependencies"]["@animo-id/mdoc"] == vc["@animo-id/mdoc"] == "0.5.2"
    assert manifest["dependencies"]["@openid4vc/openid4vp"] == "0.4.6"


# -- OpenID4VCI: the card obtained from an offer ---------------------------------------------


def holder_offer(live: str, configuration: str) -> tuple[Any, str, str]:
    """A holder signs in on their device and asks for an offer of `configuration`; returns
    (account id, the offer's deep link, the transaction code from the SMS)."""
    with httpx.Client(base_url=live, timeout=30) as http:
        number, token = activate_over_api(http, ECKey.generate_key("P-256"))
        made = http.post(
            "/api/v1/me/wallet/offers",
            json={"credential_configuration_ids": [configuration]},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert made.status_code == 201, made.text
    with unit_of_work() as db:
        account = authority.find_by_eid_number(db, number)
        assert account is not None
        sms = [m for m in outbox(db, account.id, "wallet_offer_tx_code") if m.channel == "sms"]
    return account.id, made.json()["deep_link"], code_in(sms[0].text)


def obtain(live: str, configuration: str) -> tuple[Any, dict[str, Any]]:
    account_id, deep_link, tx_code = holder_offer(live, configuration)
    answer = _node(PEER / "wallet.mjs", "obtain", job={"offer": deep_link, "tx_code": tx_code})
    assert answer["ok"], answer
    assert answer["steps"] == ["metadata", "token", "proof", "credential", "verified"]
    assert answer["configuration_id"] == configuration
    return account_id, answer


def test_the_wallet_obtains_the_mdoc_from_an_offer_and_animo_verifies_it(live: str) -> None:
    _, answer = obtain(live, oid4vci.MDOC_CONFIGURATION)
    # The library validated the configuration against its own mso_mdoc schema.
    assert oid4vci.MDOC_CONFIGURATION in answer["known_configurations"]
    configuration = answer["configuration"]
    assert configuration["format"] == "mso_mdoc"
    assert configuration["doctype"] == formats.MDOC_DOCTYPE
    assert configuration["credential_signing_alg_values_supported"] == [-7]
    assert configuration["proof_types_supported"]["jwt"]["proof_signing_alg_values_supported"]
    assert answer["token_type"] == "DPoP"
    verified = answer["verified"]
    assert verified["ok"] and not verified["failed"], verified
    assert verified["docType"] == formats.MDOC_DOCTYPE
    assert verified["elements"][NS]["full_name"] == "NGUYEN VAN A"
    assert verified["deviceKey"] == "present"


@pytest.mark.parametrize(
    "configuration", [oid4vci.MDOC_CONFIGURATION, oid4vci.SD_JWT_CONFIGURATION]
)
def test_chained_the_card_from_the_offer_presented_to_eid_verifier(
    live: str, configuration: str
) -> None:
    """One wallet, one key: OpenID4VCI gives it the card, OpenID4VP presents that very card."""
    _, got = obtain(live, configuration)
    rp = relying_party()
    if configuration == oid4vci.MDOC_CONFIGURATION:
        made = create(live, rp, preset="landlord", credential_format="mso_mdoc").json()
        answer = present(made["wallet_url"], got["credential"], got["holder_jwk"])
        key = "residence_card_mdoc"
    else:
        assert got["verified"]["cnfIsHolderKey"] is True
        # A relying party that takes either format: the SD-JWT wallet answers its option.
        made = create(live, rp, preset="landlord", credential_format="either").json()
        job = {
            "wallet_url": made["wallet_url"],
            "credential": got["credential"],
            "holder_jwk": got["holder_jwk"],
        }
        answer = _node(VP_PEER / "wallet.mjs", job=job)
        assert answer["step"] == "submitted", answer
        key = "residence_card"
    assert answer["status"] == 200, answer
    outcome = result(live, rp, made["id"]).json()
    assert outcome["status"] == "verified"
    assert outcome["credentials"][key]["full_name"] == "NGUYEN VAN A"
    assert set(outcome["credentials"][key]) == LANDLORD
