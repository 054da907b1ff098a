"""Issue 12: independent implementations verify eid's card (Node.js from the machine, versions
pinned by tests/peers/vc/package-lock.json, installed by scripts/test):

- the OpenWallet Foundation's `@sd-jwt/sd-jwt-vc` with `@sd-jwt/crypto-nodejs` and
  `@sd-jwt/jwt-status-list`, as a third-party verifier of the SD-JWT VC: the issuer signature with
  the `x5c` leaf key, the chain to the pinned root (Node's X509Certificate), the disclosures, the
  key binding, the status list fetched live, and the type metadata fetched from `vct` with its
  integrity;
- `@animo-id/mdoc` verifying the mdoc: MSO signature, chain to the root, validity, digests;
- a locked account's card read as suspended by the third-party verifier.

`@sd-jwt/sd-jwt-vc` is 0.19.0: 0.20.0 depends on `@owf/token-status-list@^0.1.0-alpha`, which the
registry does not have (only 0.3.0-alpha), so 0.20.0 does not install.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import cbor2
import pytest
from joserfc.jwk import ECKey, OKPKey

from eid.authority import service as authority
from eid.core import clock
from eid.core.database import unit_of_work
from eid.wallet import certs, formats, sdjwt, status
from tests.identity.factories import TEST_ACTOR, make_holder

PEERS = Path(__file__).resolve().parents[1] / "peers" / "vc"
DRIVER = PEERS / "driver.mjs"
PACKAGES = [
    "@sd-jwt/sd-jwt-vc",
    "@sd-jwt/crypto-nodejs",
    "@sd-jwt/jwt-status-list",
    "@animo-id/mdoc",
]
AUD, NONCE = "landlord-9", "peer-nonce-1"


def _node_missing() -> str | None:
    if shutil.which("node") is None:
        return "Node.js is not on this machine: the independent verifiers cannot run"
    for package in PACKAGES:
        if not (PEERS / "node_modules" / package / "package.json").exists():
            return f"{package} is not installed: `npm ci --prefix tests/peers/vc` (scripts/test)"
    return None


pytestmark = pytest.mark.skipif(_node_missing() is not None, reason=_node_missing() or "")


def node(command: str, **request: Any) -> dict[str, Any]:
    done = subprocess.run(
        ["node", str(DRIVER), command],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=PEERS,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


def _now() -> int:
    return int(clock.now().timestamp())


def _card(key: ECKey | OKPKey) -> tuple[Any, str, str]:
    """A holder with `key` as device, their card bound to it, and the root PEM."""
    with unit_of_work() as db:
        holder = make_holder(db, key=key)
        credential = formats.issue_sd_jwt_vc(db, holder.account_id, key.as_dict(private=False))
        root = certs.root_pem(db)
    return holder, credential, root


@pytest.mark.parametrize("curve", ["P-256", "Ed25519"])
def test_owf_sd_jwt_libraries_verify_the_card(live: str, curve: str) -> None:
    key = ECKey.generate_key("P-256") if curve == "P-256" else OKPKey.generate_key("Ed25519")
    _, credential, root = _card(key)
    presentation = sdjwt.present(
        credential,
        key,
        reveal=["full_name", "residence_card_expiry"],
        aud=AUD,
        nonce=NONCE,
        iat=_now(),
    )
    answer = node("sdjwt", presentation=presentation, rootPem=root, audience=AUD, nonce=NONCE)
    assert answer["ok"], answer
    assert answer["header"]["typ"] == "dc+sd-jwt" and answer["header"]["alg"] == "ES256"
    assert "eid Document Signer" in answer["leafSubject"]
    claims = answer["claims"]
    assert claims["full_name"] == "NGUYEN VAN A"
    assert claims["residence_card_expiry"] == "2030-12-31"
    assert "passport_number" not in claims and "birthdate" not in claims
    assert claims["iss"] == live and claims["vct"].startswith(live + "/credentials/types/")
    assert answer["status"] == status.VALID
    assert answer["kb"]["aud"] == AUD and answer["kb"]["nonce"] == NONCE
    metadata = answer["typeMetadata"]
    assert [d["locale"] for d in metadata["display"]] == ["vi", "en", "zh", "ko", "ja"]
    labels = {c["path"][0]: c["display"] for c in metadata["claims"]}
    assert {d["locale"]: d["label"] for d in labels["full_name"]}["ko"] == "성명"


def test_the_third_party_verifier_refuses_what_it_must(live: str) -> None:
    key = ECKey.generate_key("P-256")
    _, credential, root = _card(key)
    good = sdjwt.present(credential, key, reveal=["full_name"], aud=AUD, nonce=NONCE, iat=_now())
    # Another verifier's nonce, another audience, another root, a thief's key binding.
    assert not node("sdjwt", presentation=good, rootPem=root, audience=AUD, nonce="x")["ok"]
    assert not node("sdjwt", presentation=good, rootPem=root, audience="bank", nonce=NONCE)["ok"]
    other_root = certs.b64der(_foreign_root())
    other_pem = "-----BEGIN CERTIFICATE-----\n" + other_root + "\n-----END CERTIFICATE-----\n"
    refused = node("sdjwt", presentation=good, rootPem=other_pem, audience=AUD, nonce=NONCE)
    assert not refused["ok"] and "not issued by" in refused["error"]
    thief = sdjwt.present(
        credential,
        ECKey.generate_key("P-256"),
        reveal=["full_name"],
        aud=AUD,
        nonce=NONCE,
        iat=_now(),
    )
    assert not node("sdjwt", presentation=thief, rootPem=root, audience=AUD, nonce=NONCE)["ok"]


def _foreign_root() -> Any:
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "eid Root CA")])
    now = clock.now()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(9)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )


def test_a_locked_accounts_card_reads_suspended_to_the_third_party_verifier(live: str) -> None:
    """The status list is computed at each fetch and served with `Cache-Control: max-age` of a
    fifth of its `ttl` (300 s): a verifier that honours either sees the lock well within the
    TTL; here it fetches right after the lock and reads 2 (suspended), then 0 once lifted."""
    key = ECKey.generate_key("P-256")
    holder, credential, root = _card(key)

    def verify() -> dict[str, Any]:
        presentation = sdjwt.present(
            credential, key, reveal=["full_name"], aud=AUD, nonce=NONCE, iat=_now()
        )
        return node("sdjwt", presentation=presentation, rootPem=root, audience=AUD, nonce=NONCE)

    assert verify()["status"] == status.VALID
    with unit_of_work() as db:
        authority.add_lock_ground(db, holder.account_id, "holder_request", actor=TEST_ACTOR)
    locked = verify()
    assert not locked["ok"] and locked["status"] == status.SUSPENDED, locked
    assert "status is 2" in locked["error"]
    with unit_of_work() as db:
        authority.remove_lock_ground(db, holder.account_id, "holder_request", actor=TEST_ACTOR)
    assert verify()["status"] == status.VALID


def _mdoc() -> tuple[bytes, str]:
    key = ECKey.generate_key("P-256")
    with unit_of_work() as db:
        holder = make_holder(db, key=key)
        issued = formats.issue_mdoc(db, holder.account_id, key.as_dict(private=False))
        root = certs.root_pem(db)
    return issued, root


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def test_animo_mdoc_verifies_signature_chain_and_digests(committed: Any) -> None:
    issued, root = _mdoc()
    answer = node("mdoc", issuerSigned=_b64(issued), rootPem=root, docType=formats.MDOC_DOCTYPE)
    assert answer["ok"], answer
    for check in (
        "Issuer certificate must be valid",
        "Issuer signature must be valid",
        "The MSO must be valid at the time of verification",
    ):
        assert check in answer["passed"]
    assert any("digest" in check.lower() for check in answer["passed"]), answer["passed"]
    assert answer["docType"] == formats.MDOC_DOCTYPE
    elements = answer["elements"][formats.MDOC_DOCTYPE]
    assert elements["full_name"] == "NGUYEN VAN A" and elements["nationality"] == "KOR"


def test_animo_mdoc_refuses_a_changed_element_or_another_root(committed: Any) -> None:
    issued, root = _mdoc()
    issuer_signed = cbor2.loads(issued)
    items = issuer_signed["nameSpaces"][formats.MDOC_DOCTYPE]
    for i, tagged in enumerate(items):
        item = cbor2.loads(tagged.value)
        if item["elementIdentifier"] == "full_name":
            item["elementValue"] = "SOMEONE ELSE"
            items[i] = cbor2.CBORTag(24, cbor2.dumps(item))
    changed = cbor2.dumps(issuer_signed)
    answer = node("mdoc", issuerSigned=_b64(changed), rootPem=root, docType=formats.MDOC_DOCTYPE)
    assert not answer["ok"] and "Issuer signature must be valid" in answer["passed"]
    other_pem = (
        "-----BEGIN CERTIFICATE-----\n"
        + certs.b64der(_foreign_root())
        + "\n-----END CERTIFICATE-----\n"
    )
    answer = node(
        "mdoc", issuerSigned=_b64(issued), rootPem=other_pem, docType=formats.MDOC_DOCTYPE
    )
    assert not answer["ok"] and "Issuer certificate must be valid" in answer["error"]
