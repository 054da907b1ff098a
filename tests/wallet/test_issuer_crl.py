"""Revocation in eid's card PKI (ISO/IEC 18013-5 Annex B): cRLDistributionPoints in the root and
the issuing certificates, the root's X.509 v2 CRL (number, AKI, nextUpdate, re-signed when it
changes or nears its end), revoking an issuing certificate (a successor at once, idempotent,
audited), eid's verifier refusing a card whose issuing certificate is revoked, and openssl as an
independent judge of the same files."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc.jwk import ECKey
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from eid.cli import app
from eid.core import clock
from eid.core.audit import Actor, AuditEvent
from eid.core.database import unit_of_work
from eid.core.errors import NotFound, ValidationFailed
from eid.core.settings import get_settings
from eid.wallet import certs, formats, oid4vp, oid4vp_mdoc, sdjwt, verification
from eid.wallet.models import IssuedCredential, IssuerCertificate
from eid.wallet.service import issue_residence_card
from eid.wallet.verifier import PresentationRefused
from tests.identity.factories import make_holder
from tests.wallet.test_oid4vp_mdoc import _device_response

ACTOR = Actor(kind="system", id="test", role="admin")
CRL_URL_PATH = "/api/v1/wallet/issuer/root.crl"


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def _cert(row: IssuerCertificate) -> x509.Certificate:
    return x509.load_der_x509_certificate(row.cert_der)


def _revoke(db: Session, row: IssuerCertificate, reason: str = "keyCompromise") -> Any:
    return certs.revoke_issuing_certificate(db, row.kid, reason, actor=ACTOR)


# -- the profile --------------------------------------------------------------------------------


def test_root_and_issuing_certificates_carry_the_annex_b_crl_distribution_point(
    db: Session,
) -> None:
    """Annex B (IACA and Document Signer): one distribution point, a URI, no reasons, no
    cRLIssuer; and an issuerAltName of URIs. The URL is built from the issuer URL."""
    root_row, ds_row = certs.ensure_chain(db)
    expected = get_settings().issuer.rstrip("/") + CRL_URL_PATH
    assert certs.crl_url() == expected
    for cert in (_cert(root_row), _cert(ds_row)):
        ext = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints)
        assert not ext.critical
        [point] = list(ext.value)
        assert point.full_name == [x509.UniformResourceIdentifier(expected)]
        assert point.relative_name is None and point.reasons is None and point.crl_issuer is None
        ian = cert.extensions.get_extension_for_class(x509.IssuerAlternativeName).value
        assert ian.get_values_for_type(x509.UniformResourceIdentifier) == [get_settings().issuer]
        # Annex B B.1.1: none of the extensions it forbids.
        for forbidden in (x509.PolicyConstraints, x509.NameConstraints, x509.FreshestCRL):
            with pytest.raises(x509.ExtensionNotFound):
                cert.extensions.get_extension_for_class(forbidden)


# -- the CRL ------------------------------------------------------------------------------------


def test_the_crl_is_the_roots_numbered_with_aki_and_a_week_to_next_update(db: Session) -> None:
    root_row, _ = certs.ensure_chain(db)
    root = _cert(root_row)
    crl = certs.current_crl(db)
    assert crl.issuer == root.subject
    assert crl.is_signature_valid(root.public_key())  # type: ignore[arg-type]
    assert crl.signature_hash_algorithm is not None
    assert crl.signature_hash_algorithm.name == "sha256"
    assert len(crl) == 0
    number = crl.extensions.get_extension_for_class(x509.CRLNumber)
    assert not number.critical and number.value.crl_number >= 1
    aki = crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    assert crl.next_update_utc is not None
    assert crl.next_update_utc - crl.last_update_utc == certs.CRL_VALIDITY
    # Read again: the same CRL, not a new signature per request.
    assert certs.current_crl_row(db).number == number.value.crl_number
    # Near nextUpdate it is re-signed on read, with a higher number.
    clock.shift(certs.CRL_VALIDITY - certs.CRL_REFRESH + dt.timedelta(hours=1))
    again = certs.current_crl(db)
    assert again.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == (
        number.value.crl_number + 1
    )
    assert again.last_update_utc > crl.last_update_utc


def test_revoking_puts_it_on_the_crl_and_makes_a_successor_at_once(db: Session) -> None:
    _, old = certs.ensure_chain(db)
    before = certs.current_crl_row(db).number
    done = _revoke(db, old, "keyCompromise")
    assert done.changed and done.kid == old.kid and done.serial == old.serial
    assert done.successor is not None and done.successor != old.kid
    assert done.crl_number == before + 1
    # The successor signs now; the revoked one is no longer published.
    assert certs.signer(db).kid == done.successor
    assert old.kid not in [k["kid"] for k in certs.public_jwks(db)]
    assert _der(_cert(old)) not in [_der(c) for c in certs.published_issuing_certificates(db)]
    successor = db.get(IssuerCertificate, done.successor)
    assert successor is not None and successor.revoked_at is None
    assert certs.crl_urls(_cert(successor)) == [certs.crl_url()]
    # On the CRL with its reason and date.
    crl = certs.current_crl(db)
    assert certs.current_crl_row(db).number == done.crl_number  # no second signature
    entry = crl.get_revoked_certificate_by_serial_number(_cert(old).serial_number)
    assert entry is not None
    reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
    assert reason == x509.ReasonFlags.key_compromise
    assert crl.get_revoked_certificate_by_serial_number(_cert(successor).serial_number) is None
    # Audited, with no personal data.
    event = db.execute(
        select(AuditEvent).where(
            AuditEvent.action == "wallet.issuing_certificate_revoked",
            AuditEvent.subject_id == old.kid,
        )
    ).scalar_one()
    assert event.reason == "keyCompromise"
    assert event.details["successor"] == done.successor
    assert event.details["crl_number"] == done.crl_number


def test_revoking_again_changes_nothing_and_a_new_reason_replaces_the_old(db: Session) -> None:
    _, old = certs.ensure_chain(db)
    first = _revoke(db, old, "superseded")
    # By serial (as `eid keys issuing` lists it) the same certificate: nothing changes.
    again = certs.revoke_issuing_certificate(db, old.serial.upper(), "superseded", actor=ACTOR)
    assert not again.changed and again.successor is None
    assert again.crl_number == first.crl_number
    assert certs.signer(db).kid == first.successor  # no third certificate
    assert len(certs.issuing_certificates(db)) == 2
    entry = certs.current_crl(db).get_revoked_certificate_by_serial_number(_cert(old).serial_number)
    assert entry is not None
    # Found later to be a compromise: the reason is replaced, the revocation date kept.
    worse = _revoke(db, old, "keyCompromise")
    assert worse.changed and worse.successor is None and worse.revoked_at == first.revoked_at
    entry = certs.current_crl(db).get_revoked_certificate_by_serial_number(_cert(old).serial_number)
    assert entry is not None
    flag = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
    assert flag == x509.ReasonFlags.key_compromise
    states = {c["kid"]: c["state"] for c in certs.issuing_certificates(db)}
    assert states == {old.kid: "revoked", first.successor: "signing"}


def test_revoking_a_retired_certificate_leaves_the_signing_one(db: Session) -> None:
    _, old = certs.ensure_chain(db)
    new = certs.rotate_issuing_certificate(db)
    done = _revoke(db, old, "cessationOfOperation")
    assert done.successor is None and certs.signer(db).kid == new.kid
    # "unspecified" goes on the CRL without a reason code (RFC 5280 §5.3.1).
    _revoke(db, new, "unspecified")
    crl = certs.current_crl(db)
    entry = crl.get_revoked_certificate_by_serial_number(_cert(new).serial_number)
    assert entry is not None
    with pytest.raises(x509.ExtensionNotFound):
        entry.extensions.get_extension_for_class(x509.CRLReason)
    assert len(crl) == 2


def test_an_unknown_reason_or_certificate_is_refused(db: Session) -> None:
    root, ds = certs.ensure_chain(db)
    with pytest.raises(ValidationFailed) as bad_reason:
        certs.revoke_issuing_certificate(db, ds.kid, "certificateHold", actor=ACTOR)
    assert bad_reason.value.code == "REVOCATION_REASON_UNKNOWN"
    for which in ("no-such-kid", root.kid, root.serial):  # the root is not an issuing cert
        with pytest.raises(NotFound) as missing:
            certs.revoke_issuing_certificate(db, which, "superseded", actor=ACTOR)
        assert missing.value.code == "CERTIFICATE_NOT_FOUND"
    assert certs.signer(db).kid == ds.kid


def test_a_crl_changed_behind_its_back_is_re_signed_on_read(db: Session) -> None:
    """The CRL follows the revoked set: a revocation written without re-signing (another tool,
    a restore) is on the next CRL anyway."""
    _, ds = certs.ensure_chain(db)
    before = certs.current_crl_row(db).number
    ds.revoked_at, ds.revocation_reason = clock.now(), "superseded"
    db.flush()
    crl = certs.current_crl(db)
    assert crl.get_revoked_certificate_by_serial_number(_cert(ds).serial_number) is not None
    assert certs.current_crl_row(db).number == before + 1


# -- verify_chain -------------------------------------------------------------------------------


def test_verify_chain_refuses_a_revoked_leaf_and_a_foreign_or_stale_crl(db: Session) -> None:
    signer = certs.signer(db)
    root = signer.root
    certs.verify_chain(signer.x5c, root, certs.current_crl(db))
    ds = db.get(IssuerCertificate, signer.kid)
    assert ds is not None
    _revoke(db, ds)
    crl = certs.current_crl(db)
    with pytest.raises(certs.CertificateRevoked) as revoked:
        certs.verify_chain(signer.x5c, root, crl)
    assert revoked.value.serial == signer.certificate.serial_number
    assert revoked.value.reason == "keyCompromise"
    # The root included by the sender changes nothing.
    with pytest.raises(certs.CertificateRevoked):
        certs.verify_chain([*signer.x5c, certs.b64der(root)], root, crl)
    certs.verify_chain(certs.signer(db).x5c, root, crl)  # the successor verifies
    # A CRL not signed by the pinned root, or past its nextUpdate, is no CRL.
    other = ec.generate_private_key(ec.SECP256R1())
    now = clock.now()
    forged = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(root.subject)
        .last_update(now)
        .next_update(now + dt.timedelta(days=1))
        .sign(other, hashes.SHA256())
    )
    with pytest.raises(certs.ChainRefused, match="not the root's"):
        certs.verify_chain(certs.signer(db).x5c, root, forged)
    clock.shift(certs.CRL_VALIDITY + dt.timedelta(days=1))
    with pytest.raises(certs.ChainRefused, match="out of date"):
        certs.verify_chain(certs.signer(db).x5c, root, crl)


# -- eid's verifier ----------------------------------------------------------------------------

AUD, NONCE = "x509_hash:test", "n-crl"


def _sd_jwt_card(db: Session) -> tuple[str, Any]:
    holder = make_holder(db, key=ECKey.generate_key("P-256"))
    return issue_residence_card(db, holder.account_id).credential, holder


def _present(credential: str, holder: Any, nonce: str = NONCE) -> str:
    return sdjwt.present(
        credential,
        holder.device_key,
        reveal=["full_name"],
        aud=AUD,
        nonce=nonce,
        iat=int(clock.now().timestamp()),
    )


def _verify_sd_jwt(db: Session, presentation: str) -> oid4vp.Presented:
    return oid4vp.verify_sd_jwt(
        db, presentation, audience=AUD, nonce=NONCE, vcts=oid4vp.accepted_vcts()
    )


def test_an_sd_jwt_vc_whose_issuing_certificate_is_revoked_is_refused(db: Session) -> None:
    credential, holder = _sd_jwt_card(db)
    assert _verify_sd_jwt(db, _present(credential, holder)).claims["full_name"]
    signing = db.get(IssuerCertificate, certs.signer(db).kid)
    assert signing is not None
    done = _revoke(db, signing)
    assert done.live_cards == 1  # the card above: its holder needs a new one
    with pytest.raises(PresentationRefused) as refused:
        _verify_sd_jwt(db, _present(credential, holder))
    assert refused.value.code == "CERTIFICATE_REVOKED"
    assert refused.value.details == {"serial": signing.serial, "reason": "keyCompromise"}
    # The counter's verifier endpoint (a nonce it handed out) refuses it the same way.
    nonce = verification.new_nonce(db, AUD).nonce
    with pytest.raises(PresentationRefused) as at_counter:
        verification.verify(db, _present(credential, holder, nonce), nonce)
    assert at_counter.value.code == "CERTIFICATE_REVOKED"
    # A card issued now (under the successor) verifies.
    fresh, holder = _sd_jwt_card(db)
    assert _verify_sd_jwt(db, _present(fresh, holder)).claims["full_name"]


def _mdoc_token(db: Session) -> tuple[str, list[Any], Any]:
    key = ECKey.generate_key("P-256")
    holder = make_holder(db, key=key)
    issued = formats.issue_mdoc(db, holder.account_id, key.as_dict(private=False))
    request = SimpleNamespace(response_mode="direct_post", nonce="n-mdoc")
    transcript = oid4vp_mdoc.session_transcript(
        client_id=oid4vp.oid4vp_keys.client_id(),
        nonce="n-mdoc",
        response_uri=oid4vp.response_uri(),
        jwk_thumbprint=None,
    )
    return _device_response(issued, key, transcript), transcript, request


def test_an_mdoc_whose_document_signer_is_revoked_is_refused(db: Session) -> None:
    token, _, request = _mdoc_token(db)
    assert oid4vp.verify_mdoc(db, token, request).claims  # type: ignore[arg-type]
    row = db.execute(
        select(IssuedCredential).order_by(IssuedCredential.created_at.desc()).limit(1)
    ).scalar_one()
    assert row.signer_kid == certs.signer(db).kid  # each card names its signer
    signing = db.get(IssuerCertificate, certs.signer(db).kid)
    assert signing is not None
    _revoke(db, signing, "superseded")
    with pytest.raises(PresentationRefused) as refused:
        oid4vp.verify_mdoc(db, token, request)  # type: ignore[arg-type]
    assert refused.value.code == "CERTIFICATE_REVOKED"
    fresh, _, request = _mdoc_token(db)
    assert oid4vp.verify_mdoc(db, fresh, request).claims  # type: ignore[arg-type]


# -- deployments from before ------------------------------------------------------------------


def _legacy(db: Session, *, root: IssuerCertificate | None = None) -> IssuerCertificate:
    """A root (or, given one, an issuing certificate) as eid made them before the CRL: no
    cRLDistributionPoints."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = clock.now()
    issuer_key = key if root is None else certs._private(root)
    subject = certs._name("eid Root CA" if root is None else "eid Document Signer")
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject if root is None else _cert(root).subject)
        .public_key(key.public_key())
        .serial_number(certs._serial())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + (certs.ROOT_VALIDITY if root is None else certs.DS_VALIDITY))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.IssuerAlternativeName([x509.UniformResourceIdentifier(get_settings().issuer)]),
            critical=False,
        )
    )
    if root is None:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=True, path_length=0), critical=True
        ).add_extension(certs.key_usage(sign_data=False, sign_certificates=True), critical=True)
    else:
        builder = (
            builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
            .add_extension(certs.key_usage(sign_data=True, sign_certificates=False), True)
            .add_extension(x509.ExtendedKeyUsage([certs.MDOC_DS_EKU]), critical=True)
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.UniformResourceIdentifier(get_settings().issuer)]
                ),
                critical=False,
            )
        )
    cert = builder.sign(issuer_key, hashes.SHA256())
    return certs._store(db, certs.ROOT if root is None else certs.DS, cert, key)


