"""eKYC scopes: which verified claims each scope releases (how each reads on the consent page:
the `pages` catalogue, template `holder/consent.html`).

Only claims of scopes in the relying party's written agreement can ever be released.
"""

from __future__ import annotations

import base64
from typing import Any

from sqlalchemy.orm import Session

from eid.authority import service as authority
from eid.authority.schemas import AccountView

# scope -> claims it releases. `openid` releases only the pairwise subject.
SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    "openid": (),
    "ekyc_basic": ("name", "birthdate", "nationality"),
    "residence": ("residence_card_number", "residence_card_kind", "residence_card_expiry"),
    "portrait": ("portrait",),
    "phone": ("phone_number", "phone_number_verified"),
    "email": ("email",),
}
SUPPORTED_SCOPES = [*SCOPE_CLAIMS, "offline_access"]
# OpenID4VCI: the scopes of the card's credential configurations (`eid.wallet.oid4vci`), for
# wallet clients only; on the consent page they read as the card going into that wallet.
CREDENTIAL_SCOPES = ("eid_residence_card", "eid_residence_card_mdoc")
CREDENTIAL_CLAIM = "residence_card_credential"
# What the consent page names for each credential scope (asked for by scope or, as its
# credential configuration, by authorization_details): the card, and in which format.
CREDENTIAL_CLAIMS = {
    "eid_residence_card": CREDENTIAL_CLAIM,
    "eid_residence_card_mdoc": "residence_card_credential_mdoc",
}


def claims_for_scopes(scopes: list[str]) -> list[str]:
    names: list[str] = []
    for scope in scopes:
        credential = CREDENTIAL_CLAIMS.get(scope)
        released = (credential,) if credential is not None else ()
        for claim in SCOPE_CLAIMS.get(scope, released):
            if claim not in names:
                names.append(claim)
    return names


def claim_values(session: Session, account: AccountView, claims: list[str]) -> dict[str, Any]:
    """The values of exactly the named claims (the portrait is read only when asked)."""
    card = account.residence_card
    available: dict[str, Any] = {
        "name": account.full_name,
        "birthdate": account.date_of_birth.isoformat(),
        "nationality": account.nationality,
        "residence_card_number": card.get("number"),
        "residence_card_kind": card.get("kind"),
        "residence_card_expiry": card.get("expiry_date"),
        "phone_number": account.phone,
        "phone_number_verified": True,
        "email": account.email,
    }
    values = {name: available[name] for name in claims if name in available}
    if "portrait" in claims:
        image = authority.account_portrait(session, account.id)
        if image is not None:
            kind = "png" if image.startswith(b"\x89PNG") else "jpeg"
            values["portrait"] = f"data:image/{kind};base64,{base64.b64encode(image).decode()}"
    return {k: v for k, v in values.items() if v is not None}
