"""OpenID4VP 1.0 Appendix B.2: the residence card presented as an ISO/IEC 18013-5 mdoc.

The wallet answers an `mso_mdoc` credential query with a base64url DeviceResponse holding one
Document: the IssuerSigned items it chose to release and the `issuerAuth` eid signed, and a
`deviceSignature` by the device key the MSO names over DeviceAuthentication, whose
SessionTranscript is built from the OpenID4VP request (B.2.6.1):

    SessionTranscript = [null, null, ["OpenID4VPHandover", SHA-256(CBOR(OpenID4VPHandoverInfo))]]
    OpenID4VPHandoverInfo = [client_id, nonce, jwk_thumbprint or null, response_uri]

(`jwk_thumbprint`: the SHA-256 JWK thumbprint of the verifier key the response is encrypted to,
direct_post.jwt; null for direct_post). So a DeviceResponse made for another verifier, another
request or another response URI does not verify here.

Checked, each with a stable code: issuerAuth (COSE_Sign1 ES256) by the `x5chain` leaf, chained
to eid's Root CA and an mdoc document signer (EKU 1.0.18013.5.1.2) not on the root's CRL
(`CERTIFICATE_REVOKED`); the MSO's docType, digest
algorithm and validity; the digest of every returned element against `valueDigests`; the device
signature; the status in the status list the MSO names.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

import cbor2
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from eid.core import clock
from eid.wallet import certs, mdoc, status, verifier
from eid.wallet.verifier import PresentationRefused

HANDOVER = "OpenID4VPHandover"
COSE_ES256 = -7
COSE_ALG = 1
DATA_ITEM = 24  # CBOR tag: encoded CBOR data item (RFC 8949 §3.4.5.1)
COSE_SIGN1_TAG = 18
LEEWAY = dt.timedelta(seconds=verifier.LEEWAY)


@dataclass(frozen=True)
class VerifiedMdoc:
    claims: dict[str, Any]  # the returned elements, dates as ISO strings
    disclosed: list[str]
    status_uri: str
    status_index: int


def _refuse(code: str, message: str) -> PresentationRefused:
    return PresentationRefused(message, code=code)


def _malformed(what: str) -> PresentationRefused:
    return PresentationRefused(
        "not an mdoc DeviceResponse: %(problem)s",
        code="PRESENTATION_MALFORMED",
        params={"problem": what},
    )


def _bad_signature(code: str, problem: str) -> PresentationRefused:
    return PresentationRefused(
        "a signature does not verify: %(problem)s", code=code, params={"problem": problem}
    )


def session_transcript(
    *, client_id: str, nonce: str, response_uri: str, jwk_thumbprint: bytes | None
) -> list[Any]:
    info = cbor2.dumps([client_id, nonce, jwk_thumbprint, response_uri])
    return [None, None, [HANDOVER, hashlib.sha256(info).digest()]]


def _data_item(value: Any, what: str) -> Any:
    """The CBOR inside a `#6.24(bstr .cbor X)`."""
    if not (isinstance(value, cbor2.CBORTag) and value.tag == DATA_ITEM):
        raise _malformed(f"{what} is not an embedded CBOR item")
    if not isinstance(value.value, bytes):
        raise _malformed(f"{what} is not an embedded CBOR item")
    try:
        return cbor2.loads(value.value)
    except (cbor2.CBORDecodeError, ValueError):
        raise _malformed(f"{what} does not decode") from None


def _sign1_parts(message: Any, what: str) -> tuple[bytes, dict[Any, Any], Any, bytes]:
    if isinstance(message, cbor2.CBORTag) and message.tag == COSE_SIGN1_TAG:
        message = message.value
    if not (isinstance(message, list) and len(message) == 4):
        raise _malformed(f"{what} is not a COSE_Sign1")
    protected, unprotected, payload, signature = message
    if not (isinstance(protected, bytes) and isinstance(unprotected, dict)):
        raise _malformed(f"{what} has malformed headers")
    if not isinstance(signature, bytes) or len(signature) != 64:
        raise _bad_signature("SIGNATURE_INVALID", "not an ES256 signature")
    return protected, unprotected, payload, signature


def _verify_sign1(
    message: Any, key: ec.EllipticCurvePublicKey, content: bytes, *, code: str, what: str
) -> None:
    """COSE_Sign1 ES256 (RFC 9052 §4.4) over `content`: the message's payload, or the detached
    payload the verifier computed itself."""
    protected, _, _, signature = _sign1_parts(message, what)
    try:
        headers = cbor2.loads(protected) if protected else {}
    except (cbor2.CBORDecodeError, ValueError):
        raise _malformed(f"{what} has malformed headers") from None
    if not isinstance(headers, dict) or headers.get(COSE_ALG) != COSE_ES256:
        raise _bad_signature(code, "the algorithm is not ES256")
    to_be_signed = cbor2.dumps(["Signature1", protected, b"", content])
    der = encode_dss_signature(
        int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    )
    try:
        key.verify(der, to_be_signed, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise _bad_signature(code, what) from None


def _issuer_key(
    issuer_auth: Any, root: x509.Certificate, crl: x509.CertificateRevocationList | None
) -> ec.EllipticCurvePublicKey:
    protected, unprotected, _, _ = _sign1_parts(issuer_auth, "issuerAuth")
    chain = unprotected.get(mdoc.X5CHAIN)
    if chain is None:
        try:
            chain = (cbor2.loads(protected) if protected else {}).get(mdoc.X5CHAIN)
        except (cbor2.CBORDecodeError, ValueError, AttributeError):
            chain = None
    ders = [chain] if isinstance(chain, bytes) else chain
    if not (isinstance(ders, list) and ders and all(isinstance(d, bytes) for d in ders)):
        raise _refuse("CHAIN_INVALID", verifier.CHAIN_REFUSED)
    x5c = [base64.b64encode(d).decode() for d in ders]
    try:
        public = certs.verify_chain(x5c, root, crl)
        usage = certs.leaf(x5c).extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except certs.CertificateRevoked as exc:
        raise verifier.revoked(exc) from None
    except (certs.ChainRefused, x509.ExtensionNotFound, ValueError):
        raise _refuse("CHAIN_INVALID", verifier.CHAIN_REFUSED) from None
    if certs.MDOC_DS_EKU not in usage:
        raise _refuse("CHAIN_INVALID", verifier.CHAIN_REFUSED)
    return public


def _device_key(mso: dict[str, Any]) -> ec.EllipticCurvePublicKey:
    key = (mso.get("deviceKeyInfo") or {}).get("deviceKey")
    if not (isinstance(key, dict) and key.get(1) == 2 and key.get(-1) == 1):
        raise _refuse("DEVICE_AUTH_INVALID", "the credential names no P-256 device key")
    try:
        x, y = key[-2], key[-3]
        numbers = ec.EllipticCurvePublicNumbers(
            int.from_bytes(x, "big"), int.from_bytes(y, "big"), ec.SECP256R1()
        )
        return numbers.public_key()
    except (KeyError, TypeError, ValueError):
        raise _refuse("DEVICE_AUTH_INVALID", "the credential names no P-256 device key") from None


def _check_validity(mso: dict[str, Any]) -> None:
    validity = mso.get("validityInfo") or {}
    valid_from, valid_until = validity.get("validFrom"), validity.get("validUntil")
    if not (isinstance(valid_from, dt.datetime) and isinstance(valid_until, dt.datetime)):
        raise _refuse("CREDENTIAL_NO_EXPIRY", "the credential has no expiry")
    now = clock.now()
    if valid_until + LEEWAY < now:
        raise _refuse("CREDENTIAL_EXPIRED", "the credential has expired")
    if valid_from - LEEWAY > now:
        raise _refuse("CREDENTIAL_NOT_YET_VALID", "the credential is not valid yet")


def _plain(value: Any) -> Any:
    if isinstance(value, cbor2.CBORTag) and value.tag == mdoc.FULL_DATE:
        return str(value.value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str | int | bool) or value is None:
        return value
    raise _malformed("an element value of an unexpected type")


def _elements(items: Any, digests: dict[Any, Any]) -> tuple[dict[str, Any], list[str]]:
    """Each returned IssuerSignedItem must hash to the MSO's digest under its digestID."""
    if not isinstance(items, list):
        raise _malformed("nameSpaces must list items")
    claims: dict[str, Any] = {}
    seen_ids: set[int] = set()
    for tagged in items:
        item = _data_item(tagged, "an IssuerSignedItem")
        if not isinstance(item, dict):
            raise _malformed("an IssuerSignedItem is not a map")
        digest_id, name = item.get("digestID"), item.get("elementIdentifier")
        if not isinstance(digest_id, int) or not isinstance(name, str):
            raise _malformed("an IssuerSignedItem lacks its digestID or elementIdentifier")
        expected = digests.get(digest_id)
        if expected is None or hashlib.sha256(cbor2.dumps(tagged)).digest() != expected:
            raise _refuse(
                "ELEMENT_DIGEST_INVALID",
                "an element does not match the digest the issuer signed (changed or foreign)",
            )
        if digest_id in seen_ids or name in claims:
            raise _refuse("DISCLOSURE_DUPLICATED", "an element appears twice")
        seen_ids.add(digest_id)
        claims[name] = _plain(item.get("elementValue"))
    return claims, list(claims)


