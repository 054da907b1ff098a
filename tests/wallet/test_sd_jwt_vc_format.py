"""The card as an SD-JWT VC per draft-ietf-oauth-sd-jwt-vc: `dc+sd-jwt`, ES256 with `x5c`,
`iss` the issuer URL, `vct` an https URL under the issuer serving type metadata (five languages)
whose bytes `vct#integrity` pins, `/.well-known/jwt-vc-issuer`, holder binding to a P-256 (HAIP)
or Ed25519 key, the status reference; and the EdDSA cards issued before still verify."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import httpx
import pytest
from cryptography import x509
from joserfc import jwt
from joserfc.jwk import ECKey, OKPKey, RSAKey
from sqlalchemy.orm import Session

from eid.core import clock
from eid.core.database import unit_of_work
from eid.core.errors import ValidationFailed
from eid.wallet import certs, formats, keys, metadata, sdjwt, status
from eid.wallet.models import IssuedCredential
from eid.wallet.verification import local_status
from eid.wallet.verifier import PresentationRefused, verify_presentation
from tests.identity.factories import make_holder

AUD, NONCE = "bank-counter-3", "n-42"
ES256 = sdjwt.jws_registry(["ES256"])


def _now() -> int:
    return int(clock.now().timestamp())


def _parts(credential: str) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    issuer_jwt, disclosures, kb = sdjwt.split(credential)
    assert kb == ""
    header = json.loads(sdjwt.b64url_decode(issuer_jwt.split(".")[0]))
    payload = json.loads(sdjwt.b64url_decode(issuer_jwt.split(".")[1]))
    return header, payload, disclosures


def _verify(db: Session, presentation: str) -> dict[str, Any]:
    return verify_presentation(
        presentation,
        issuer_key=keys.issuer_key(),
        root=certs.root_certificate(db),
        audience=AUD,
        nonce=NONCE,
        status_lookup=local_status(db),
    ).claims


def test_header_and_payload_follow_the_draft(db: Session) -> None:
    key = ECKey.generate_key("P-256")
    holder = make_holder(db, key=key)
    credential = formats.issue_sd_jwt_vc(db, holder.account_id, key.as_dict(private=False))
    header, payload, disclosures = _parts(credential)
    assert header["typ"] == "dc+sd-jwt" and header["alg"] == "ES256"
    signer = certs.signer(db)
    assert header["kid"] == signer.kid
    assert header["x5c"] == [certs.b64der(signer.certificate)]  # leaf only, root left out
    leaf = certs.verify_chain(header["x5c"], certs.root_certificate(db))
    issuer_jwt = sdjwt.split(credential)[0]
    jwt.decode(issuer_jwt, ECKey.import_key(leaf), algorithms=["ES256"], registry=ES256)
    assert payload["iss"] == metadata.issuer()
    assert payload["vct"] == metadata.issuer() + "/credentials/types/residence-card/v1"
    assert payload["vct#integrity"] == metadata.vct_integrity()
    assert payload["cnf"] == {"jwk": key.as_dict(private=False)}
    reference = payload["status"]["status_list"]
    assert reference["uri"] == status.list_uri(status.CURRENT_LIST)
    assert isinstance(reference["idx"], int)
    assert payload["iat"] == payload["nbf"] and payload["exp"] > payload["iat"]
    # Every claim is selectively disclosable: none in the clear.
    names = {json.loads(sdjwt.b64url_decode(d))[1] for d in disclosures}
    assert names == set(formats.CLAIMS)
    assert not names & set(payload)
    row = db.get(IssuedCredential, _row_id(db, reference["idx"]))
    assert row is not None and row.format == "dc+sd-jwt" and row.holder_jkt == key.thumbprint()


def _row_id(db: Session, index: int) -> Any:
    from sqlalchemy import select

    return db.execute(
        select(IssuedCredential.id).where(IssuedCredential.status_index == index)
    ).scalar_one()


@pytest.mark.parametrize("curve", ["P-256", "Ed25519"])
def test_holder_binding_to_an_es256_or_ed25519_key(db: Session, curve: str) -> None:
    device = ECKey.generate_key("P-256") if curve == "P-256" else OKPKey.generate_key("Ed25519")
    holder = make_holder(db, key=device)
    # The wallet's key may be another than the device's (OpenID4VCI proof key).
    wallet: ECKey | OKPKey = (
        ECKey.generate_key("P-256") if curve == "P-256" else OKPKey.generate_key("Ed25519")
    )
    credential = formats.issue_sd_jwt_vc(db, holder.account_id, wallet.as_dict(private=False))
    presentation = sdjwt.present(
        credential, wallet, reveal=["full_name"], aud=AUD, nonce=NONCE, iat=_now()
    )
    assert _verify(db, presentation)["full_name"] == "NGUYEN VAN A"
    stolen = sdjwt.present(
        credential, device, reveal=["full_name"], aud=AUD, nonce=NONCE, iat=_now()
    )
    with pytest.raises(PresentationRefused):
        _verify(db, stolen)


def test_keys_a_format_cannot_bind_are_refused(db: Session) -> None:
    holder = make_holder(db)
    p256 = ECKey.generate_key("P-256")
    for fmt, jwk in [
        ("dc+sd-jwt", p256.as_dict(private=True)),  # a private key
        ("dc+sd-jwt", RSAKey.generate_key(2048).as_dict(private=False)),
        ("dc+sd-jwt", ECKey.generate_key("P-384").as_dict(private=False)),
        ("mso_mdoc", OKPKey.generate_key("Ed25519").as_dict(private=False)),
    ]:
        with pytest.raises(ValidationFailed) as err:
            formats.issue(db, holder.account_id, jwk, fmt)
        assert err.value.code == "HOLDER_KEY_UNSUPPORTED"
    with pytest.raises(ValidationFailed) as err:
        formats.issue(db, holder.account_id, p256.as_dict(private=False), "jwt_vc_json")
    assert err.value.code == "FORMAT_UNSUPPORTED"


def test_a_card_under_a_foreign_chain_is_refused(db: Session) -> None:
    """Same header shape, signed by a key under another root: the chain check refuses it."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ECKey.generate_key("P-256")
    holder = make_holder(db, key=key)
    credential = formats.issue_sd_jwt_vc(db, holder.account_id, key.as_dict(private=False))
    header, payload, disclosures = _parts(credential)
    forger = ec.generate_private_key(ec.SECP256R1())
    real = certs.signer(db).certificate
    fake = (
        x509.CertificateBuilder()
        .subject_name(real.subject)
        .issuer_name(real.issuer)
        .public_key(forger.public_key())
        .serial_number(real.serial_number)
        .not_valid_before(real.not_valid_before_utc)
        .not_valid_after(real.not_valid_after_utc)
        .add_extension(real.extensions.get_extension_for_class(x509.KeyUsage).value, True)
        .sign(forger, hashes.SHA256())
    )
    header["x5c"] = [certs.b64der(fake)]
    forged_jwt = sdjwt.sign_jwt(header, payload, ECKey.import_key(forger), ["ES256"])
    kb = sdjwt.key_binding_jwt(
        key, issuer_jwt=forged_jwt, disclosures=disclosures[:1], aud=AUD, nonce=NONCE, iat=_now()
    )
    with pytest.raises(PresentationRefused) as err:
        _verify(db, sdjwt.compact(forged_jwt, disclosures[:1], kb))
    assert err.value.code == "CHAIN_INVALID"


