"""The eid issuing certificate chain: the eid Root CA, the issuing certificates it signs, and
its certificate revocation list.

Profile: ISO/IEC 18013-5 Annex B (IACA root, Document Signer), which HAIP's `x5c` for SD-JWT VC
fits as well:

- root ("eid Root CA"): P-256, self-signed, `ROOT_VALIDITY`, basicConstraints CA pathlen 0,
  keyUsage keyCertSign + cRLSign, issuerAltName the issuer URL, cRLDistributionPoints the CRL
  URL. Its certificate is what a verifier pins (`GET /api/v1/wallet/issuer/root.pem`, and
  `root_certificates` in the jwt-vc-issuer metadata). Its key signs only issuing certificates
  and the CRL.
- issuing certificate (role `ds`): P-256 / ES256, `DS_VALIDITY` (Annex B: at most 457 days),
  keyUsage digitalSignature only, extendedKeyUsage mdoc DS (1.0.18013.5.1.2), not a CA; subject
  alternative name the issuer URL (an SD-JWT VC's `iss`), issuerAltName the issuer URL,
  cRLDistributionPoints the CRL URL (one URI, no reasons, no cRLIssuer: Annex B). It signs
  SD-JWT VCs (leaf of `x5c`), mdoc MSOs (`x5chain`) and status lists.
- CRL: X.509 v2, signed by the root, `CRL_VALIDITY` to nextUpdate, CRL number and authority key
  identifier, one entry per revoked issuing certificate (with its reason code unless
  unspecified). Served DER at `GET /api/v1/wallet/issuer/root.crl` (`CRL_PATH`); re-signed on
  read when the revoked set or the root changed or less than `CRL_REFRESH` is left.

Made on first use, under an advisory lock and a one-current-per-role index (two processes
starting at once make one chain). Rotation: the current issuing certificate stops signing once
less than `MAX_CREDENTIAL_VALIDITY` of it remains (a successor is made then, under the lock), so
no credential outlives the certificate that signed it; retired certificates stay published
(`published_issuing_certificates`) until they expire. An issuing certificate without the CRL
URL in force (made before revocation existed, or the issuer moved) is replaced the same way. The
root is never replaced by itself: a verifier pins it (docs/identity.md says how an operator
reissues one). Revocation (`revoke_issuing_certificate`, `eid keys revoke-issuing`): the
certificate goes on the CRL, leaves the published keys, and when it was signing a successor is
made at once. Each certificate has a random 159-bit serial and a `kid` (RFC 7638 thumbprint of
its key). Private keys are sealed (`eid.core.crypto.seal`) with the kid in the AAD, registered
for `eid keys reseal` in wallet/sealing.py.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID, ObjectIdentifier
from joserfc.jwk import ECKey
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from eid.core import audit, clock
from eid.core.audit import Actor
from eid.core.crypto import seal, unseal
from eid.core.errors import NotFound, ValidationFailed
from eid.core.settings import get_settings
from eid.wallet.models import IssuedCredential, IssuerCertificate, IssuerCrl

ROOT, DS = "root", "ds"
ALG = "ES256"
ROOT_VALIDITY = dt.timedelta(days=365 * 15)
DS_VALIDITY = dt.timedelta(days=457)
# The longest a credential lives (service.MAX_VALIDITY): an issuing certificate signs only while
# at least this much of it remains.
MAX_CREDENTIAL_VALIDITY = dt.timedelta(days=366)
MDOC_DS_EKU = ObjectIdentifier("1.0.18013.5.1.2")
_CHAIN_LOCK = 0x0E1D_0014  # pg_advisory_xact_lock id: making or rotating the chain, the CRL
CRL_PATH = "/api/v1/wallet/issuer/root.crl"
CRL_VALIDITY = dt.timedelta(days=7)  # thisUpdate to nextUpdate
CRL_REFRESH = dt.timedelta(days=2)  # re-signed on read once less than this is left
# RFC 5280 §5.3.1 reasons for revoking an issuing certificate (no certificateHold: eid does not
# suspend a certificate; caCompromise and aACompromise are not an end-entity's).
REVOCATION_REASONS: dict[str, x509.ReasonFlags] = {
    "unspecified": x509.ReasonFlags.unspecified,
    "keyCompromise": x509.ReasonFlags.key_compromise,
    "affiliationChanged": x509.ReasonFlags.affiliation_changed,
    "superseded": x509.ReasonFlags.superseded,
    "cessationOfOperation": x509.ReasonFlags.cessation_of_operation,
    "privilegeWithdrawn": x509.ReasonFlags.privilege_withdrawn,
}

_private_cache: dict[str, ec.EllipticCurvePrivateKey] = {}


@dataclass(frozen=True)
class Signer:
    """What signs a credential now: the issuing certificate's key and the chain to send."""

    kid: str
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate
    root: x509.Certificate

    @property
    def x5c(self) -> list[str]:
        """Leaf first, root left out (HAIP: the verifier has it pinned)."""
        return [b64der(self.certificate)]

    def jwk(self) -> ECKey:
        return ECKey.import_key(self.key)


