"""The verifier takes either card eid issues: today's (EdDSA, issuer `kid`) and the ES256 card
with an `x5c` chain to eid's issuing root (issue 12 item 2). The chain path is checked here with
a root and issuing certificate made for the test (eid's own chain comes with the new format)."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from joserfc.jwk import ECKey
from sqlalchemy.orm import Session

from eid.core import clock
from eid.wallet import oid4vp, sdjwt
from eid.wallet.service import issue_residence_card
from eid.wallet.verifier import PresentationRefused
from tests.identity.factories import make_holder

AUD, NONCE = "x509_hash:test", "n-x5c"


def _cert(
    subject: str, key: ec.EllipticCurvePrivateKey, issuer: tuple[str, Any] | None, ca: bool
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    issuer_name, issuer_key = (
        (x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer[0])]), issuer[1])
        if issuer
        else (name, key)
    )
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(issuer_key, hashes.SHA256())
    )


def _chain(
    root_name: str = "eid root",
) -> tuple[ec.EllipticCurvePrivateKey, list[x509.Certificate]]:
    root_key, leaf_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    root = _cert(root_name, root_key, None, True)
    leaf = _cert("eid issuing", leaf_key, (root_name, root_key), False)
    return leaf_key, [leaf, root]


def _es256_card(db: Session, chain: list[x509.Certificate], key: Any) -> tuple[str, Any]:
    holder = make_holder(db, key=ECKey.generate_key("P-256"))
    issued = issue_residence_card(db, holder.account_id)
    issuer_jwt, disclosures, _ = sdjwt.split(issued.credential)
    payload = json.loads(sdjwt.b64url_decode(issuer_jwt.split(".")[1]))
    header = {
        "alg": "ES256",
        "typ": "dc+sd-jwt",
        "x5c": [
            base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode() for c in chain
        ],
    }
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    signed = sdjwt.sign_jwt(header, payload, ECKey.import_key(pem), ["ES256"])
    return sdjwt.compact(signed, disclosures), holder


def _present(credential: str, holder: Any) -> str:
    return sdjwt.present(
        credential,
        holder.device_key,
        reveal=["full_name"],
        aud=AUD,
        nonce=NONCE,
        iat=int(clock.now().timestamp()),
    )


def _verify(db: Session, presentation: str) -> oid4vp.Presented:
    return oid4vp.verify_sd_jwt(
        db, presentation, audience=AUD, nonce=NONCE, vcts=oid4vp.accepted_vcts()
    )


def test_x5c_card_chained_to_eid_root_is_accepted(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    key, chain = _chain()
    monkeypatch.setattr(oid4vp, "trusted_roots", lambda: [chain[-1]])
    credential, holder = _es256_card(db, chain, key)
    card = _verify(db, _present(credential, holder))
    assert card.disclosed == ["full_name"]
    # The chain may also stop at the issuing certificate, the root known to the verifier.
    credential, holder = _es256_card(db, chain[:1], key)
    assert _verify(db, _present(credential, holder)).claims["full_name"] == "NGUYEN VAN A"


@pytest.mark.parametrize("case", ["no_root", "foreign_root"])
def test_x5c_card_not_chained_to_eid_is_refused(
    db: Session, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    key, chain = _chain()
    roots = [] if case == "no_root" else [_chain("someone else's root")[1][-1]]
    monkeypatch.setattr(oid4vp, "trusted_roots", lambda: roots)
    credential, holder = _es256_card(db, chain, key)
    with pytest.raises(PresentationRefused) as refused:
        _verify(db, _present(credential, holder))
    assert refused.value.code == "ISSUER_UNTRUSTED"


def test_today_s_eddsa_card_is_accepted(db: Session) -> None:
    holder = make_holder(db, key=ECKey.generate_key("P-256"))
    credential = issue_residence_card(db, holder.account_id).credential
    assert _verify(db, _present(credential, holder)).disclosed == ["full_name"]
