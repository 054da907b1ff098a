"""The card as an ISO/IEC 18013-5 mdoc: IssuerSigned with salted digests, the MSO signed as a
COSE_Sign1 (ES256) with the issuing certificate in `x5chain`, validityInfo, the holder's P-256
key as deviceKeyInfo, and the status list reference; read by pymdoccbor (the EUDI wallet's Python
mdoc library) as an independent check of the signature, chain and digests."""

from __future__ import annotations

import datetime as dt
import hashlib

import cbor2
import pytest
from cryptography import x509
from fastapi.testclient import TestClient
from joserfc.jwk import ECKey
from pycose.keys.curves import P256
from pycose.keys.ec2 import EC2Key
from pycose.messages.sign1message import Sign1Message
from pymdoccbor.mdoc.verifier import MobileDocument
from sqlalchemy import select
from sqlalchemy.orm import Session

from eid.core import clock
from eid.wallet import certs, formats, metadata, sdjwt, status
from eid.wallet.models import IssuedCredential
from tests.identity.factories import make_holder

DOCTYPE = "vn.gov.eid.residence_card.1"


def _issue(db: Session) -> tuple[dict[str, object], ECKey, bytes]:
    key = ECKey.generate_key("P-256")
    holder = make_holder(db, key=key)
    raw = formats.issue_mdoc(db, holder.account_id, key.as_dict(private=False))
    return cbor2.loads(raw), key, raw


def _mso(issuer_signed: dict[str, object]) -> dict[str, object]:
    issuer_auth = issuer_signed["issuerAuth"]
    payload = cbor2.loads(issuer_auth[2])  # type: ignore[index]
    assert payload.tag == 24
    mso: dict[str, object] = cbor2.loads(payload.value)
    return mso


def test_issuer_signed_structure_and_digests(db: Session) -> None:
    issuer_signed, key, _ = _issue(db)
    assert set(issuer_signed) == {"nameSpaces", "issuerAuth"}
    mso = _mso(issuer_signed)
    assert mso["version"] == "1.0" and mso["digestAlgorithm"] == "SHA-256"
    assert mso["docType"] == DOCTYPE == formats.MDOC_DOCTYPE
    items = issuer_signed["nameSpaces"][metadata.MDOC_NAMESPACE]  # type: ignore[index]
    digests = mso["valueDigests"][metadata.MDOC_NAMESPACE]  # type: ignore[index]
    elements = {}
    salts = set()
    for tagged in items:
        assert tagged.tag == 24
        item = cbor2.loads(tagged.value)
        assert digests[item["digestID"]] == hashlib.sha256(cbor2.dumps(tagged)).digest()
        assert len(item["random"]) == 32
        salts.add(item["random"])
        elements[item["elementIdentifier"]] = item["elementValue"]
    assert len(salts) == len(items) == len(digests)
    assert set(elements) == set(formats.CLAIMS)
    assert elements["full_name"] == "NGUYEN VAN A"
    assert elements["birthdate"] == dt.date(1990, 1, 31)  # decoded from full-date, tag 1004
    assert b"\xd9\x03\xec\x6a1990-01-31" in b"".join(t.value for t in items)
    assert "portrait" not in elements
    # The holder's key, as a COSE_Key.
    device = mso["deviceKeyInfo"]["deviceKey"]  # type: ignore[index]
    public = key.as_dict(private=False)
    assert device == {
        1: 2,
        -1: 1,
        -2: sdjwt.b64url_decode(public["x"]),
        -3: sdjwt.b64url_decode(public["y"]),
    }
    validity = mso["validityInfo"]
    # tdate (tag 0, decoded by cbor2 to datetimes), whole seconds in UTC.
    signed, until = validity["signed"], validity["validUntil"]  # type: ignore[index]
    assert signed == validity["validFrom"] and signed.microsecond == 0  # type: ignore[index]
    assert abs(signed - clock.now()) < dt.timedelta(seconds=5)
    assert dt.timedelta(days=364) < until - signed <= formats.MAX_VALIDITY
    reference = mso["status"]["status_list"]  # type: ignore[index]
    assert reference["uri"] == status.list_uri(status.CURRENT_LIST)
    assert isinstance(reference["idx"], int)