def key_usage(*, sign_data: bool, sign_certificates: bool) -> x509.KeyUsage:
    """A signing key's only uses: data (an issuing or verifier certificate) or certificates and
    CRLs (a CA); never encryption or key agreement."""
    return x509.KeyUsage(
        digital_signature=sign_data,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=sign_certificates,
        crl_sign=sign_certificates,
        encipher_only=False,
        decipher_only=False,
    )


def b64der(cert: x509.Certificate) -> str:
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


def _aad(kid: str) -> bytes:
    return f"wallet-issuer-cert:{kid}".encode()


def _kid(public: ec.EllipticCurvePublicKey) -> str:
    return str(ECKey.import_key(public).thumbprint())


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "eid"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _serial() -> int:
    return secrets.randbits(159) | (1 << 158)  # positive, 20 bytes at most, never short


def crl_url() -> str:
    """Where the root's CRL is published: an absolute URL under the issuer URL."""
    return get_settings().issuer.rstrip("/") + CRL_PATH


def _crl_distribution_points() -> x509.CRLDistributionPoints:
    """Annex B: one distribution point, its full name a URI; no reasons, no cRLIssuer."""
    return x509.CRLDistributionPoints(
        [
            x509.DistributionPoint(
                full_name=[x509.UniformResourceIdentifier(crl_url())],
                relative_name=None,
                reasons=None,
                crl_issuer=None,
            )
        ]
    )


def crl_urls(cert: x509.Certificate) -> list[str]:
    """The URIs of a certificate's cRLDistributionPoints (none without the extension)."""
    try:
        points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    except x509.ExtensionNotFound:
        return []
    return [
        str(name.value)
        for point in points
        for name in point.full_name or []
        if isinstance(name, x509.UniformResourceIdentifier)
    ]


def _store(
    session: Session,
    role: str,
    cert: x509.Certificate,
    key: ec.EllipticCurvePrivateKey,
) -> IssuerCertificate:
    kid = _kid(key.public_key())
    pkcs8 = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    row = IssuerCertificate(
        kid=kid,
        role=role,
        serial=format(cert.serial_number, "x"),
        cert_der=cert.public_bytes(serialization.Encoding.DER),
        private_key=seal(pkcs8, aad=_aad(kid)),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
    )
    session.add(row)
    session.flush()
    _private_cache[kid] = key
    return row


def _make_root(session: Session) -> IssuerCertificate:
    key = ec.generate_private_key(ec.SECP256R1())
    now = clock.now()
    name = _name("eid Root CA")
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(_serial())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + ROOT_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            key_usage(sign_data=False, sign_certificates=True),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .add_extension(
            x509.IssuerAlternativeName([x509.UniformResourceIdentifier(get_settings().issuer)]),
            critical=False,
        )
        .add_extension(_crl_distribution_points(), critical=False)
        .sign(key, hashes.SHA256())
    )
    return _store(session, ROOT, cert, key)


