"""WebAuthn passkeys (py_webauthn): the bound device of a holder in a browser.

A ceremony is a server-side challenge: one-time, five minutes, for one purpose (activation,
login, rebind) and, where the caller named it, one account. User verification is required at
every step, so a passkey is possession (`hwk`) plus the holder's own unlock (`user`).

The relying party is this server: its id is `EID_ISSUER`'s host, the only origin its scheme,
host and port. The options answer has the same shape whether or not the e-ID number exists.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    decode_credential_public_key,
    parse_authentication_credential_json,
    parse_registration_credential_json,
)
from webauthn.helpers.cose import COSEAlgorithmIdentifier
from webauthn.helpers.decode_credential_public_key import (
    DecodedEC2PublicKey,
    DecodedOKPPublicKey,
    DecodedRSAPublicKey,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticationCredential,
    AuthenticatorSelectionCriteria,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from eid.core import clock
from eid.core.errors import Unauthorized, ValidationFailed
from eid.core.settings import get_settings
from eid.identity.models import Device, PasskeyCeremony

PURPOSES = ("activation", "login", "rebind")
CEREMONY_TTL = dt.timedelta(minutes=5)
RP_NAME = "eID"
ALGORITHMS = [
    COSEAlgorithmIdentifier.ECDSA_SHA_256,
    COSEAlgorithmIdentifier.EDDSA,
    COSEAlgorithmIdentifier.RSASSA_PKCS1_v1_5_SHA_256,
]


def relying_party() -> tuple[str, str]:
    """(RP ID, origin) from `EID_ISSUER`: the browser must show this very origin."""
    issuer = urlsplit(get_settings().issuer)
    return issuer.hostname or "localhost", f"{issuer.scheme}://{issuer.netloc}"


def new_user_handle() -> str:
    return encode_handle(secrets.token_bytes(32))


def encode_handle(handle: bytes) -> str:
    return str(bytes_to_base64url(handle))


@dataclass(frozen=True)
class Options:
    ceremony_id: uuid.UUID
    public_key: dict[str, Any]


def begin(
    session: Session,
    *,
    purpose: str,
    account_id: uuid.UUID | None,
    user_name: str = "",
    user_handle: str | None = None,
) -> Options:
    """A new ceremony and the options the browser hands to `navigator.credentials`. Creation
    options for activation and rebind (a discoverable credential, for `user_handle`), request
    options for login (no allow-list: the authenticator offers its own passkey)."""
    if purpose not in PURPOSES:
        raise ValidationFailed(
            "unknown purpose: %(purpose)s",
            code="INVALID_PURPOSE",
            params={"purpose": purpose[:20]},
        )
    rp_id, _ = relying_party()
    challenge = secrets.token_bytes(32)
    timeout = int(CEREMONY_TTL.total_seconds() * 1000)
    if purpose == "login":
        user_handle = None
        options = options_to_json(
            generate_authentication_options(
                rp_id=rp_id,
                challenge=challenge,
                timeout=timeout,
                user_verification=UserVerificationRequirement.REQUIRED,
            )
        )
    else:
        user_handle = user_handle or new_user_handle()
        options = options_to_json(
            generate_registration_options(
                rp_id=rp_id,
                rp_name=RP_NAME,
                user_id=base64url_to_bytes(user_handle),
                user_name=user_name or "eID",
                challenge=challenge,
                timeout=timeout,
                authenticator_selection=AuthenticatorSelectionCriteria(
                    resident_key=ResidentKeyRequirement.REQUIRED,
                    user_verification=UserVerificationRequirement.REQUIRED,
                ),
                supported_pub_key_algs=ALGORITHMS,
            )
        )
    ceremony = PasskeyCeremony(
        purpose=purpose,
        account_id=account_id,
        challenge=bytes_to_base64url(challenge),
        user_handle=user_handle,
        expires_at=clock.now() + CEREMONY_TTL,
    )
    session.add(ceremony)
    session.flush()
    return Options(ceremony_id=ceremony.id, public_key=json.loads(options))


def invalid_ceremony() -> Unauthorized:
    return Unauthorized(
        "the passkey request expired or was already used: try again",
        code="PASSKEY_CEREMONY_INVALID",
        keep_writes=True,
    )


def take(
    session: Session, ceremony_id: uuid.UUID, purpose: str, account_id: uuid.UUID | None
) -> PasskeyCeremony:
    """The ceremony, used up now (whatever the outcome: a challenge answers once). With
    `account_id`, a ceremony bound to another account is refused."""
    ceremony = session.get(PasskeyCeremony, ceremony_id, with_for_update=True)
    if (
        ceremony is None
        or ceremony.purpose != purpose
        or ceremony.used_at is not None
        or ceremony.expires_at < clock.now()
        or (account_id is not None and ceremony.account_id != account_id)
    ):
        raise invalid_ceremony()
    ceremony.used_at = clock.now()
    session.flush()
    return ceremony


@dataclass(frozen=True)
class NewPasskey:
    credential_id: bytes
    public_key: bytes
    public_jwk: dict[str, Any]
    sign_count: int
    transports: list[str]
    user_handle: str


def refused(message: str = "the passkey could not be verified") -> Unauthorized:
    return Unauthorized(message, code="PASSKEY_INVALID", keep_writes=True)


def register(ceremony: PasskeyCeremony, credential: dict[str, Any]) -> NewPasskey:
    """Verify a `navigator.credentials.create()` answer to this ceremony ("none" attestation
    accepted: the RP trusts the holder's own authenticator, not its make)."""
    rp_id, origin = relying_party()
    try:
        parsed = parse_registration_credential_json(json.dumps(credential))
        verified = verify_registration_response(
            credential=parsed,
            expected_challenge=base64url_to_bytes(ceremony.challenge),
            expected_rp_id=rp_id,
            expected_origin=origin,
            require_user_verification=True,
            supported_pub_key_algs=ALGORITHMS,
        )
        public_jwk = cose_to_jwk(verified.credential_public_key)
    except (WebAuthnException, ValueError, TypeError, KeyError):
        raise refused() from None
    assert ceremony.user_handle is not None
    return NewPasskey(
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        public_jwk=public_jwk,
        sign_count=verified.sign_count,
        transports=[str(t.value) for t in parsed.response.transports or []][:8],
        user_handle=ceremony.user_handle,
    )


def parse_assertion(credential: dict[str, Any]) -> AuthenticationCredential:
    try:
        return parse_authentication_credential_json(json.dumps(credential))
    except (WebAuthnException, ValueError, TypeError, KeyError):
        raise refused() from None


def user_handle_of(assertion: AuthenticationCredential) -> str | None:
    handle = assertion.response.user_handle
    return bytes_to_base64url(handle) if handle else None


def device_for(session: Session, assertion: AuthenticationCredential) -> Device | None:
    """The bound passkey the assertion names (an unbound one logs in nowhere)."""
    return session.execute(
        select(Device)
        .where(
            Device.credential_id == assertion.raw_id,
            Device.kind == "passkey",
            Device.status == "bound",
        )
        .with_for_update()
    ).scalar_one_or_none()


class ClonedAuthenticator(Unauthorized):
    code = "PASSKEY_INVALID"


def authenticate(
    ceremony: PasskeyCeremony, assertion: AuthenticationCredential, device: Device
) -> int:
    """Verify the assertion with the device's key; return the authenticator's new counter."""
    return verify_assertion(ceremony.challenge, assertion, device)


def verify_assertion(challenge: str, assertion: AuthenticationCredential, device: Device) -> int:
    """Verify an assertion over `challenge` (base64url) with the device's key, user verified;
    return the authenticator's new counter.

    WebAuthn §6.1.1 / §7.2 step 21: when either counter is non-zero, a counter that did not
    grow means two authenticators hold the key (a clone): refused (`ClonedAuthenticator`)."""
    rp_id, origin = relying_party()
    assert device.public_key is not None
    try:
        verified = verify_authentication_response(
            credential=assertion,
            expected_challenge=base64url_to_bytes(challenge),
            expected_rp_id=rp_id,
            expected_origin=origin,
            credential_public_key=device.public_key,
            # The counter is checked below, after the signature, so that a forged answer
            # cannot pass for a clone.
            credential_current_sign_count=0,
            require_user_verification=True,
        )
    except (WebAuthnException, ValueError, TypeError, KeyError):
        raise refused() from None
    new = verified.new_sign_count
    if (new > 0 or device.sign_count > 0) and new <= device.sign_count:
        raise ClonedAuthenticator(
            "the passkey could not be verified", code="PASSKEY_INVALID", keep_writes=True
        )
    return new


def cose_to_jwk(cose_key: bytes) -> dict[str, Any]:
    """The passkey's public key as a JWK (what the wallet names as the holder's key)."""
    key = decode_credential_public_key(cose_key)
    if isinstance(key, DecodedEC2PublicKey) and key.crv == 1:
        return {
            "kty": "EC",
            "crv": "P-256",
            "x": bytes_to_base64url(key.x),
            "y": bytes_to_base64url(key.y),
        }
    if isinstance(key, DecodedOKPPublicKey) and key.crv == 6:
        return {"kty": "OKP", "crv": "Ed25519", "x": bytes_to_base64url(key.x)}
    if isinstance(key, DecodedRSAPublicKey):
        return {"kty": "RSA", "n": bytes_to_base64url(key.n), "e": bytes_to_base64url(key.e)}
    raise ValueError("unsupported passkey key type")


def device_row(account_id: uuid.UUID, label: str, passkey: NewPasskey) -> Device:
    return Device(
        account_id=account_id,
        label=label,
        kind="passkey",
        public_jwk=passkey.public_jwk,
        credential_id=passkey.credential_id,
        public_key=passkey.public_key,
        sign_count=passkey.sign_count,
        transports=passkey.transports,
    )