def test_an_issuing_certificate_without_the_crl_point_is_replaced_the_root_kept(
    db: Session,
) -> None:
    """An existing deployment: its root (no CRL point) stays, verifiers pinned it; its issuing
    certificate is replaced on the next start and stays published until it expires; the CRL
    is signed by that root and covers the old issuing certificate too."""
    old_root = _legacy(db)
    old_ds = _legacy(db, root=old_root)
    root, ds = certs.ensure_chain(db)
    assert root.kid == old_root.kid
    assert ds.kid != old_ds.kid and certs.crl_urls(_cert(ds)) == [certs.crl_url()]
    assert [k["kid"] for k in certs.public_jwks(db)] == [ds.kid, old_ds.kid]
    assert certs.crl_urls(_cert(root)) == []  # not replaced silently
    crl = certs.current_crl(db)
    assert crl.is_signature_valid(_cert(root).public_key())  # type: ignore[arg-type]
    _revoke(db, old_ds)
    x5c = [certs.b64der(_cert(old_ds))]
    with pytest.raises(certs.CertificateRevoked):
        certs.verify_chain(x5c, _cert(root), certs.current_crl(db))


def test_the_operator_reissues_a_root_without_the_crl_point_same_key_and_name(
    db: Session,
) -> None:
    old_root = _legacy(db)
    old_ds = _legacy(db, root=old_root)
    before = _cert(old_root)
    _, ds = certs.ensure_chain(db)
    done = certs.reissue_root(db, actor=ACTOR)
    assert done.changed and done.kid == old_root.kid
    root = certs.root_certificate(db)
    assert done.sha256 == certs.sha256_fingerprint(root) != certs.sha256_fingerprint(before)
    assert certs.crl_urls(root) == [certs.crl_url()]
    assert root.subject == before.subject and root.public_key() == before.public_key()
    assert root.not_valid_after_utc == before.not_valid_after_utc  # no longer life
    for kept in (x509.BasicConstraints, x509.KeyUsage, x509.SubjectKeyIdentifier):
        assert root.extensions.get_extension_for_class(kept) == (
            before.extensions.get_extension_for_class(kept)
        )
    # Everything signed under the old certificate chains to the new one, CRL included.
    for issuing in (old_ds, ds):
        certs.verify_chain([certs.b64der(_cert(issuing))], root, certs.current_crl(db))
    assert certs.current_crl(db).is_signature_valid(root.public_key())  # type: ignore[arg-type]
    # Current already: nothing changes.
    again = certs.reissue_root(db, actor=ACTOR)
    assert not again.changed and again.serial == done.serial
    assert (
        db.execute(
            select(AuditEvent).where(
                AuditEvent.action == "wallet.root_certificate_reissued",
                AuditEvent.subject_id == old_root.kid,
            )
        )
        .scalar_one()
        .details["sha256"]
        == done.sha256
    )