def _make_ds(session: Session, root: IssuerCertificate) -> IssuerCertificate:
    root_cert = x509.load_der_x509_certificate(root.cert_der)
    root_key = _private(root)
    key = ec.generate_private_key(ec.SECP256R1())
    now = clock.now()
    not_after = min(now + DS_VALIDITY, root.not_after)
    issuer_url = get_settings().issuer
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("eid Document Signer"))
        .issuer_name(root_cert.subject)
        .public_key(key.public_key())
        .serial_number(_serial())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            key_usage(sign_data=True, sign_certificates=False),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([MDOC_DS_EKU]), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()),
            critical=False,
        )
        .add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(issuer_url)]),
            critical=False,
        )
        .add_extension(
            x509.IssuerAlternativeName([x509.UniformResourceIdentifier(issuer_url)]),
            critical=False,
        )
        .add_extension(_crl_distribution_points(), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    return _store(session, DS, cert, key)


def _private(row: IssuerCertificate) -> ec.EllipticCurvePrivateKey:
    cached = _private_cache.get(row.kid)
    if cached is None:
        loaded = serialization.load_der_private_key(
            unseal(row.private_key, aad=_aad(row.kid)), password=None
        )
        if not isinstance(loaded, ec.EllipticCurvePrivateKey):
            raise TypeError("issuer key is not an EC key")
        cached = loaded
        _private_cache[row.kid] = cached
    return cached


def _current(session: Session, role: str) -> IssuerCertificate | None:
    return session.execute(
        select(IssuerCertificate).where(
            IssuerCertificate.role == role, IssuerCertificate.retired_at.is_(None)
        )
    ).scalar_one_or_none()


def leaf(x5c: list[str]) -> x509.Certificate:
    """The first certificate of an `x5c` (already checked by `verify_chain`)."""
    return x509.load_der_x509_certificate(base64.b64decode(x5c[0]))


def issuer_uris(cert: x509.Certificate) -> list[str]:
    """The URIs in a certificate's subject alternative name (an SD-JWT VC's `iss` is one)."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [str(uri) for uri in san.get_values_for_type(x509.UniformResourceIdentifier)]


def _usable_ds(row: IssuerCertificate | None, now: dt.datetime) -> bool:
    """Signs while a credential's life still fits in it, not revoked, and names the issuer URL
    and the CRL URL in force (a move to another URL, or a certificate made before the CRL
    existed, makes a new issuing certificate)."""
    if row is None or row.revoked_at is not None:
        return False
    if row.not_after - now < MAX_CREDENTIAL_VALIDITY:
        return False
    cert = x509.load_der_x509_certificate(row.cert_der)
    return issuer_uris(cert) == [get_settings().issuer] and crl_urls(cert) == [crl_url()]


def ensure_chain(session: Session) -> tuple[IssuerCertificate, IssuerCertificate]:
    """The root and the issuing certificate that signs now; made (or the issuing one rotated)
    under the advisory lock when missing or too close to its end."""
    now = clock.now()
    root, ds = _current(session, ROOT), _current(session, DS)
    if root is not None and _usable_ds(ds, now):
        assert ds is not None
        return root, ds
    session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _CHAIN_LOCK})
    root, ds = _current(session, ROOT), _current(session, DS)
    if root is None:
        root = _make_root(session)
    if not _usable_ds(ds, now):
        if ds is not None:
            ds.retired_at = now
            session.flush()  # the one-current index: the old row first
        ds = _make_ds(session, root)
    assert ds is not None
    return root, ds


def rotate_issuing_certificate(session: Session) -> IssuerCertificate:
    """A new issuing certificate signs from now on; the old one stays published until it
    expires (credentials it signed still verify)."""
    session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _CHAIN_LOCK})
    root, _ = ensure_chain(session)
    old = _current(session, DS)
    if old is not None:
        old.retired_at = clock.now()
        session.flush()
    return _make_ds(session, root)


@dataclass(frozen=True)
class Revocation:
    kid: str
    serial: str
    reason: str
    revoked_at: dt.datetime
    changed: bool  # False: already revoked for this reason (the command ran before)
    successor: str | None  # the kid of the issuing certificate made at once, if it was signing
    live_cards: int  # unexpired, unrevoked cards it signed: every verifier now refuses them
    crl_number: int


def _find_ds(session: Session, which: str) -> IssuerCertificate | None:
    """An issuing certificate by kid or by serial (hex, as `eid keys issuing` lists it)."""
    key = which.strip().lower().removeprefix("0x")
    return session.execute(
        select(IssuerCertificate).where(
            IssuerCertificate.role == DS,
            (IssuerCertificate.kid == which.strip()) | (IssuerCertificate.serial == key),
        )
    ).scalar_one_or_none()


def live_cards_signed_by(session: Session, kid: str) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(IssuedCredential)
            .where(
                IssuedCredential.signer_kid == kid,
                IssuedCredential.expires_at > clock.now(),
                IssuedCredential.revoked_status == 0,
            )
        )
        or 0
    )


def revoke_issuing_certificate(
    session: Session, which: str, reason: str, *, actor: Actor
) -> Revocation:
    """Put an issuing certificate (by kid or serial) on the root's CRL for an RFC 5280 reason:
    it leaves the published keys, the CRL is re-signed, and when it was the one signing a new
    issuing certificate is made at once. Idempotent: the same certificate and reason again
    change nothing; another reason (e.g. superseded found to be keyCompromise) replaces it.
    Audited `wallet.issuing_certificate_revoked`."""
    if reason not in REVOCATION_REASONS:
        raise ValidationFailed(
            "unknown revocation reason %(reason)s",
            code="REVOCATION_REASON_UNKNOWN",
            params={"reason": reason},
            details={"reasons": list(REVOCATION_REASONS)},
        )
    session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _CHAIN_LOCK})
    row = _find_ds(session, which)
    if row is None:
        raise NotFound("no such issuing certificate", code="CERTIFICATE_NOT_FOUND")
    now = clock.now()
    if row.revoked_at is not None and row.revocation_reason == reason:
        return Revocation(
            kid=row.kid,
            serial=row.serial,
            reason=reason,
            revoked_at=row.revoked_at,
            changed=False,
            successor=None,
            live_cards=live_cards_signed_by(session, row.kid),
            crl_number=current_crl_number(session),
        )
    was_signing = row.retired_at is None
    row.revoked_at = row.revoked_at or now
    row.revocation_reason = reason
    if was_signing:
        row.retired_at = now
    session.flush()  # the one-current index: the old row first
    root = _current(session, ROOT)
    assert root is not None  # an issuing certificate exists, so its root does
    successor = _make_ds(session, root) if was_signing else None
    crl = _sign_crl(session, root, now)
    cards = live_cards_signed_by(session, row.kid)
    audit.record(
        session,
        actor,
        "wallet.issuing_certificate_revoked",
        "issuer_certificate",
        row.kid,
        reason=reason,
        details={
            "serial": row.serial,
            "successor": successor.kid if successor else None,
            "crl_number": crl.number,
            "live_cards": cards,
        },
    )
    return Revocation(
        kid=row.kid,
        serial=row.serial,
        reason=reason,
        revoked_at=row.revoked_at,
        changed=True,
        successor=successor.kid if successor else None,
        live_cards=cards,
        crl_number=crl.number,
    )


@dataclass(frozen=True)
class RootReissue:
    kid: str
    serial: str
    changed: bool  # False: the root already carries the CRL URL in force
    sha256: str  # fingerprint of the root certificate now served


def reissue_root(session: Session, *, actor: Actor) -> RootReissue:
    """A new certificate for the same root key and name, with the Annex B extensions of today
    (cRLDistributionPoints the CRL URL in force, issuerAltName the issuer URL), valid no longer
    than the one it replaces. Every issuing certificate and card chains to it unchanged (same
    name, same key, same key identifier); a verifier that pinned the root's key and name keeps
    working, one that pinned the old certificate's bytes or fingerprint fetches root.pem again.
    Never done by itself (a verifier pinned the root): the operator's `eid keys reissue-root`.
    Audited `wallet.root_certificate_reissued`."""
    session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _CHAIN_LOCK})
    root, _ = ensure_chain(session)
    old = x509.load_der_x509_certificate(root.cert_der)
    if crl_urls(old) == [crl_url()] and issuer_alt_uris(old) == [get_settings().issuer]:
        return RootReissue(root.kid, root.serial, False, sha256_fingerprint(old))
    key = _private(root)
    builder = (
        x509.CertificateBuilder()
        .subject_name(old.subject)
        .issuer_name(old.subject)
        .public_key(key.public_key())
        .serial_number(_serial())
        .not_valid_before(clock.now() - dt.timedelta(minutes=5))
        .not_valid_after(old.not_valid_after_utc)
    )
    kept = (x509.BasicConstraints, x509.KeyUsage, x509.SubjectKeyIdentifier)
    for extension in old.extensions:
        if isinstance(extension.value, kept):
            builder = builder.add_extension(extension.value, critical=extension.critical)
    cert = (
        builder.add_extension(
            x509.IssuerAlternativeName([x509.UniformResourceIdentifier(get_settings().issuer)]),
            critical=False,
        )
        .add_extension(_crl_distribution_points(), critical=False)
        .sign(key, hashes.SHA256())
    )
    previous = root.serial
    root.cert_der = cert.public_bytes(serialization.Encoding.DER)
    root.serial = format(cert.serial_number, "x")
    root.not_before = cert.not_valid_before_utc
    root.not_after = cert.not_valid_after_utc
    session.flush()
    audit.record(
        session,
        actor,
        "wallet.root_certificate_reissued",
        "issuer_certificate",
        root.kid,
        details={
            "previous_serial": previous,
            "serial": root.serial,
            "previous_sha256": sha256_fingerprint(old),
            "sha256": sha256_fingerprint(cert),
        },
    )
    return RootReissue(root.kid, root.serial, True, sha256_fingerprint(cert))


def issuer_alt_uris(cert: x509.Certificate) -> list[str]:
    try:
        ian = cert.extensions.get_extension_for_class(x509.IssuerAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [str(uri) for uri in ian.get_values_for_type(x509.UniformResourceIdentifier)]


def issuing_certificates(session: Session) -> list[dict[str, Any]]:
    """Every issuing certificate, newest first, for the operator (`eid keys issuing`)."""
    rows = session.execute(
        select(IssuerCertificate)
        .where(IssuerCertificate.role == DS)
        .order_by(IssuerCertificate.not_before.desc())
    ).scalars()
    now = clock.now()
    return [
        {
            "kid": row.kid,
            "serial": row.serial,
            "not_before": row.not_before.isoformat(),
            "not_after": row.not_after.isoformat(),
            "state": (
                "revoked"
                if row.revoked_at is not None
                else "expired"
                if row.not_after <= now
                else "signing"
                if row.retired_at is None
                else "retired"
            ),
            "revocation_reason": row.revocation_reason,
            "crl_distribution_points": crl_urls(x509.load_der_x509_certificate(row.cert_der)),
        }
        for row in rows
    ]


def _latest_crl(session: Session) -> IssuerCrl | None:
    return session.execute(
        select(IssuerCrl).order_by(IssuerCrl.number.desc()).limit(1)
    ).scalar_one_or_none()


def current_crl_number(session: Session) -> int:
    latest = _latest_crl(session)
    return latest.number if latest is not None else 0


def _revoked_entries(session: Session) -> dict[int, tuple[dt.datetime, str]]:
    """serial -> (revocation date, reason) of every revoked issuing certificate. They stay on
    the CRL after they expire too: a handful a decade, and no verifier is left guessing."""
    rows = session.execute(
        select(IssuerCertificate).where(
            IssuerCertificate.role == DS, IssuerCertificate.revoked_at.is_not(None)
        )
    ).scalars()
    found: dict[int, tuple[dt.datetime, str]] = {}
    for row in rows:
        assert row.revoked_at is not None and row.revocation_reason is not None
        found[int(row.serial, 16)] = (row.revoked_at, row.revocation_reason)
    return found


def _reason_name(entry: x509.RevokedCertificate) -> str:
    try:
        flag = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
    except x509.ExtensionNotFound:
        return "unspecified"
    return next((k for k, v in REVOCATION_REASONS.items() if v == flag), flag.name)


def _crl_holds(crl: x509.CertificateRevocationList, wanted: dict[int, tuple[Any, str]]) -> bool:
    listed = {entry.serial_number: _reason_name(entry) for entry in crl}
    return listed == {serial: reason for serial, (_, reason) in wanted.items()}


def _sign_crl(session: Session, root: IssuerCertificate, now: dt.datetime) -> IssuerCrl:
    """A new CRL (number = the last + 1) over every revoked issuing certificate; under the
    chain lock."""
    root_cert = x509.load_der_x509_certificate(root.cert_der)
    root_key = _private(root)
    number = current_crl_number(session) + 1
    try:
        ski = root_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
    except x509.ExtensionNotFound:
        aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key())
    this_update = now.replace(microsecond=0)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(root_cert.subject)
        .last_update(this_update)
        .next_update(this_update + CRL_VALIDITY)
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(aki, critical=False)
    )
    for serial, (revoked_at, reason) in sorted(_revoked_entries(session).items()):
        entry = (
            x509.RevokedCertificateBuilder()
            .serial_number(serial)
            .revocation_date(revoked_at.replace(microsecond=0))
        )
        if reason != "unspecified":  # RFC 5280 §5.3.1: absent rather than unspecified
            entry = entry.add_extension(x509.CRLReason(REVOCATION_REASONS[reason]), critical=False)
        builder = builder.add_revoked_certificate(entry.build())
    crl = builder.sign(root_key, hashes.SHA256())
    row = IssuerCrl(
        number=number,
        root_kid=root.kid,
        crl_der=crl.public_bytes(serialization.Encoding.DER),
        this_update=this_update,
        next_update=this_update + CRL_VALIDITY,
    )
    session.add(row)
    session.flush()
    return row


def _crl_fresh(row: IssuerCrl | None, root: IssuerCertificate, session: Session) -> bool:
    if row is None or row.root_kid != root.kid:
        return False
    if row.next_update - clock.now() < CRL_REFRESH:
        return False
    crl = x509.load_der_x509_crl(row.crl_der)
    return _crl_holds(crl, _revoked_entries(session))


def current_crl_row(session: Session) -> IssuerCrl:
    """The newest CRL, re-signed first (under the lock) if the revoked set or the root changed
    or its nextUpdate is near."""
    root, _ = ensure_chain(session)
    row = _latest_crl(session)
    if _crl_fresh(row, root, session):
        assert row is not None
        return row
    session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _CHAIN_LOCK})
    row = _latest_crl(session)
    if _crl_fresh(row, root, session):
        assert row is not None
        return row
    return _sign_crl(session, root, clock.now())


def current_crl(session: Session) -> x509.CertificateRevocationList:
    return x509.load_der_x509_crl(current_crl_row(session).crl_der)


def signer(session: Session) -> Signer:
    root, ds = ensure_chain(session)
    return Signer(
        kid=ds.kid,
        key=_private(ds),
        certificate=x509.load_der_x509_certificate(ds.cert_der),
        root=x509.load_der_x509_certificate(root.cert_der),
    )


def root_certificate(session: Session) -> x509.Certificate:
    root, _ = ensure_chain(session)
    return x509.load_der_x509_certificate(root.cert_der)


def root_pem(session: Session) -> str:
    return root_certificate(session).public_bytes(serialization.Encoding.PEM).decode()


def published_issuing_certificates(session: Session) -> list[x509.Certificate]:
    """Every issuing certificate not yet expired nor revoked, newest first: what a credential
    still valid may have been signed by."""
    ensure_chain(session)
    rows = session.execute(
        select(IssuerCertificate)
        .where(
            IssuerCertificate.role == DS,
            IssuerCertificate.not_after > clock.now(),
            IssuerCertificate.revoked_at.is_(None),
        )
        .order_by(
            IssuerCertificate.retired_at.desc().nulls_first(),
            IssuerCertificate.not_before.desc(),
        )
    ).scalars()
    return [x509.load_der_x509_certificate(row.cert_der) for row in rows]


def public_jwks(session: Session) -> list[dict[str, Any]]:
    """The issuing keys as JWKs carrying their `x5c` (leaf, then the root)."""
    root = root_certificate(session)
    found = []
    for cert in published_issuing_certificates(session):
        public = cert.public_key()
        assert isinstance(public, ec.EllipticCurvePublicKey)
        jwk = ECKey.import_key(public).as_dict(private=False)
        found.append(
            {
                **jwk,
                "kid": _kid(public),
                "alg": ALG,
                "use": "sig",
                "x5c": [b64der(cert), b64der(root)],
            }
        )
    return found


def sha256_fingerprint(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


class ChainRefused(ValueError):
    """The `x5c` does not lead to the pinned root (or the leaf is no issuing certificate)."""


class CertificateRevoked(ChainRefused):
    """A certificate of the chain is on the root's CRL."""

    def __init__(self, serial: int, reason: str) -> None:
        super().__init__(f"certificate {serial:x} is revoked ({reason})")
        self.serial = serial
        self.reason = reason


def _check_crl(
    certs: list[x509.Certificate], root: x509.Certificate, crl: x509.CertificateRevocationList
) -> None:
    """RFC 5280 §6.3, for a CRL the verifier holds: issued by the pinned root, its signature
    good, current; then no certificate of the chain on it."""
    if crl.issuer != root.subject or not crl.is_signature_valid(root.public_key()):  # type: ignore[arg-type]
        raise ChainRefused("the CRL is not the root's")
    next_update = crl.next_update_utc
    if next_update is None or next_update < clock.now():
        raise ChainRefused("the CRL is out of date")
    for cert in certs:
        entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
        if entry is not None:
            raise CertificateRevoked(cert.serial_number, _reason_name(entry))


def verify_chain(
    x5c: list[str],
    root: x509.Certificate,
    crl: x509.CertificateRevocationList | None = None,
) -> ec.EllipticCurvePublicKey:
    """Check an `x5c` (leaf first; the root may be included or not) against the pinned root:
    each certificate signed by the next, the last by the root, all within validity now, the leaf
    a digitalSignature end-entity certificate, and (given the root's `crl`) none of them revoked
    (`CertificateRevoked`). Returns the leaf's public key."""
    if not x5c or not all(isinstance(c, str) for c in x5c) or len(x5c) > 3:
        raise ChainRefused("x5c is missing or malformed")
    try:
        certs = [x509.load_der_x509_certificate(base64.b64decode(c)) for c in x5c]
    except (ValueError, x509.InvalidVersion):  # InvalidVersion is no ValueError
        raise ChainRefused("x5c holds something that is not a certificate") from None
    root_der = root.public_bytes(serialization.Encoding.DER)
    if certs[-1].public_bytes(serialization.Encoding.DER) == root_der:
        certs = certs[:-1]
    if not certs:
        raise ChainRefused("x5c holds only the root")
    now = clock.now()
    for child, parent in zip(certs, [*certs[1:], root], strict=True):
        if not (child.not_valid_before_utc <= now <= child.not_valid_after_utc):
            raise ChainRefused("a certificate of the chain is not valid now")
        try:
            child.verify_directly_issued_by(parent)
        except (InvalidSignature, ValueError, TypeError) as exc:
            raise ChainRefused(f"the chain does not verify: {type(exc).__name__}") from None
    if crl is not None:
        _check_crl(certs, root, crl)
    leaf = certs[0]
    usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    if not usage.digital_signature:
        raise ChainRefused("the leaf certificate may not sign")
    public = leaf.public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey):
        raise ChainRefused("the leaf key is not an EC key")
    return public
