"""Binding a new device: Level-2 proof (password, OTP to the verified phone, face match against
the enrolled portrait). The old device is unbound in the same transaction: one device at a time.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from sqlalchemy.orm import Session

from eid.authority import service as authority
from eid.biometrics.ports import BiometricMatcher
from eid.core import audit, clock
from eid.core.errors import EidError, Unauthorized, ValidationFailed
from eid.identity import devices, passkeys
from eid.identity.models import Device, DeviceChallenge
from eid.identity.passwords import hash_secret, verify_secret
from eid.identity.ports import FaceMatcher
from eid.identity.service import (
    CHALLENGE_TTL,
    IssuedSession,
    PasskeyAnswer,
    _credential_row,
    bound_device,
    check_password,
    holder_actor,
    open_session,
    register_failure,
    require_usable_audited,
    take_challenge,
)
from eid.notify.service import notify, redact_secrets

OTP_ATTEMPTS = 3


class EngineFaceMatcher:
    """`FaceMatcher` on the process's biometric engine (built once, at start: `eid.wiring`)."""

    def __init__(self, engine: BiometricMatcher) -> None:
        self.engine = engine

    def matches(self, probe_image: bytes, reference_image: bytes) -> bool:
        probe = self.engine.face_template(probe_image)
        reference = self.engine.face_template(reference_image)
        return self.engine.compare_faces(probe, reference).is_match


class FaceMismatch(EidError):
    code = "FACE_MISMATCH"
    status = 401


def start_rebind(session: Session, *, eid_number: str, password: str) -> DeviceChallenge:
    """Password first, then an OTP goes to the verified phone (the guardian's for a minor is
    handled by authority's phone field)."""
    account = check_password(session, eid_number, password)
    require_usable_audited(session, account)
    otp = f"{secrets.randbelow(10**6):06d}"
    challenge = DeviceChallenge(
        account_id=account.id,
        purpose="rebind",
        nonce=devices.new_nonce(),
        otp_hash=hash_secret(otp),
        expires_at=clock.now() + CHALLENGE_TTL,
    )
    session.add(challenge)
    session.flush()
    notify(
        session,
        recipient_type="account",
        recipient_id=account.id,
        channels={"sms": account.phone},
        language=account.language,
        template="device_rebind_otp",
        params={"otp": otp},
        key=f"device-rebind-otp:{challenge.id}",
        secret_expires_at=challenge.expires_at,
    )
    audit.record(session, holder_actor(account.id), "holder.rebind_started", "account", account.id)
    return challenge


def complete_rebind(
    session: Session,
    *,
    eid_number: str,
    challenge_id: uuid.UUID,
    otp: str,
    selfie: bytes,
    device_label: str,
    matcher: FaceMatcher,
    device_jwk: dict[str, Any] | None = None,
    proof: str | None = None,
    passkey: PasskeyAnswer | None = None,
) -> IssuedSession:
    """The new device is a JWS device key with its proof over the challenge nonce, or a passkey
    created for a `rebind` ceremony of this account."""
    if passkey is None and (device_jwk is None or proof is None):
        raise ValidationFailed(
            "give a device key and its proof, or a passkey", code="DEVICE_REQUIRED"
        )
    account = authority.find_by_eid_number(session, eid_number)
    if account is None:
        raise Unauthorized("unknown or expired challenge", code="CHALLENGE_INVALID")
    credential = _credential_row(session, account.id)
    challenge = session.get(DeviceChallenge, challenge_id, with_for_update=True)
    if (
        credential is None
        or challenge is None
        or challenge.account_id != account.id
        or challenge.purpose != "rebind"
        or challenge.used_at is not None
        or challenge.expires_at < clock.now()
        or challenge.otp_hash is None
        or challenge.attempts >= OTP_ATTEMPTS
        # In the login backoff (wrong OTPs and faces count towards it too), nothing is tried.
        or (credential.locked_until is not None and credential.locked_until > clock.now())
    ):
        raise Unauthorized("unknown or expired challenge", code="CHALLENGE_INVALID")
    if not verify_secret(challenge.otp_hash, otp):
        challenge.attempts += 1
        register_failure(session, credential, "otp")
        raise Unauthorized("wrong one-time code", code="OTP_INVALID", keep_writes=True)
    take_challenge(session, challenge_id, account.id, "rebind")
    redact_secrets(session, "account", account.id, carrying="otp")  # the code is used
    new_passkey: passkeys.NewPasskey | None = None
    public_jwk: dict[str, Any] = {}
    # The new device proves it holds the key it registers (signature over our nonce, or the
    # passkey's attestation over the ceremony's challenge).
    try:
        if passkey is not None:
            ceremony = passkeys.take(session, passkey.ceremony_id, "rebind", account.id)
            new_passkey = passkeys.register(ceremony, passkey.credential)
        else:
            assert device_jwk is not None and proof is not None
            public_jwk = devices.clean_public_jwk(device_jwk)
            devices.verify_proof(public_jwk, proof, challenge.nonce)
    except EidError as refused:
        refused.keep_writes = True  # the challenge stays used: a wrong proof is not retried
        raise
    reference = authority.account_portrait(session, account.id)
    if reference is None or not matcher.matches(selfie, reference):
        register_failure(session, credential, "face")
        raise FaceMismatch("the face does not match the enrolled portrait", keep_writes=True)
    require_usable_audited(session, account)
    old = bound_device(session, account.id)
    if old is not None:
        old.status = "unbound"
        old.unbound_at = clock.now()
        session.flush()  # the partial unique index admits the new one only after this
    amr = ["pwd", "otp", "face", "hwk"]
    if new_passkey is not None:
        session.add(passkeys.device_row(account.id, device_label, new_passkey))
        assert credential is not None
        credential.passkey_user_handle = new_passkey.user_handle
        amr.append("user")
    else:
        session.add(Device(account_id=account.id, label=device_label, public_jwk=public_jwk))
    session.flush()
    audit.record(
        session,
        holder_actor(account.id),
        "holder.device_bound",
        "account",
        account.id,
        details={
            "replaced": str(old.id) if old else None,
            "kind": "passkey" if new_passkey else "jws",
        },
    )
    return open_session(session, account, amr=amr)
