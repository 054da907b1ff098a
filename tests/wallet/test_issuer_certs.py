"""The eid issuing chain: an IACA-style root and an issuing (Document Signer) certificate per
ISO/IEC 18013-5 Annex B, made once even when processes start together, keys sealed, rotation
keeping the old certificate published, and the root served for verifiers to pin."""

from __future__ import annotations

import datetime as dt
import threading

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from eid.core import clock
from eid.core.database import unit_of_work
from eid.core.settings import get_settings
from eid.wallet import certs
from eid.wallet.models import IssuerCertificate


def test_root_and_issuing_certificate_follow_the_annex_b_profiles(db: Session) -> None:
    root_row, ds_row = certs.ensure_chain(db)
    root = x509.load_der_x509_certificate(root_row.cert_der)
    ds = x509.load_der_x509_certificate(ds_row.cert_der)
    # Root: self-signed P-256 CA that signs certificates only, long-lived.
    assert root.subject == root.issuer
    assert root.subject.rfc4514_string() == "CN=eid Root CA,O=eid,C=VN"
    root.verify_directly_issued_by(root)
    assert isinstance(root.public_key(), ec.EllipticCurvePublicKey)
    assert root.public_key().curve.name == "secp256r1"  # type: ignore[union-attr]
    basic = root.extensions.get_extension_for_class(x509.BasicConstraints)
    assert basic.critical and basic.value.ca and basic.value.path_length == 0
    usage = root.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign and not usage.digital_signature
    assert root.not_valid_after_utc - root.not_valid_before_utc > dt.timedelta(days=365 * 10)
    # Issuing certificate: signed by the root, digitalSignature only, mdoc DS usage, not a CA.
    ds.verify_directly_issued_by(root)
    assert ds.issuer == root.subject
    ds_usage = ds.extensions.get_extension_for_class(x509.KeyUsage)
    assert ds_usage.critical and ds_usage.value.digital_signature
    assert not (ds_usage.value.key_cert_sign or ds_usage.value.crl_sign)
    eku = ds.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [x509.ObjectIdentifier("1.0.18013.5.1.2")]
    assert not ds.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert ds.not_valid_after_utc - ds.not_valid_before_utc <= dt.timedelta(days=457, minutes=5)
    san = ds.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == [get_settings().issuer]
    # Serials: positive, random, at most 20 bytes; kids are the keys' thumbprints.
    assert root.serial_number != ds.serial_number
    assert 0 < ds.serial_number < 2**159 and ds.serial_number.bit_length() > 150
    assert certs.signer(db).kid == ds_row.kid == certs.signer(db).jwk().thumbprint()
    # The private keys are sealed, not stored in the clear.
    assert b"PRIVATE" not in ds_row.private_key and len(ds_row.private_key) > 100


def test_the_chain_is_made_once(db: Session) -> None:
    first = certs.ensure_chain(db)
    assert certs.ensure_chain(db) == first
    assert db.scalar(select(func.count()).select_from(IssuerCertificate)) == 2


def test_rotation_keeps_the_old_issuing_certificate_published(db: Session) -> None:
    _, old = certs.ensure_chain(db)
    new = certs.rotate_issuing_certificate(db)
    assert certs.signer(db).kid == new.kid != old.kid
    published = [k["kid"] for k in certs.public_jwks(db)]
    assert published == [new.kid, old.kid]
    # An issuing certificate stops signing before less than a credential's life remains.
    clock.shift(dt.timedelta(days=457) - certs.MAX_CREDENTIAL_VALIDITY + dt.timedelta(days=1))
    assert certs.signer(db).kid not in (new.kid, old.kid)


def test_verify_chain_refuses_a_foreign_or_expired_chain(db: Session) -> None:
    signer = certs.signer(db)
    assert certs.verify_chain(signer.x5c, signer.root).public_numbers() == (
        signer.key.public_key().public_numbers()
    )
    # With the root included (some senders do) it verifies the same.
    certs.verify_chain([*signer.x5c, certs.b64der(signer.root)], signer.root)
    foreign = _self_signed()
    for bad in ([], ["not base64 DER"], [certs.b64der(foreign)]):
        try:
            certs.verify_chain(bad, signer.root)
        except certs.ChainRefused:
            continue
        raise AssertionError(f"accepted {bad!r}")
    clock.shift(dt.timedelta(days=500))
    try:
        certs.verify_chain(signer.x5c, signer.root)
    except certs.ChainRefused as exc:
        assert "not valid now" in str(exc)
    else:
        raise AssertionError("an expired certificate was accepted")


def _self_signed() -> x509.Certificate:
    from cryptography.hazmat.primitives import hashes

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "eid Root CA")])
    now = clock.now()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False), True
        )
        .sign(key, hashes.SHA256())
    )


def test_processes_starting_together_make_one_chain_and_serve_the_root(live: str) -> None:
    """Six first requests at once on an empty table: one root, one issuing certificate, and
    every answer the same root (the advisory lock serialises the making)."""
    barrier = threading.Barrier(6)
    answers: list[str] = [""] * 6

    def fetch(i: int) -> None:
        with httpx.Client(base_url=live, timeout=60) as client:
            client.get("/healthz")
            barrier.wait()
            response = client.get("/api/v1/wallet/issuer/root.pem")
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("application/x-pem-file")
            answers[i] = response.text

    threads = [threading.Thread(target=fetch, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(set(answers)) == 1 and answers[0].startswith("-----BEGIN CERTIFICATE-----")
    with unit_of_work() as db:
        roles = db.execute(select(IssuerCertificate.role)).scalars().all()
        assert sorted(roles) == ["ds", "root"]
        assert x509.load_pem_x509_certificate(answers[0].encode()) == certs.root_certificate(db)


def test_a_new_issuer_url_gets_a_new_issuing_certificate(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issuing certificate names the issuer URL (SAN); moving eid to another URL makes a
    new one, so a credential's `iss` always matches its certificate."""
    _, before = certs.ensure_chain(db)
    monkeypatch.setenv("EID_ISSUER", "https://eid.example.vn")
    get_settings.cache_clear()
    try:
        _, after = certs.ensure_chain(db)
        assert after.kid != before.kid
        assert certs.issuer_uris(certs.signer(db).certificate) == ["https://eid.example.vn"]
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
