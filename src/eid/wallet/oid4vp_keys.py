"""The verifier's signing key and certificate for OpenID4VP request objects.

Client identifier prefix `x509_hash:` (OpenID4VP 1.0 §5.9.3): the client_id is the base64url
SHA-256 of the DER certificate in the request object's `x5c`. Unlike `x509_san_dns:` (whose
identifier must equal the response_uri's host and sit in a DNS SAN), it works the same for a
test server on 127.0.0.1 (an IP address is no DNS name), for localhost and for a real host, and
it is the prefix HAIP 1.0 requires wallets to support. The certificate still names the host
(DNS or IP SAN), so `x509_san_dns:` is one line away where a wallet insists on it.

The key is derived from the key store's `oid4vp-verifier` secret and the certificate signed
with deterministic ECDSA (RFC 6979) over fixed fields, so every process, worker and restart
builds the same bytes: the client_id a QR carries stays valid whichever process serves it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from joserfc.jwk import ECKey

from eid.core.crypto import get_keystore
from eid.core.settings import get_settings
from eid.wallet import sdjwt
from eid.wallet.certs import key_usage

VERIFIER_KEY_NAME = "oid4vp-verifier"
PREFIX = "x509_hash:"
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_NOT_BEFORE = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
_NOT_AFTER = dt.datetime(2036, 1, 1, tzinfo=dt.UTC)


@lru_cache(maxsize=1)
def _private_key() -> ec.EllipticCurvePrivateKey:
    seed = get_keystore().secret(VERIFIER_KEY_NAME)
    scalar = int.from_bytes(hashlib.sha256(b"eid oid4vp verifier P-256|" + seed).digest())
    return ec.derive_private_key(scalar % (_P256_ORDER - 1) + 1, ec.SECP256R1())


def signing_key() -> ECKey:
    pem = _private_key().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return ECKey.import_key(pem)


def _host() -> str:
    return urlsplit(get_settings().issuer).hostname or "localhost"


@lru_cache(maxsize=8)
def _certificate(host: str) -> bytes:
    key = _private_key()
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "eid"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"eid verifier {host}"),
        ]
    )
    try:
        san: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        san = x509.DNSName(host)
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    serial = int.from_bytes(hashlib.sha256(public + host.encode()).digest()[:16]) >> 1
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(_NOT_BEFORE)
        .not_valid_after(_NOT_AFTER)
        .add_extension(x509.SubjectAlternativeName([san]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            key_usage(sign_data=True, sign_certificates=False),
            critical=True,
        )
        .sign(key, hashes.SHA256(), ecdsa_deterministic=True)
    )
    return cert.public_bytes(serialization.Encoding.DER)


def certificate_der() -> bytes:
    return _certificate(_host())


def x5c() -> list[str]:
    import base64

    return [base64.b64encode(certificate_der()).decode()]


def client_id() -> str:
    """`x509_hash:` + base64url(SHA-256(DER leaf certificate))."""
    return PREFIX + sdjwt.b64url(hashlib.sha256(certificate_der()).digest())


def public_jwk() -> dict[str, Any]:
    return dict(signing_key().as_dict(private=False))


VERIFIER_ENC_KEY_NAME = "oid4vp-verifier-enc"
ENC_ALG = "ECDH-ES"
ENC_VALUES = ["A128GCM", "A256GCM"]


@lru_cache(maxsize=1)
def encryption_key() -> ECKey:
    """The key wallets encrypt `direct_post.jwt` responses to (ECDH-ES, §8.3), derived like the
    signing key so every process decrypts what another one's request asked for."""
    seed = get_keystore().secret(VERIFIER_ENC_KEY_NAME)
    scalar = int.from_bytes(hashlib.sha256(b"eid oid4vp verifier enc P-256|" + seed).digest())
    private = ec.derive_private_key(scalar % (_P256_ORDER - 1) + 1, ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    key = ECKey.import_key(pem)
    key.ensure_kid()
    return key


def encryption_jwk() -> dict[str, Any]:
    key = encryption_key()
    return {**key.as_dict(private=False), "kid": key.kid, "use": "enc", "alg": ENC_ALG}