def test_an_iss_other_than_the_certificates_is_refused(db: Session) -> None:
    key = ECKey.generate_key("P-256")
    holder = make_holder(db, key=key)
    credential = formats.issue_sd_jwt_vc(db, holder.account_id, key.as_dict(private=False))
    header, payload, disclosures = _parts(credential)
    payload["iss"] = "https://elsewhere.example"
    resigned = sdjwt.sign_jwt(header, payload, certs.signer(db).jwk(), ["ES256"])
    kb = sdjwt.key_binding_jwt(
        key, issuer_jwt=resigned, disclosures=disclosures[:1], aud=AUD, nonce=NONCE, iat=_now()
    )
    with pytest.raises(PresentationRefused) as err:
        _verify(db, sdjwt.compact(resigned, disclosures[:1], kb))
    assert err.value.code == "ISSUER_MISMATCH"


def test_an_eddsa_card_issued_before_still_verifies(db: Session) -> None:
    """The cards in holders' apps from before issue 12: EdDSA, no x5c, URN vct."""
    key = ECKey.generate_key("P-256")
    holder = make_holder(db, key=key)
    from eid.identity.service import bound_device

    device = bound_device(db, holder.account_id)
    assert device is not None
    index = status.allocate_index(db)
    db.add(
        IssuedCredential(
            account_id=holder.account_id,
            device_id=device.id,
            status_list=status.CURRENT_LIST,
            status_index=index,
            expires_at=clock.now() + formats.MAX_VALIDITY,
            format="eddsa+sd-jwt",
        )
    )
    db.flush()
    disclosure = sdjwt.make_disclosure("full_name", "NGUYEN VAN A")
    payload = {
        "iss": metadata.issuer(),
        "vct": "urn:eid:vn:residence_card:1",
        "iat": _now(),
        "exp": _now() + 3600,
        "cnf": {"jwk": device.public_jwk},
        "status": {"status_list": {"idx": index, "uri": status.list_uri(status.CURRENT_LIST)}},
        "_sd_alg": "sha-256",
        "_sd": [sdjwt.digest(disclosure)],
    }
    header = {"alg": "EdDSA", "typ": "dc+sd-jwt", "kid": keys.issuer_kid()}
    old = sdjwt.compact(sdjwt.sign_jwt(header, payload, keys.issuer_key(), ["EdDSA"]), [disclosure])
    presentation = sdjwt.present(old, key, reveal=["full_name"], aud=AUD, nonce=NONCE, iat=_now())
    assert _verify(db, presentation)["full_name"] == "NGUYEN VAN A"