def test_the_mso_signature_verifies_with_the_x5chain_leaf(db: Session) -> None:
    issuer_signed, _, _ = _issue(db)
    protected, unprotected, payload, signature = issuer_signed["issuerAuth"]  # type: ignore[misc]
    assert cbor2.loads(protected) == {1: -7}  # ES256
    leaf = x509.load_der_x509_certificate(unprotected[33])
    assert leaf == certs.signer(db).certificate
    certs.verify_chain([certs.b64der(leaf)], certs.root_certificate(db))
    numbers = leaf.public_key().public_numbers()  # type: ignore[union-attr]
    message = Sign1Message(phdr={1: -7}, payload=payload)
    message._signature = signature
    message.key = EC2Key(crv=P256, x=numbers.x.to_bytes(32, "big"), y=numbers.y.to_bytes(32, "big"))
    assert message.verify_signature()
    # A changed claim digest breaks the signature.
    tampered = Sign1Message(phdr={1: -7}, payload=payload[:-1] + bytes([payload[-1] ^ 1]))
    tampered._signature = signature
    tampered.key = message.key
    assert not tampered.verify_signature()


def test_pymdoccbor_verifies_signature_chain_and_digests(db: Session) -> None:
    issuer_signed, _, _ = _issue(db)
    document = MobileDocument(docType=DOCTYPE, issuerSigned=issuer_signed)
    assert document.verify(trusted_root_certs=[certs.root_certificate(db)])
    assert document.hash_verification["valid"]
    other_root = certs.signer(db).certificate  # not the root: the chain check must fail
    with pytest.raises(ValueError):
        MobileDocument(docType=DOCTYPE, issuerSigned=issuer_signed).verify(
            trusted_root_certs=[other_root]
        )


def test_the_mdocs_status_reads_suspended_in_the_cwt_status_list(db: Session) -> None:
    """The MSO's `status.status_list` {idx, uri}; the list as a CWT Status List Token (COSE_Sign1
    ES256, x5chain) says 2 (suspended) once the account is locked."""
    from eid.authority import service as authority
    from tests.identity.factories import TEST_ACTOR

    issuer_signed, _, _ = _issue(db)
    reference = _mso(issuer_signed)["status"]["status_list"]  # type: ignore[index]
    account_id = db.execute(
        select(IssuedCredential.account_id).where(IssuedCredential.status_index == reference["idx"])
    ).scalar_one()

    def published() -> int:
        token = cbor2.loads(status.status_list_cwt(db, status.CURRENT_LIST))
        assert token.tag == 18
        protected, unprotected, payload, signature = token.value
        assert cbor2.loads(protected) == {1: -7, 16: "application/statuslist+cwt"}
        leaf = x509.load_der_x509_certificate(unprotected[33])
        certs.verify_chain([certs.b64der(leaf)], certs.root_certificate(db))
        numbers = leaf.public_key().public_numbers()  # type: ignore[union-attr]
        message = Sign1Message(phdr=cbor2.loads(protected), payload=payload)
        message._signature = signature
        message.key = EC2Key(
            crv=P256, x=numbers.x.to_bytes(32, "big"), y=numbers.y.to_bytes(32, "big")
        )
        assert message.verify_signature()
        claims = cbor2.loads(payload)
        assert claims[2] == reference["uri"] and claims[65534] == status.TTL_SECONDS
        lst = claims[65533]
        return status.decode_status(sdjwt.b64url(lst["lst"]), reference["idx"], lst["bits"])

    assert published() == status.VALID
    authority.add_lock_ground(db, account_id, "holder_request", actor=TEST_ACTOR)
    assert published() == status.SUSPENDED


def test_the_status_list_answers_in_cwt_when_asked(api: TestClient) -> None:
    cwt = api.get("/api/v1/wallet/status/1", headers={"Accept": "application/statuslist+cwt"})
    assert cwt.headers["content-type"] == "application/statuslist+cwt"
    assert cbor2.loads(cwt.content).tag == 18
    jwt = api.get("/api/v1/wallet/status/1")
    assert jwt.headers["content-type"].startswith("application/statuslist+jwt")
    assert jwt.headers["vary"] == "Accept"
