"""Where OpenID4VCI gets its credentials: `eid.wallet.formats` (ES256 under the eid issuing
certificate, `x5c`; SD-JWT VC `dc+sd-jwt` with the https `vct` of `metadata`, and ISO/IEC
18013-5 mdoc). The credential endpoint and the metadata ask here, so they say what is really
issued."""

from __future__ import annotations

import base64
import uuid
from typing import Any

from sqlalchemy.orm import Session

from eid.wallet import formats, metadata


def vct() -> str:
    return metadata.vct()


def mdoc_names(doctype: str, namespace: str) -> tuple[str, str]:
    return formats.MDOC_DOCTYPE, metadata.MDOC_NAMESPACE


def signing_algorithms() -> list[str]:
    return ["ES256"]


def mdoc_available() -> bool:
    return True


def holder_key_problem(holder_jwk: dict[str, Any], configuration_format: str) -> str | None:
    return formats.holder_key_problem(holder_jwk, configuration_format)


def issue_sd_jwt_vc(session: Session, account_id: uuid.UUID, holder_jwk: dict[str, Any]) -> str:
    return formats.issue_sd_jwt_vc(session, account_id, holder_jwk)


def issue_mdoc(session: Session, account_id: uuid.UUID, holder_jwk: dict[str, Any]) -> str:
    """OpenID4VCI 1.0 Appendix A.2.4: the IssuerSigned structure, base64url without padding."""
    raw = formats.issue_mdoc(session, account_id, holder_jwk)
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