def test_type_metadata_and_issuer_metadata_over_http(live: str) -> None:
    key = ECKey.generate_key("P-256")
    with unit_of_work() as db:
        holder = make_holder(db, key=key)
        credential = formats.issue_sd_jwt_vc(db, holder.account_id, key.as_dict(private=False))
        kid = certs.signer(db).kid
    _, payload, _ = _parts(credential)
    assert payload["iss"] == live
    with httpx.Client(timeout=30) as client:
        served = client.get(payload["vct"])
        assert served.status_code == 200, served.text
        assert served.headers["content-type"].startswith("application/json")
        assert "max-age" in served.headers["cache-control"]
        digest = base64.b64encode(hashlib.sha256(served.content).digest()).decode()
        assert payload["vct#integrity"] == f"sha256-{digest}"
        document = served.json()
        assert document["vct"] == payload["vct"]
        locales = ["vi", "en", "zh", "ko", "ja"]
        assert [d["locale"] for d in document["display"]] == locales
        names = {d["locale"]: d["name"] for d in document["display"]}
        assert names["en"] == "e-Residence Card" and names["vi"] == "Thẻ cư trú điện tử"
        assert len(set(names.values())) == 5
        labelled = {c["path"][0]: c for c in document["claims"]}
        assert set(labelled) == set(formats.CLAIMS)
        for claim in labelled.values():
            assert [d["locale"] for d in claim["display"]] == locales
            assert all(d["label"] for d in claim["display"]) and claim["sd"] == "always"
        assert {d["locale"]: d["label"] for d in labelled["birthdate"]["display"]}["ja"] == (
            "生年月日"
        )
        issuer = client.get(f"{live}/.well-known/jwt-vc-issuer")
        assert issuer.status_code == 200 and issuer.json()["issuer"] == live
        [jwk] = issuer.json()["jwks"]["keys"]
        assert jwk["alg"] == "ES256" and jwk["kid"] == kid
        leaf = x509.load_der_x509_certificate(base64.b64decode(jwk["x5c"][0]))
        root_pem = client.get(issuer.json()["root_certificates"][0]).text
        leaf.verify_directly_issued_by(x509.load_pem_x509_certificate(root_pem.encode()))
        assert client.get(f"{live}/.well-known/jwt-vc-issuer/other").status_code == 404