# -- HTTP ---------------------------------------------------------------------------------------


def test_the_crl_is_served_der_cacheable_with_its_number_as_etag(api: Any) -> None:
    answer = api.get(CRL_URL_PATH)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pkix-crl"
    assert answer.headers["cache-control"] == "public, max-age=600"
    crl = x509.load_der_x509_crl(answer.content)
    number = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    assert answer.headers["etag"] == f'"{number}"'
    root = x509.load_pem_x509_certificate(api.get("/api/v1/wallet/issuer/root.pem").content)
    assert crl.is_signature_valid(root.public_key())  # type: ignore[arg-type]
    unchanged = api.get(CRL_URL_PATH, headers={"If-None-Match": f'"{number}"'})
    assert unchanged.status_code == 304 and unchanged.content == b""
    # The URL the certificates name is this endpoint.
    with unit_of_work() as session:
        ds = certs.signer(session).certificate
    assert certs.crl_urls(ds)[0].endswith(CRL_URL_PATH)


# -- the command line ------------------------------------------------------------------------


def test_the_operator_lists_and_revokes_from_the_command_line(committed: Engine) -> None:
    runner = CliRunner()
    listed = runner.invoke(app, ["keys", "issuing"])
    assert listed.exit_code == 0, listed.output
    [current] = json.loads(listed.output)
    assert current["state"] == "signing"
    assert current["crl_distribution_points"] == [certs.crl_url()]
    # A kid is base64url and may start with '-': after `--`, as the help says.
    args = ["keys", "revoke-issuing", "--reason", "keyCompromise", "--", current["kid"]]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    done = json.loads(first.output)
    assert done["changed"] and done["successor"] and done["crl_url"] == certs.crl_url()
    second = runner.invoke(app, args)
    assert second.exit_code == 0, second.output
    assert not json.loads(second.output)["changed"]
    assert json.loads(second.output)["crl_number"] == done["crl_number"]
    states = {
        c["kid"]: c["state"] for c in json.loads(runner.invoke(app, ["keys", "issuing"]).output)
    }
    assert states == {current["kid"]: "revoked", done["successor"]: "signing"}
    bad = runner.invoke(app, ["keys", "revoke-issuing", "--reason", "nope", "--", current["kid"]])
    assert bad.exit_code != 0
    # A root made today is current: reissuing changes nothing, and asks for --confirm.
    assert runner.invoke(app, ["keys", "reissue-root"]).exit_code != 0
    root = runner.invoke(app, ["keys", "reissue-root", "--confirm"])
    assert root.exit_code == 0, root.output
    assert json.loads(root.output)["changed"] is False


