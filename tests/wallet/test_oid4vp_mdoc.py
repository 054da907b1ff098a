"""The verifier's mdoc side without a wallet process: the DCQL it accepts for `mso_mdoc` and
`credential_sets`, the session transcript's shape, and the refusals a third-party wallet would
not produce (another root, an expired card, a MAC instead of a signature). The accepted path and
the refusals a wallet can cause are in test_mdoc_node_wallet.py, against @animo-id/mdoc."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from typing import Any

import cbor2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from joserfc.jwk import ECKey
from sqlalchemy.orm import Session

from eid.core import clock
from eid.core.errors import ValidationFailed
from eid.wallet import certs, formats, metadata, oid4vp, oid4vp_mdoc
from eid.wallet.verification import local_status
from eid.wallet.verifier import PresentationRefused
from tests.identity.factories import make_holder

NS = metadata.MDOC_NAMESPACE
EVERY_CLAIM = set(oid4vp.CLAIM_SCOPES)


def _mdoc_query(**changes: Any) -> dict[str, Any]:
    query: dict[str, Any] = {
        "id": "card",
        "format": "mso_mdoc",
        "meta": {"doctype_value": formats.MDOC_DOCTYPE},
        "claims": [{"path": [NS, "full_name"], "intent_to_retain": False}],
    }
    query.update(changes)
    return query


def test_an_mdoc_query_is_accepted_within_the_agreement() -> None:
    checked = oid4vp.check_dcql({"credentials": [_mdoc_query()]}, EVERY_CLAIM)
    assert checked["credentials"][0]["format"] == "mso_mdoc"
    with pytest.raises(ValidationFailed) as refused:
        oid4vp.check_dcql({"credentials": [_mdoc_query()]}, {"birthdate"})
    assert refused.value.code == "CLAIM_NOT_AGREED"


@pytest.mark.parametrize(
    "changes",
    [
        {"meta": {"doctype_value": "org.iso.18013.5.1.mDL"}},
        {"meta": {"vct_values": ["x"]}},
        {"claims": [{"path": ["full_name"]}]},
        {"claims": [{"path": ["org.iso.18013.5.1", "full_name"]}]},
        {"claims": [{"path": [NS, "full_name"], "values": ["A"]}]},
        {"claims": [{"path": [NS, "portrait"]}]},
        {"format": "jwt_vc_json"},
    ],
)
def test_an_mdoc_query_outside_the_card_is_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationFailed) as refused:
        oid4vp.check_dcql({"credentials": [_mdoc_query(**changes)]}, EVERY_CLAIM)
    assert refused.value.code == "DCQL_INVALID"


def test_credential_sets_name_only_the_queries_asked() -> None:
    either = oid4vp.dcql_for(("full_name",), (), oid4vp.FORMAT_EITHER)
    assert [cq["format"] for cq in either["credentials"]] == ["dc+sd-jwt", "mso_mdoc"]
    assert oid4vp.check_dcql(either, EVERY_CLAIM) == either
    wrong = {**either, "credential_sets": [{"options": [["residence_card", "nope"]]}]}
    with pytest.raises(ValidationFailed) as refused:
        oid4vp.check_dcql(wrong, EVERY_CLAIM)
    assert refused.value.code == "DCQL_INVALID"
    # The holder's preview lists each claim once, though both formats ask for it.
    assert [c.name for c in oid4vp.asked_claims(either)] == ["full_name"]


def test_either_query_is_met_by_one_format_and_not_by_none() -> None:
    either = oid4vp.dcql_for(("full_name",), (), oid4vp.FORMAT_EITHER)
    oid4vp._answered_queries(either, {"residence_card_mdoc"})
    oid4vp._answered_queries(either, {"residence_card"})
    with pytest.raises(PresentationRefused) as refused:
        oid4vp._answered_queries(either, set())
    assert refused.value.code == "QUERY_UNANSWERED"


def test_session_transcript_is_the_final_openid4vp_handover() -> None:
    transcript = oid4vp_mdoc.session_transcript(
        client_id="x509_hash:abc", nonce="n", response_uri="https://v/r", jwk_thumbprint=None
    )
    info = cbor2.dumps(["x509_hash:abc", "n", None, "https://v/r"])
    assert transcript == [None, None, ["OpenID4VPHandover", hashlib.sha256(info).digest()]]


# -- refusals on a DeviceResponse made here --------------------------------------------------


def _device_response(issued: bytes, key: ECKey, transcript: list[Any], *, mac: bool = False) -> str:
    issuer_signed = cbor2.loads(issued)
    device_ns = cbor2.CBORTag(24, cbor2.dumps({}))
    protected = cbor2.dumps({1: -7})
    authentication = cbor2.dumps(
        cbor2.CBORTag(
            24, cbor2.dumps(["DeviceAuthentication", transcript, formats.MDOC_DOCTYPE, device_ns])
        )
    )
    private = ec.derive_private_key(
        int.from_bytes(base64.urlsafe_b64decode(key.as_dict(private=True)["d"] + "=="), "big"),
        ec.SECP256R1(),
    )
    der = private.sign(
        cbor2.dumps(["Signature1", protected, b"", authentication]), ec.ECDSA(hashes.SHA256())
    )
    r, s = decode_dss_signature(der)
    signature = [protected, {}, None, r.to_bytes(32, "big") + s.to_bytes(32, "big")]
    device_auth = {"deviceMac": signature} if mac else {"deviceSignature": signature}
    document = {
        "docType": formats.MDOC_DOCTYPE,
        "issuerSigned": issuer_signed,
        "deviceSigned": {"nameSpaces": device_ns, "deviceAuth": device_auth},
    }
    raw = cbor2.dumps({"version": "1.0", "documents": [document], "status": 0})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _verify(db: Session, token: str, transcript: list[Any]) -> oid4vp_mdoc.VerifiedMdoc:
    return oid4vp_mdoc.verify_device_response(
        token,
        root=certs.root_certificate(db),
        doctype=formats.MDOC_DOCTYPE,
        namespace=NS,
        transcript=transcript,
        status_lookup=local_status(db),
    )


def _transcript(thumbprint: bytes | None = None) -> list[Any]:
    return oid4vp_mdoc.session_transcript(
        client_id="x509_hash:abc", nonce="n", response_uri="https://v/r", jwk_thumbprint=thumbprint
    )


def _card(db: Session) -> tuple[bytes, ECKey]:
    key = ECKey.generate_key("P-256")
    holder = make_holder(db, key=key)
    return formats.issue_mdoc(db, holder.account_id, key.as_dict(private=False)), key


def _refused(db: Session, token: str, transcript: list[Any]) -> str:
    with pytest.raises(PresentationRefused) as refused:
        _verify(db, token, transcript)
    return str(refused.value.code)


def test_the_encryption_key_thumbprint_is_bound(db: Session) -> None:
    issued, key = _card(db)
    token = _device_response(issued, key, _transcript(b"\x01" * 32))
    assert _verify(db, token, _transcript(b"\x01" * 32)).claims["full_name"] == "NGUYEN VAN A"
    assert _refused(db, token, _transcript(None)) == "DEVICE_AUTH_INVALID"


def test_a_mac_or_no_device_signature_is_refused(db: Session) -> None:
    issued, key = _card(db)
    token = _device_response(issued, key, _transcript(), mac=True)
    assert _refused(db, token, _transcript()) == "DEVICE_AUTH_MISSING"


def test_an_expired_card_is_refused(db: Session) -> None:
    issued, key = _card(db)
    token = _device_response(issued, key, _transcript())
    clock.shift(formats.MAX_VALIDITY + dt.timedelta(days=2))
    # The issuing certificate (457 days) outlives the card: validityInfo is what refuses.
    assert _refused(db, token, _transcript()) == "CREDENTIAL_EXPIRED"


def _other_root() -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Not eid Root CA")])
    now = clock.now()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )


def test_an_mdoc_under_another_root_is_refused(db: Session) -> None:
    issued, key = _card(db)
    token = _device_response(issued, key, _transcript())
    with pytest.raises(PresentationRefused) as refused:
        oid4vp_mdoc.verify_device_response(
            token,
            root=_other_root(),
            doctype=formats.MDOC_DOCTYPE,
            namespace=NS,
            transcript=_transcript(),
            status_lookup=local_status(db),
        )
    assert refused.value.code == "CHAIN_INVALID"


def test_not_cbor_is_malformed(db: Session) -> None:
    assert _refused(db, "bm90IGNib3I", _transcript()) == "PRESENTATION_MALFORMED"


def test_a_certificate_of_an_unknown_version_is_refused_not_a_crash(db: Session) -> None:
    """Found by mutating DeviceResponses: cryptography's InvalidVersion is no ValueError."""
    root = certs.root_certificate(db)
    der = root.public_bytes(Encoding.DER)
    bad = der.replace(b"\xa0\x03\x02\x01\x02", b"\xa0\x03\x02\x01\x60", 1)
    assert bad != der
    with pytest.raises(certs.ChainRefused):
        certs.verify_chain([base64.b64encode(bad).decode()], root)
