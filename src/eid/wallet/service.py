"""Issuing the e-residence card credential to the holder's bound device."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from eid.authority import service as authority
from eid.core import audit, clock
from eid.core.errors import Forbidden
from eid.core.settings import get_settings
from eid.identity.service import bound_device, holder_actor, require_usable
from eid.wallet import keys, sdjwt, status
from eid.wallet.models import IssuedCredential

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