# -- an independent judge: openssl ----------------------------------------------------------


def _openssl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["openssl", *args], capture_output=True, text=True, timeout=30, check=False
    )


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_openssl_refuses_the_revoked_issuing_certificate_and_accepts_its_successor(
    db: Session, tmp_path: Path
) -> None:
    root_row, old = certs.ensure_chain(db)
    done = _revoke(db, old)
    new = db.get(IssuerCertificate, done.successor)
    assert new is not None

    def pem(name: str, data: bytes) -> str:
        path = tmp_path / name
        path.write_bytes(data)
        return str(path)

    root_pem = pem("root.pem", _cert(root_row).public_bytes(serialization.Encoding.PEM))
    crl_pem = pem("crl.pem", certs.current_crl(db).public_bytes(serialization.Encoding.PEM))
    old_pem = pem("old.pem", _cert(old).public_bytes(serialization.Encoding.PEM))
    new_pem = pem("new.pem", _cert(new).public_bytes(serialization.Encoding.PEM))

    for check in ("-crl_check", "-crl_check_all"):
        refused = _openssl("verify", check, "-CAfile", root_pem, "-CRLfile", crl_pem, old_pem)
        assert refused.returncode != 0
        assert "certificate revoked" in refused.stdout + refused.stderr
        accepted = _openssl("verify", check, "-CAfile", root_pem, "-CRLfile", crl_pem, new_pem)
        assert accepted.returncode == 0, accepted.stdout + accepted.stderr
        assert accepted.stdout.strip().endswith("OK")
    # Without the CRL openssl knows nothing of the revocation: the CRL is what tells.
    assert _openssl("verify", "-CAfile", root_pem, old_pem).returncode == 0

    # Its parser shows the distribution point in both certificates, and the CRL's fields.
    for path in (root_pem, new_pem):
        text = _openssl("x509", "-in", path, "-noout", "-text").stdout
        assert "X509v3 CRL Distribution Points" in text
        assert f"URI:{certs.crl_url()}" in text
        assert "X509v3 Issuer Alternative Name" in text
        assert f"URI:{get_settings().issuer}" in text
    crl_text = _openssl("crl", "-in", crl_pem, "-noout", "-text").stdout
    assert "Version 2" in crl_text and "X509v3 CRL Number" in crl_text
    assert "X509v3 Authority Key Identifier" in crl_text and "Next Update" in crl_text
    assert f"Serial Number: {old.serial.upper()}" in crl_text
    assert "Key Compromise" in crl_text


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_openssl_chains_an_old_issuing_certificate_to_the_reissued_root(
    db: Session, tmp_path: Path
) -> None:
    old_root = _legacy(db)
    old_ds = _legacy(db, root=old_root)
    certs.reissue_root(db, actor=ACTOR)
    root = tmp_path / "root.pem"
    root.write_bytes(certs.root_pem(db).encode())
    ds = tmp_path / "ds.pem"
    ds.write_bytes(_cert(old_ds).public_bytes(serialization.Encoding.PEM))
    crl = tmp_path / "crl.pem"

    def verify() -> subprocess.CompletedProcess[str]:
        crl.write_bytes(certs.current_crl(db).public_bytes(serialization.Encoding.PEM))
        return _openssl("verify", "-crl_check", "-CAfile", str(root), "-CRLfile", str(crl), str(ds))

    assert verify().returncode == 0
    _revoke(db, old_ds, "superseded")
    refused = verify()
    assert refused.returncode != 0 and "certificate revoked" in refused.stdout + refused.stderr


