"""Issuing the e-residence card credential to the holder's bound device."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from eid.authority import service as authority
from eid.authority.models import Account
from eid.core import audit, clock
from eid.core.audit import Actor
from eid.core.errors import Forbidden, ValidationFailed
from eid.core.settings import get_settings
from eid.identity.service import bound_device, holder_actor, require_usable
from eid.wallet import certs, formats, qr
from eid.wallet.models import CardLink, IssuedCredential

LEGACY_VCT = "urn:eid:vn:residence_card:1"  # the EdDSA cards issued before issue 12
MAX_VALIDITY = formats.MAX_VALIDITY
# Claims the holder chooses to show one by one; everything else in the JWT is always visible.
DISCLOSABLE = (
    "eid_number",
    "full_name",
    "birthdate",
    "sex",
    "nationality",
    "residence_card_number",
    "residence_card_kind",
    "residence_card_expiry",
    "passport_number",
)


# What the card's QR shows a verifier by default: enough to match the person in front of them
# to a valid residence, not the document numbers.
DEFAULT_CARD_CLAIMS = (
    "full_name",
    "birthdate",
    "nationality",
    "residence_card_kind",
    "residence_card_expiry",
)
CARD_LINK_TTL = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class IssuedCard:
    credential: str
    credential_id: uuid.UUID
    expires_at: dt.datetime


def _claim_values(account: Any) -> dict[str, Any]:
    return formats.claim_values(account)


def card_claims(account: Any) -> dict[str, Any]:
    """The claims the e-residence card credential carries for this account (as issued)."""
    return _claim_values(account)


def issue_residence_card(session: Session, account_id: uuid.UUID) -> IssuedCard:
    """The card for the holder app: an SD-JWT VC (ES256 under the eid issuing certificate,
    `formats.issue`) bound to the device key now bound to the account (`cnf`); valid until the
    card expires (at most a year), and listed in the status list so a lock shows at once."""
    account = authority.get_account(session, account_id)
    require_usable(account)
    device = bound_device(session, account_id)
    if device is None:
        raise Forbidden("no device is bound to this account", code="NO_BOUND_DEVICE")
    issued = formats.issue(
        session, account_id, device.public_jwk, formats.SD_JWT_VC, device_id=device.id
    )
    assert isinstance(issued.credential, str)
    return IssuedCard(
        credential=issued.credential,
        credential_id=issued.credential_id,
        expires_at=issued.expires_at,
    )


@dataclass(frozen=True)
class CardQr:
    url: str  # {issuer}/v/<token>: opens the card's state and the chosen claims
    svg: str
    expires_at: dt.datetime


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def card_qr_svg(
    session: Session, account_id: uuid.UUID, *, claims: Sequence[str] = DEFAULT_CARD_CLAIMS
) -> CardQr:
    """A fresh short link for the card's QR (version 4 at error correction M, see `qr`). It
    shows `claims` to whoever scans it within `CARD_LINK_TTL`; a locked account's link shows
    the card suspended. The holder app renders `svg` (or calls GET /api/v1/me/card/qr.svg)."""
    unknown = sorted(set(claims) - set(DISCLOSABLE))
    if unknown or not claims:
        raise ValidationFailed(
            "choose what the code shows among %(allowed)s",
            code="CARD_CLAIMS_INVALID",
            params={"allowed": ", ".join(DISCLOSABLE)},
            details={"unknown": unknown},
        )
    require_usable(authority.get_account(session, account_id))
    token = secrets.token_urlsafe(16)
    expires = clock.now() + CARD_LINK_TTL
    session.add(
        CardLink(
            token_hash=_token_hash(token),
            account_id=account_id,
            claims=list(dict.fromkeys(claims)),
            expires_at=expires,
        )
    )
    session.flush()
    audit.record(
        session,
        holder_actor(account_id),
        "wallet.card_link_made",
        "account",
        account_id,
        details={"claims": list(claims)},
    )
    url = f"{get_settings().issuer.rstrip('/')}/v/{token}"
    return CardQr(url=url, svg=qr.card_link_svg(url), expires_at=expires)


@dataclass(frozen=True)
class CardCheck:
    """What a scanned card link shows: whether the card holds now, and the chosen claims."""

    valid: bool
    claims: dict[str, Any]
    checked_at: dt.datetime
    link_expires_at: dt.datetime


def open_card_link(session: Session, token: str) -> CardCheck | None:
    """None for an unknown or expired link (the page says so; nothing tells which). Each opening
    is audited on the account: the holder's history of use shows it."""
    link = session.execute(
        select(CardLink).where(CardLink.token_hash == _token_hash(token))
    ).scalar_one_or_none()
    now = clock.now()
    if link is None or link.expires_at < now:
        return None
    account = authority.get_account(session, link.account_id)
    values = _claim_values(account)
    audit.record(
        session,
        Actor(kind="client", id="card-link", role="verifier"),  # whoever scanned it
        "wallet.card_link_opened",
        "account",
        account.id,
        details={"link": str(link.id), "claims": list(link.claims)},
    )
    return CardCheck(
        valid=account.usable,
        claims={name: values.get(name) for name in link.claims},
        checked_at=now,
        link_expires_at=link.expires_at,
    )


def revoke_issuing_certificate(
    session: Session, which: str, reason: str, *, actor: Actor
) -> certs.Revocation:
    """Revoke an issuing certificate (`certs.revoke_issuing_certificate`: the CRL, a successor)
    and tell each holder whose live card it signed to add the card again: the card now reads
    invalid in the status list too, and the app offers a new one. Idempotent, the messages
    included (one per holder and certificate)."""
    done = certs.revoke_issuing_certificate(session, which, reason, actor=actor)
    holders = session.execute(
        select(Account)
        .where(
            Account.id.in_(
                select(IssuedCredential.account_id).where(
                    IssuedCredential.signer_kid == done.kid,
                    IssuedCredential.expires_at > clock.now(),
                    IssuedCredential.revoked_status == 0,
                )
            ),
            Account.status != "closed",
        )
        .order_by(Account.id)
    ).scalars()
    for account in holders:
        authority.notify_holder(
            session,
            account,
            template="card_reissue_needed",
            params={"eid_number": account.eid_number},
            key=f"card_reissue_needed:{done.kid}:{account.id}",
        )
    return done
