"""Binding a new device: OTP to the verified phone plus a face match; the old device is unbound."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from joserfc.jwk import OKPKey
from sqlalchemy.orm import Session

from eid.biometrics import BiometricEngine
from eid.core.errors import Unauthorized
from eid.identity import rebind, service
from eid.identity.devices import DEVICE_ALGORITHMS
from tests.identity.factories import PASSWORD, make_holder, sign_nonce
from tests.support import code_in, outbox


class _Matcher:
    def __init__(self, result: bool) -> None:
        self.result = result

    def matches(self, probe_image: bytes, reference_image: bytes) -> bool:
        return self.result


def _start(db: Session, holder: Any) -> tuple[Any, str]:
    """Starts a rebind; the OTP is read from the SMS the outbox holds for the holder."""
    earlier = {m.id for m in outbox(db, holder.account_id, "device_rebind_otp")}
    challenge = rebind.start_rebind(db, eid_number=holder.eid_number, password=PASSWORD)
    sent = [m for m in outbox(db, holder.account_id, "device_rebind_otp") if m.id not in earlier]
    assert [(m.channel, m.address) for m in sent] == [("sms", "+84901234567")]
    return challenge, code_in(sent[0].text)


def _complete(
    db: Session,
    holder: Any,
    challenge: Any,
    otp: str,
    new_key: OKPKey,
    selfie: bytes,
    matcher: Any,
) -> service.IssuedSession:
    return rebind.complete_rebind(
        db,
        eid_number=holder.eid_number,
        challenge_id=challenge.id,
        otp=otp,
        selfie=selfie,
        device_jwk=new_key.as_dict(private=False),
        device_label="new phone",
        proof=sign_nonce(new_key, challenge.nonce),
        matcher=matcher,
    )


def test_rebind_unbinds_the_old_device(db: Session) -> None:
    holder = make_holder(db, portrait=b"\xff\xd8portrait")
    old = service.bound_device(db, holder.account_id)
    challenge, otp = _start(db, holder)
    new_key = OKPKey.generate_key("Ed25519")
    issued = _complete(db, holder, challenge, otp, new_key, b"selfie", _Matcher(True))
    assert issued.acr == service.ACR_LEVEL2
    bound = service.bound_device(db, holder.account_id)
    assert bound is not None and bound.public_jwk["x"] == new_key.as_dict()["x"]
    db.refresh(old)
    assert old is not None and old.status == "unbound"
    # The old device can no longer log in.
    login = service.new_login_challenge(db, holder.eid_number)
    with pytest.raises(Unauthorized):
        service.login_with_device(
            db,
            eid_number=holder.eid_number,
            password=PASSWORD,
            challenge_id=login.id,
            proof=holder.prove(login.nonce),
        )


def test_rebind_refuses_wrong_otp_and_face_mismatch(
    db: Session,
) -> None:
    holder = make_holder(db, portrait=b"\xff\xd8portrait")
    challenge, otp = _start(db, holder)
    new_key = OKPKey.generate_key("Ed25519")
    with pytest.raises(Unauthorized):
        _complete(
            db,
            holder,
            challenge,
            "000000" if otp != "000000" else "111111",
            new_key,
            b"selfie",
            _Matcher(True),
        )
    with pytest.raises(rebind.FaceMismatch):
        _complete(db, holder, challenge, otp, new_key, b"selfie", _Matcher(False))
    assert (
        service.bound_device(db, holder.account_id).public_jwk["x"]
        == (  # type: ignore[union-attr]
            holder.device_key.as_dict()["x"]
        )
    )


def test_rebind_with_the_real_face_engine(
    db: Session, shared_data: Path, bio_engine: BiometricEngine
) -> None:
    from eid.biometrics.matcher import EngineMatcher

    engine = rebind.EngineFaceMatcher(EngineMatcher(bio_engine))
    try:
        engine.engine.face_template((shared_data / "faces" / "df00_deepface_img1.jpg").read_bytes())
    except Exception as exc:
        pytest.skip(f"face engine unavailable: {exc}")
    faces = shared_data / "faces"
    holder = make_holder(db, portrait=(faces / "df00_deepface_img1.jpg").read_bytes())
    challenge, otp = _start(db, holder)
    stranger_key = OKPKey.generate_key("Ed25519")
    with pytest.raises(rebind.FaceMismatch):
        _complete(
            db,
            holder,
            challenge,
            otp,
            stranger_key,
            (faces / "df03_deepface_img24.jpg").read_bytes(),
            engine,
        )
    challenge, otp = _start(db, holder)
    new_key = OKPKey.generate_key("Ed25519")
    _complete(
        db, holder, challenge, otp, new_key, (faces / "df00_deepface_img2.jpg").read_bytes(), engine
    )


def test_device_algorithms_are_asymmetric_only() -> None:
    assert set(DEVICE_ALGORITHMS) <= {"EdDSA", "Ed25519", "ES256"}
