"""The card as an ISO/IEC 18013-5 mdoc (`mso_mdoc`): IssuerSigned = the name space's
IssuerSignedItems (each with a random 32-byte salt, digest ids in random order) and `issuerAuth`,
the Mobile Security Object signed as a COSE_Sign1 (ES256, `x5chain` = the issuing certificate in
the unprotected header, label 33).

CBOR by `cbor2`, COSE_Sign1 by `pycose` (both maintained, on PyPI). `pymdoccbor` (the EUDI
wallet's Python mdoc library, 1.4.0) was read as a candidate writer and not used for it: its
MsoIssuer stamps `validityInfo` from the system clock rather than eid's, numbers digest ids in
claim order and takes validity as whole dates; the tests use it as an independent reader.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

import cbor2
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pycose.algorithms import Es256
from pycose.headers import Algorithm
from pycose.keys.curves import P256
from pycose.keys.ec2 import EC2Key
from pycose.messages.sign1message import Sign1Message

from eid.wallet import sdjwt
from eid.wallet.certs import Signer

X5CHAIN = 33  # COSE header label (RFC 9360)
TYP = 16  # COSE header label (RFC 9596)
FULL_DATE = 1004  # RFC 8943 full-date tag
DATE_CLAIMS = {"birthdate", "residence_card_expiry"}
SALT_BYTES = 32


def _tdate(value: dt.datetime) -> cbor2.CBORTag:
    return cbor2.CBORTag(0, value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))


def cose_key(holder_jwk: dict[str, Any]) -> dict[int, Any]:
    """The holder's P-256 JWK as a COSE_Key (kty EC2, crv P-256)."""
    return {
        1: 2,
        -1: 1,
        -2: sdjwt.b64url_decode(holder_jwk["x"]),
        -3: sdjwt.b64url_decode(holder_jwk["y"]),
    }


def _item(digest_id: int, name: str, value: Any) -> cbor2.CBORTag:
    if name in DATE_CLAIMS and isinstance(value, str):
        value = cbor2.CBORTag(FULL_DATE, value)
    item = {
        "digestID": digest_id,
        "random": secrets.token_bytes(SALT_BYTES),
        "elementIdentifier": name,
        "elementValue": value,
    }
    return cbor2.CBORTag(24, cbor2.dumps(item, canonical=True))


def issuer_signed(
    *,
    doctype: str,
    namespace: str,
    claims: dict[str, Any],
    holder_jwk: dict[str, Any],
    signer: Signer,
    signed: dt.datetime,
    valid_until: dt.datetime,
    status: dict[str, Any],
) -> bytes:
    """The CBOR IssuerSigned structure (what OpenID4VCI's `mso_mdoc` credential carries,
    base64url-encoded)."""
    ids = list(range(len(claims)))
    secrets.SystemRandom().shuffle(ids)  # the order of the ids tells nothing about the claims
    items = [_item(i, name, value) for i, (name, value) in zip(ids, claims.items(), strict=True)]
    digests = {
        cbor2.loads(item.value)["digestID"]: hashlib.sha256(
            cbor2.dumps(item, canonical=True)
        ).digest()
        for item in items
    }
    mso = {
        "version": "1.0",
        "digestAlgorithm": "SHA-256",
        "docType": doctype,
        "valueDigests": {namespace: digests},
        "deviceKeyInfo": {"deviceKey": cose_key(holder_jwk)},
        "validityInfo": {
            "signed": _tdate(signed),
            "validFrom": _tdate(signed),
            "validUntil": _tdate(valid_until),
        },
        "status": status,
    }
    payload = cbor2.dumps(cbor2.CBORTag(24, cbor2.dumps(mso, canonical=True)), canonical=True)
    issuer_auth = cbor2.loads(sign1(payload, signer))
    return cbor2.dumps(
        {"nameSpaces": {namespace: items}, "issuerAuth": issuer_auth}, canonical=True
    )


def sign1(payload: bytes, signer: Signer, *, typ: str | None = None, tag: bool = False) -> bytes:
    """A COSE_Sign1 (ES256) over `payload`, the issuing certificate in `x5chain` (unprotected,
    as ISO/IEC 18013-5 puts it), `typ` (label 16, RFC 9596) protected when given."""
    protected: dict[Any, Any] = {Algorithm: Es256}
    if typ is not None:
        protected[TYP] = typ
    message = Sign1Message(
        phdr=protected,
        uhdr={X5CHAIN: signer.certificate.public_bytes(serialization.Encoding.DER)},
        payload=payload,
    )
    message.key = _cose_private(signer.key)
    encoded: bytes = message.encode(tag=tag)
    return encoded


def _cose_private(key: ec.EllipticCurvePrivateKey) -> EC2Key:
    numbers = key.private_numbers()
    public = numbers.public_numbers
    return EC2Key(
        crv=P256,
        x=public.x.to_bytes(32, "big"),
        y=public.y.to_bytes(32, "big"),
        d=numbers.private_value.to_bytes(32, "big"),
    )