def test_cards_of_a_revoked_issuing_certificate_read_invalid_and_their_holders_are_told(
    db: Session,
) -> None:
    from eid.notify.models import Notification
    from eid.wallet import service, status

    signed_before, holder = _sd_jwt_card(db)
    signing = db.get(IssuerCertificate, certs.signer(db).kid)
    assert signing is not None
    slot = db.execute(
        select(IssuedCredential.status_list, IssuedCredential.status_index).where(
            IssuedCredential.account_id == holder.account_id
        )
    ).one()
    assert status.statuses(db, slot.status_list)[slot.status_index] == status.VALID

    done = service.revoke_issuing_certificate(db, signing.kid, "keyCompromise", actor=ACTOR)
    assert done.live_cards == 1
    # A verifier that reads only the status list refuses the card as well; the holder's app
    # reads "revoked" and offers to add the card again.
    assert status.statuses(db, slot.status_list)[slot.status_index] == status.INVALID
    told = db.execute(
        select(Notification.channel, Notification.template).where(
            Notification.recipient_id == holder.account_id,
            Notification.template == "card_reissue_needed",
        )
    ).all()
    assert sorted(c for c, _ in told) == ["app", "email", "sms"]
    # Again: nothing new, neither on the CRL nor in anyone's inbox.
    again = service.revoke_issuing_certificate(db, signing.kid, "keyCompromise", actor=ACTOR)
    assert not again.changed
    assert (
        len(
            db.execute(
                select(Notification.id).where(
                    Notification.recipient_id == holder.account_id,
                    Notification.template == "card_reissue_needed",
                )
            ).all()
        )
        == 3
    )
    # The card issued again, under the successor, is valid.
    fresh = issue_residence_card(db, holder.account_id)
    assert fresh.credential != signed_before
    new_slot = db.execute(
        select(IssuedCredential.status_list, IssuedCredential.status_index).where(
            IssuedCredential.account_id == holder.account_id,
            IssuedCredential.signer_kid != signing.kid,
        )
    ).one()
    assert status.statuses(db, new_slot.status_list)[new_slot.status_index] == status.VALID