def _document(token: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        response = cbor2.loads(raw)
    except (binascii.Error, ValueError, cbor2.CBORDecodeError):
        raise _malformed("not base64url CBOR") from None
    if not isinstance(response, dict) or response.get("version") != "1.0":
        raise _malformed("not a DeviceResponse version 1.0")
    if response.get("status") != 0:
        raise _malformed("the DeviceResponse's status is not OK (0)")
    documents = response.get("documents")
    if not (isinstance(documents, list) and len(documents) == 1):
        raise _malformed("one document per credential query")
    document = documents[0]
    if not isinstance(document, dict):
        raise _malformed("a document is not a map")
    return document


def verify_device_response(
    token: str,
    *,
    root: x509.Certificate,
    crl: x509.CertificateRevocationList | None = None,
    doctype: str,
    namespace: str,
    transcript: list[Any],
    status_lookup: status.StatusLookup,
) -> VerifiedMdoc:
    """`crl`: the root's revocation list; a document signer on it is `CERTIFICATE_REVOKED`."""
    document = _document(token)
    issuer_signed = document.get("issuerSigned")
    device_signed = document.get("deviceSigned")
    if not (isinstance(issuer_signed, dict) and isinstance(device_signed, dict)):
        raise _malformed("a document needs issuerSigned and deviceSigned")
    issuer_auth = issuer_signed.get("issuerAuth")
    _, _, payload, _ = _sign1_parts(issuer_auth, "issuerAuth")
    if not isinstance(payload, bytes):
        raise _malformed("issuerAuth carries no MSO")
    _verify_sign1(
        issuer_auth,
        _issuer_key(issuer_auth, root, crl),
        payload,
        code="SIGNATURE_INVALID",
        what="issuerAuth",
    )
    try:
        mso = _data_item(cbor2.loads(payload), "the MSO")
    except (cbor2.CBORDecodeError, ValueError):
        raise _malformed("the MSO does not decode") from None
    if not isinstance(mso, dict):
        raise _malformed("the MSO is not a map")
    if document.get("docType") != doctype or mso.get("docType") != doctype:
        raise _refuse("CREDENTIAL_TYPE", "not the credential type asked for")
    if mso.get("digestAlgorithm") != "SHA-256":
        raise _refuse("DIGEST_ALG_UNSUPPORTED", "unsupported digest algorithm")
    _check_validity(mso)
    name_spaces = issuer_signed.get("nameSpaces") or {}
    if not isinstance(name_spaces, dict) or set(name_spaces) - {namespace}:
        raise _malformed("elements outside the card's name space")
    digests = (mso.get("valueDigests") or {}).get(namespace)
    if not isinstance(digests, dict):
        raise _malformed("the MSO has no digests for the card's name space")
    claims, names = _elements(name_spaces.get(namespace, []), digests)

    device_auth = device_signed.get("deviceAuth")
    device_name_spaces = device_signed.get("nameSpaces")
    if not isinstance(device_auth, dict) or "deviceSignature" not in device_auth:
        raise _refuse("DEVICE_AUTH_MISSING", "the presentation has no device signature")
    _data_item(device_name_spaces, "deviceSigned nameSpaces")
    authentication = cbor2.dumps(
        cbor2.CBORTag(
            DATA_ITEM,
            cbor2.dumps(["DeviceAuthentication", transcript, doctype, device_name_spaces]),
        )
    )
    _verify_sign1(
        device_auth["deviceSignature"],
        _device_key(mso),
        authentication,
        code="DEVICE_AUTH_INVALID",
        what="deviceSignature",
    )
    uri, index = verifier.check_status(mso.get("status"), status_lookup)
    return VerifiedMdoc(claims=claims, disclosed=names, status_uri=uri, status_index=index)
