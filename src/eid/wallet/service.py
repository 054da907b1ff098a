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
from eid.core import audit, clock
from eid.core.audit import Actor
from eid.core.errors import Forbidden, ValidationFailed
from eid.core.settings import get_settings
from eid.identity.service import bound_device, holder_actor, require_usable
from eid.wallet import keys, qr, sdjwt, status
from eid.wallet.models import CardLink, IssuedCredential

VCT = "urn:eid:vn:residence_card:1"
MAX_VALIDITY = dt.timedelta(days=365)
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
    return {
        "eid_number": account.eid_number,
        "full_name": account.full_name,
        "birthdate": account.date_of_birth.isoformat(),
        "sex": account.sex,
        "nationality": account.nationality,
        "residence_card_number": account.residence_card.get("number"),
        "residence_card_kind": account.residence_card.get("kind"),
        "residence_card_expiry": account.residence_card.get("expiry_date"),
        "passport_number": account.passport.get("number"),
    }


def card_claims(account: Any) -> dict[str, Any]:
    """The claims the e-residence card credential carries for this account (as issued)."""
    return _claim_values(account)


def issue_residence_card(session: Session, account_id: uuid.UUID) -> IssuedCard:
    """Bound to the device key now bound to the account (`cnf`); valid until the card expires
    (at most a year), and listed in the status list so a lock shows at once."""
    account = authority.get_account(session, account_id)
    require_usable(account)
    device = bound_device(session, account_id)
    if device is None:
        raise Forbidden("no device is bound to this account", code="NO_BOUND_DEVICE")
    now = clock.now()
    card_expiry = dt.datetime.fromisoformat(account.residence_card["expiry_date"]).replace(
        tzinfo=dt.UTC
    ) + dt.timedelta(days=1)
    expires = min(now + MAX_VALIDITY, card_expiry)
    index = status.allocate_index(session)
    row = IssuedCredential(
        account_id=account_id,
        device_id=device.id,
        status_list=status.CURRENT_LIST,
        status_index=index,
        expires_at=expires,
    )
    session.add(row)
    session.flush()
    values = _claim_values(account)
    disclosures = [
        sdjwt.make_disclosure(name, values[name])
        for name in DISCLOSABLE
        if values.get(name) is not None
    ]
    payload: dict[str, Any] = {
        "iss": get_settings().issuer,
        "vct": VCT,
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int(expires.timestamp()),
        "cnf": {"jwk": device.public_jwk},
        "status": {"status_list": {"idx": index, "uri": status.list_uri(status.CURRENT_LIST)}},
        "_sd_alg": sdjwt.SD_ALG,
        # Sorted digests: their order must not reveal which claim each one hides.
        "_sd": sorted(sdjwt.digest(d) for d in disclosures),
    }
    header = {"alg": "EdDSA", "typ": sdjwt.ISSUER_TYP, "kid": keys.issuer_kid()}
    issuer_jwt = sdjwt.sign_jwt(header, payload, keys.issuer_key(), ["EdDSA"])
    audit.record(
        session,
        holder_actor(account_id),
        "wallet.credential_issued",
        "account",
        account_id,
        details={"credential_id": str(row.id), "vct": VCT},
    )
    return IssuedCard(
        credential=sdjwt.compact(issuer_jwt, disclosures), credential_id=row.id, expires_at=expires
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
