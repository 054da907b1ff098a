"""The e-residence card: issued as an SD-JWT VC (ES256, x5c to the eid root), read by the
reference `sd-jwt` library with only the disclosed claims visible, suspended in the status list by
a lock, and refused by our verifier for every forgery the reference library lets through."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from joserfc import jwt
from joserfc.jwk import ECKey, OKPKey
from jwcrypto.jwk import JWK
from sd_jwt.verifier import SDJWTVerifier
from sqlalchemy.orm import Session

from eid.authority import service as authority
from eid.core import clock
from eid.wallet import certs, keys, metadata, sdjwt, status
from eid.wallet.service import issue_residence_card
from eid.wallet.verification import local_status
from eid.wallet.verifier import PresentationRefused, verify_presentation
from tests.identity.factories import TEST_ACTOR, TestHolder, make_holder

AUD = "landlord-42"
NONCE = "n-0001"
LANDLORD_VIEW = ["full_name", "residence_card_expiry"]


def _now() -> int:
    return int(clock.now().timestamp())


def _holder(db: Session) -> TestHolder:
    # P-256: the reference library checks key-binding JWTs with ES256 only.
    return make_holder(db, key=ECKey.generate_key("P-256"))


def _ours(db: Session, presentation: str, *, nonce: str = NONCE) -> dict[str, object]:
    card = verify_presentation(
        presentation,
        issuer_key=keys.issuer_key(),
        root=certs.root_certificate(db),
        audience=AUD,
        nonce=nonce,
        status_lookup=local_status(db),
    )
    return card.claims


def _refusal(db: Session, presentation: str) -> str:
    with pytest.raises(PresentationRefused) as err:
        _ours(db, presentation)
    return err.value.code


def _issuer_jwk(_iss: str, header: dict[str, object]) -> JWK:
    """The reference library's key callback: the x5c leaf (the chain is ours to check)."""
    assert isinstance(header["x5c"], list)
    return JWK.from_pem(
        x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


ES256 = sdjwt.jws_registry(["ES256"])


def _ds_key(db: Session) -> ECKey:
    return certs.signer(db).jwk()


def test_reference_library_sees_only_disclosed_claims(db: Session) -> None:
    holder = _holder(db)
    card = issue_residence_card(db, holder.account_id)
    presentation = sdjwt.present(
        card.credential, holder.device_key, reveal=LANDLORD_VIEW, aud=AUD, nonce=NONCE, iat=_now()
    )
    reference = SDJWTVerifier(presentation, _issuer_jwk, expected_aud=AUD, expected_nonce=NONCE)
    claims = reference.get_verified_payload()
    assert claims["full_name"] == "NGUYEN VAN A"
    assert claims["residence_card_expiry"] == "2030-12-31"
    for hidden in ("passport_number", "birthdate", "eid_number", "residence_card_number"):
        assert hidden not in claims
    assert claims["vct"] == metadata.vct()
    assert claims["cnf"]["jwk"]["x"] == holder.device_key.as_dict()["x"]
    ours = _ours(db, presentation)
    assert {k: ours[k] for k in LANDLORD_VIEW} == {k: claims[k] for k in LANDLORD_VIEW}
    assert "passport_number" not in ours


def test_lock_suspends_the_credential_in_the_status_list(db: Session) -> None:
    holder = _holder(db)
    card = issue_residence_card(db, holder.account_id)
    index = jwt.decode(
        sdjwt.split(card.credential)[0], _ds_key(db), algorithms=["ES256"], registry=ES256
    ).claims["status"]["status_list"]["idx"]

    def published() -> int:
        token = jwt.decode(
            status.status_list_jwt(db, status.CURRENT_LIST),
            _ds_key(db),
            algorithms=["ES256"],
            registry=ES256,
        )
        assert token.header["typ"] == "statuslist+jwt"
        lst = token.claims["status_list"]
        return status.decode_status(lst["lst"], index, lst["bits"])

    assert published() == status.VALID
    authority.add_lock_ground(db, holder.account_id, "holder_request", actor=TEST_ACTOR)
    assert published() == status.SUSPENDED
    presentation = sdjwt.present(
        card.credential, holder.device_key, reveal=LANDLORD_VIEW, aud=AUD, nonce=NONCE, iat=_now()
    )
    assert _refusal(db, presentation) == "CREDENTIAL_SUSPENDED"
    authority.remove_lock_ground(db, holder.account_id, "holder_request", actor=TEST_ACTOR)
    assert published() == status.VALID


def _forge(disclosure: str, value: object) -> str:
    salt, name, _ = json.loads(sdjwt.b64url_decode(disclosure))
    return sdjwt.b64url(json.dumps([salt, name, value]).encode())


def test_forged_disclosure_is_refused(db: Session) -> None:
    holder = _holder(db)
    card = issue_residence_card(db, holder.account_id)
    issuer_jwt, disclosures, _ = sdjwt.split(card.credential)
    expiry = next(
        d for d in disclosures if json.loads(sdjwt.b64url_decode(d))[1] == "residence_card_expiry"
    )
    forged = _forge(expiry, "2099-12-31")
    kb = sdjwt.key_binding_jwt(
        holder.device_key,
        issuer_jwt=issuer_jwt,
        disclosures=[forged],
        aud=AUD,
        nonce=NONCE,
        iat=_now(),
    )
    presentation = sdjwt.compact(issuer_jwt, [forged], kb)
    # The reference library accepts it and simply drops the claim...
    reference = SDJWTVerifier(presentation, _issuer_jwk, expected_aud=AUD, expected_nonce=NONCE)
    assert "residence_card_expiry" not in reference.get_verified_payload()
    # ...ours refuses the presentation.
    assert _refusal(db, presentation) == "DISCLOSURE_UNREFERENCED"


def test_disclosure_from_another_credential_is_refused(db: Session) -> None:
    holder, other = _holder(db), _holder(db)
    card = issue_residence_card(db, holder.account_id)
    foreign = sdjwt.split(issue_residence_card(db, other.account_id).credential)[1][0]
    issuer_jwt, disclosures, _ = sdjwt.split(card.credential)
    mixed = [disclosures[0], foreign]
    kb = sdjwt.key_binding_jwt(
        holder.device_key,
        issuer_jwt=issuer_jwt,
        disclosures=mixed,
        aud=AUD,
        nonce=NONCE,
        iat=_now(),
    )
    assert _refusal(db, sdjwt.compact(issuer_jwt, mixed, kb)) == "DISCLOSURE_UNREFERENCED"


def test_expired_credential_is_refused(db: Session) -> None:
    holder = make_holder(db, key=ECKey.generate_key("P-256"), card_expiry="2027-01-31")
    card = issue_residence_card(db, holder.account_id)
    clock.shift(dt.timedelta(days=400))
    presentation = sdjwt.present(
        card.credential, holder.device_key, reveal=LANDLORD_VIEW, aud=AUD, nonce=NONCE, iat=_now()
    )
    assert _refusal(db, presentation) == "CREDENTIAL_EXPIRED"


def test_key_binding_is_always_required_and_checked(db: Session) -> None:
    holder = _holder(db)
    card = issue_residence_card(db, holder.account_id)
    issuer_jwt, disclosures, _ = sdjwt.split(card.credential)
    assert _refusal(db, sdjwt.compact(issuer_jwt, disclosures)) == "KEY_BINDING_MISSING"
    good = sdjwt.present(
        card.credential, holder.device_key, reveal=LANDLORD_VIEW, aud=AUD, nonce=NONCE, iat=_now()
    )
    with pytest.raises(PresentationRefused) as err:
        _ours(db, good, nonce="another-nonce")
    assert err.value.code == "KEY_BINDING_INVALID"
    thief = OKPKey.generate_key("Ed25519")
    stolen = sdjwt.present(
        card.credential, thief, reveal=LANDLORD_VIEW, aud=AUD, nonce=NONCE, iat=_now()
    )
    assert _refusal(db, stolen) == "SIGNATURE_INVALID"
    # Disclosures added after signing break sd_hash.
    extra = next(
        d for d in disclosures if json.loads(sdjwt.b64url_decode(d))[1] == "passport_number"
    )
    head, _, kb = good.rpartition("~")
    assert _refusal(db, f"{head}~{extra}~{kb}") == "KEY_BINDING_INVALID"
    stale = sdjwt.present(
        card.credential,
        holder.device_key,
        reveal=LANDLORD_VIEW,
        aud=AUD,
        nonce=NONCE,
        iat=_now() - 3600,
    )
    assert _refusal(db, stale) == "KEY_BINDING_STALE"


def test_rebinding_a_new_device_revokes_the_old_card(
    db: Session,
) -> None:
    from eid.identity import rebind
    from tests.identity.factories import PASSWORD, sign_nonce
    from tests.support import code_in, outbox

    class Yes:
        def matches(self, probe_image: bytes, reference_image: bytes) -> bool:
            return True

    holder = make_holder(db, key=ECKey.generate_key("P-256"), portrait=b"\xff\xd8face")
    card = issue_residence_card(db, holder.account_id)
    challenge = rebind.start_rebind(db, eid_number=holder.eid_number, password=PASSWORD)
    [sms] = outbox(db, holder.account_id, "device_rebind_otp")
    new_key = OKPKey.generate_key("Ed25519")
    rebind.complete_rebind(
        db,
        eid_number=holder.eid_number,
        challenge_id=challenge.id,
        otp=code_in(sms.text),
        selfie=b"selfie",
        device_jwk=new_key.as_dict(private=False),
        device_label="new",
        proof=sign_nonce(new_key, challenge.nonce),
        matcher=Yes(),
    )
    presentation = sdjwt.present(
        card.credential, holder.device_key, reveal=LANDLORD_VIEW, aud=AUD, nonce=NONCE, iat=_now()
    )
    assert _refusal(db, presentation) == "CREDENTIAL_REVOKED"
