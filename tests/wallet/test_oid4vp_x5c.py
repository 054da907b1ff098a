"""The verifier takes either card eid issues: the ES256 SD-JWT VC with an `x5c` chain to eid's
Root CA (the default since issue 12), and the EdDSA cards issued before (issuer JWKS `kid`,
`vct` the URN); a card chained to another root is refused."""

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
from eid.wallet import keys, oid4vp, sdjwt
from eid.wallet.service import LEGACY_VCT, issue_residence_card
from eid.wallet.verifier import PresentationRefused
from tests.identity.factories import make_holder

AUD, NONCE = "x509_hash:test", "n-x5c"


def _card(db: Session) -> tuple[str, Any]:
    holder = make_holder(db, key=ECKey.generate_key("P-256"))
    return issue_residence_card(db, holder.account_id).credential, holder


def _resigned(credential: str, header: dict[str, Any], key: Any, alg: str, **changes: Any) -> str:
    issuer_jwt, disclosures, _ = sdjwt.split(credential)
    payload = {**json.loads(sdjwt.b64url_decode(issuer_jwt.split(".")[1])), **changes}
    return sdjwt.compact(sdjwt.sign_jwt(header, payload, key, [alg]), disclosures)


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


def test_the_default_card_x5c_chained_to_eid_root_is_accepted(db: Session) -> None:
    credential, holder = _card(db)
    header = json.loads(sdjwt.b64url_decode(credential.split(".")[0]))
    assert header["alg"] == "ES256" and "x5c" in header
    card = _verify(db, _present(credential, holder))
    assert card.disclosed == ["full_name"]


def test_a_card_issued_before_eddsa_is_accepted(db: Session) -> None:
    credential, holder = _card(db)
    header = {"alg": "EdDSA", "typ": "dc+sd-jwt", "kid": keys.issuer_kid()}
    legacy = _resigned(credential, header, keys.issuer_key(), "EdDSA", vct=LEGACY_VCT)
    assert _verify(db, _present(legacy, holder)).claims["full_name"] == "NGUYEN VAN A"


def test_a_card_chained_to_another_root_is_refused(db: Session) -> None:
    credential, holder = _card(db)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "not eid")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    der = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
    header = {"alg": "ES256", "typ": "dc+sd-jwt", "x5c": [der]}
    forged = _resigned(credential, header, ECKey.import_key(pem), "ES256")
    with pytest.raises(PresentationRefused) as refused:
        _verify(db, _present(forged, holder))
    assert refused.value.code == "CHAIN_INVALID"
