"""What a wallet or verifier fetches to read the card: the SD-JWT VC type metadata (`vct` is an
https URL under the issuer serving it) and the JWT VC issuer metadata (`/.well-known/jwt-vc-issuer`
+ the issuer's path), per draft-ietf-oauth-sd-jwt-vc.

The type metadata's names and claim labels come from the gettext catalogues in every language eid
speaks (vi, en, zh, ko, ja). Its bytes are made once per issuer URL and served as they are, so the
`vct#integrity` in each credential (W3C Subresource Integrity, sha256) matches what is served.
"""

from __future__ import annotations

import base64
import hashlib
import json
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from eid.core.settings import get_settings
from eid.i18n import N_, SUPPORTED, Msgid, gettext
from eid.wallet import certs

TYPE_PATH = "/credentials/types/residence-card/v1"
MDOC_DOCTYPE = "vn.gov.eid.residence_card.1"
MDOC_NAMESPACE = MDOC_DOCTYPE
ROOT_PEM_PATH = "/api/v1/wallet/issuer/root.pem"
METADATA_MAX_AGE = 3600
LANGUAGES = ("vi", "en", "zh", "ko", "ja")

CARD_NAME = N_("e-Residence Card")
CARD_DESCRIPTION = N_("Viet Nam residence card of a foreign resident, issued by eid")
# Every claim the card can disclose, in display order, with its label.
CLAIM_LABELS: dict[str, Msgid] = {
    "full_name": N_("Full name"),
    "birthdate": N_("Date of birth"),
    "sex": N_("Sex"),
    "nationality": N_("Nationality"),
    "eid_number": N_("e-ID number"),
    "residence_card_number": N_("Residence card number"),
    "residence_card_kind": N_("Residence card kind"),
    "residence_card_expiry": N_("Residence card expiry date"),
    "passport_number": N_("Passport number"),
}


def issuer() -> str:
    return get_settings().issuer.rstrip("/")


def vct() -> str:
    return issuer() + TYPE_PATH


def jwt_vc_issuer_path() -> str:
    """`/.well-known/jwt-vc-issuer` followed by the issuer URL's path (if any)."""
    return "/.well-known/jwt-vc-issuer" + urlsplit(issuer()).path.rstrip("/")


@lru_cache(maxsize=8)
def _type_metadata(vct_url: str) -> bytes:
    languages = [lang for lang in LANGUAGES if lang in SUPPORTED]
    document: dict[str, Any] = {
        "vct": vct_url,
        "name": gettext("en", CARD_NAME),
        "description": gettext("en", CARD_DESCRIPTION),
        "display": [
            {
                "locale": lang,
                "name": gettext(lang, CARD_NAME),
                "description": gettext(lang, CARD_DESCRIPTION),
            }
            for lang in languages
        ],
        "claims": [
            {
                "path": [name],
                "display": [{"locale": lang, "label": gettext(lang, label)} for lang in languages],
                "sd": "always",
            }
            for name, label in CLAIM_LABELS.items()
        ],
    }
    return json.dumps(document, ensure_ascii=False, indent=1).encode()


def type_metadata_bytes() -> bytes:
    return _type_metadata(vct())


def sri(data: bytes) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(data).digest()).decode()


def vct_integrity() -> str:
    return sri(type_metadata_bytes())


def jwt_vc_issuer(session: Session) -> dict[str, Any]:
    """`issuer` and its keys inline (`jwks`, each key with its `x5c`); the root to pin too."""
    return {
        "issuer": issuer(),
        "jwks": {"keys": certs.public_jwks(session)},
        "root_certificates": [issuer() + ROOT_PEM_PATH],
    }
