"""eKYC scopes: which verified claims each scope releases, and how they read on the consent page.

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

CLAIM_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "sub": "an identifier for you at this service",
        "name": "full name",
        "birthdate": "date of birth",
        "nationality": "nationality",
        "residence_card_number": "residence card number",
        "residence_card_kind": "residence card kind (temporary or permanent)",
        "residence_card_expiry": "residence card expiry date",
        "portrait": "your portrait photo",
        "phone_number": "verified mobile number",
        "phone_number_verified": "that the mobile number is verified",
        "email": "email address",
    },
    "vi": {
        "sub": "mã định danh của bạn tại dịch vụ này",
        "name": "họ và tên",
        "birthdate": "ngày sinh",
        "nationality": "quốc tịch",
        "residence_card_number": "số thẻ cư trú",
        "residence_card_kind": "loại thẻ cư trú (tạm trú hoặc thường trú)",
        "residence_card_expiry": "ngày hết hạn thẻ cư trú",
        "portrait": "ảnh chân dung",
        "phone_number": "số điện thoại đã xác minh",
        "phone_number_verified": "số điện thoại đã được xác minh",
        "email": "địa chỉ email",
    },
}


def claims_for_scopes(scopes: list[str]) -> list[str]:
    names: list[str] = []
    for scope in scopes:
        for claim in SCOPE_CLAIMS.get(scope, ()):
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


def labels(language: str) -> dict[str, str]:
    return CLAIM_LABELS["vi" if language.lower().startswith("vi") else "en"]
