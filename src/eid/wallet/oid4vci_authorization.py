"""OpenID4VCI 1.0 §5.1 beyond `scope`: what a wallet's authorization request may carry for the
card, checked here for eid's authorization server (`identity.oauth_server.CodeGrant`).

- `authorization_details` (§5.1.1, RFC 9396 Rich Authorization Requests): a JSON array of
  `openid_credential` entries, each naming a `credential_configuration_id` the issuer knows,
  optionally with `locations` (the credential issuer, §5.1.1) and `claims` (read, not acted on:
  the whole card is issued, the holder discloses claim by claim when presenting). Anything else
  is refused with `invalid_authorization_details` (RFC 9396 §5), never trimmed.
- Granted, each entry gets one `credential_identifiers` value (§6.2), kept on the authorization
  code row: the token response names them, and the credential endpoint then takes
  `credential_identifier` only (§8.2).
- `issuer_state` (§5.1.3): from an offer's `authorization_code` grant (§4.1.1). Unknown, used or
  expired: `invalid_request`. It binds the request to the offer: the holder who signs in must be
  the one the offer was made to, only what the offer offered may be asked for, and the code's
  issuance spends the offer (its pre-authorized code with it).
"""

from __future__ import annotations

import json
import secrets
import uuid
from typing import Any

from authlib.oauth2.rfc6749.errors import InvalidRequestError
from sqlalchemy import select
from sqlalchemy.orm import Session

from eid.core import audit, clock
from eid.core.crypto import hash_token
from eid.identity.oauth_server import InvalidAuthorizationDetails
from eid.identity.service import holder_actor
from eid.wallet import oid4vci
from eid.wallet.models import CredentialOffer

DETAILS_TYPE = "openid_credential"
MAX_DETAILS_LENGTH = 4096  # characters of the parameter as sent
MAX_DETAILS_ENTRIES = 4
MAX_CLAIMS = 32
MAX_ISSUER_STATE_LENGTH = 128
_ENTRY_MEMBERS = {"type", "credential_configuration_id", "locations", "claims"}


def requested_configurations(raw: str) -> list[str]:
    """The credential configuration ids an `authorization_details` parameter asks for, in
    order; `InvalidAuthorizationDetails` for anything not exactly as §5.1.1 describes."""
    if len(raw) > MAX_DETAILS_LENGTH:
        raise InvalidAuthorizationDetails(
            f"authorization_details is longer than {MAX_DETAILS_LENGTH} characters"
        )
    try:
        entries = json.loads(raw)
    except ValueError:
        raise InvalidAuthorizationDetails("authorization_details must be a JSON array") from None
    if not isinstance(entries, list) or not entries:
        raise InvalidAuthorizationDetails("authorization_details must be a non-empty array")
    if len(entries) > MAX_DETAILS_ENTRIES:
        raise InvalidAuthorizationDetails(
            f"authorization_details may hold at most {MAX_DETAILS_ENTRIES} entries"
        )
    known = oid4vci.configurations()
    found: list[str] = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise InvalidAuthorizationDetails("each authorization_details entry is an object")
        if entry.get("type") != DETAILS_TYPE:
            raise InvalidAuthorizationDetails(
                f"unknown authorization_details type: only {DETAILS_TYPE} is supported"
            )
        extra = sorted(set(entry) - _ENTRY_MEMBERS)
        if extra:
            raise InvalidAuthorizationDetails(
                f"unknown member of an {DETAILS_TYPE} entry: {extra[0][:40]}"
            )
        configuration_id = entry.get("credential_configuration_id")
        if not isinstance(configuration_id, str) or configuration_id not in known:
            raise InvalidAuthorizationDetails("unknown credential_configuration_id")
        if configuration_id in found:
            raise InvalidAuthorizationDetails("a credential_configuration_id is repeated")
        _check_locations(entry.get("locations"))
        _check_claims(entry.get("claims"))
        found.append(configuration_id)
    return found


def _check_locations(locations: object) -> None:
    """§5.1.1: with `authorization_servers` in the issuer metadata, `locations` names the
    credential issuer; any other resource server is not eid's to authorize."""
    if locations is None:
        return
    if (
        not isinstance(locations, list)
        or not locations
        or any(location != oid4vci.issuer() for location in locations)
    ):
        raise InvalidAuthorizationDetails("locations must be the credential issuer")


def _check_claims(claims: object) -> None:
    """§5.1.1 `claims` (Appendix B claims path pointers): checked for shape, not acted on."""
    if claims is None:
        return
    if not isinstance(claims, list) or not claims or len(claims) > MAX_CLAIMS:
        raise InvalidAuthorizationDetails(
            f"claims must be an array of 1 to {MAX_CLAIMS} claims descriptions"
        )
    for claim in claims:
        path = claim.get("path") if isinstance(claim, dict) else None
        if (
            not isinstance(path, list)
            or not path
            or not all(isinstance(part, str | int) or part is None for part in path)
        ):
            raise InvalidAuthorizationDetails("each claims description needs a path")


def configurations_for_scopes(scope: str | None) -> list[str]:
    """The credential configurations a `scope` value asks for (§5.1.2)."""
    asked = set((scope or "").split())
    return [c for c, s in oid4vci.SCOPES.items() if s in asked]


def granted_details(configuration_ids: list[str]) -> list[dict[str, Any]]:
    """§6.2 `authorization_details` of the token response: one entry per configuration, each
    with one credential identifier (eid holds one card per holder and format)."""
    return [
        {
            "type": DETAILS_TYPE,
            "credential_configuration_id": configuration_id,
            "credential_identifiers": [f"card-{secrets.token_urlsafe(12)}"],
        }
        for configuration_id in dict.fromkeys(configuration_ids)
    ]


def configuration_for_identifier(details: list[dict[str, Any]], identifier: str) -> str | None:
    for entry in details:
        if identifier in entry.get("credential_identifiers", []):
            configuration_id = entry.get("credential_configuration_id")
            return configuration_id if isinstance(configuration_id, str) else None
    return None


# ---------------------------------------------------------------- issuer_state


def offer_for_issuer_state(
    session: Session, issuer_state: str, configuration_ids: list[str], redirect_uri: str
) -> CredentialOffer:
    """The live offer an `issuer_state` came from (locked for this transaction), covering
    every configuration asked for; else `invalid_request`."""
    row = None
    if 0 < len(issuer_state) <= MAX_ISSUER_STATE_LENGTH:
        row = session.execute(
            select(CredentialOffer)
            .where(CredentialOffer.issuer_state_hash == hash_token(issuer_state))
            .with_for_update()
        ).scalar_one_or_none()
    if row is None or row.used_at is not None or row.expires_at < clock.now():
        raise InvalidRequestError(
            "issuer_state is unknown, used or expired", redirect_uri=redirect_uri
        )
    if not set(configuration_ids) <= set(row.configuration_ids):
        raise InvalidRequestError(
            "the credential offer does not include what is asked for", redirect_uri=redirect_uri
        )
    return row


def spend_offer(session: Session, offer: CredentialOffer, account_id: uuid.UUID) -> None:
    """The code is being issued to the offer's holder: the offer is over, both its grants."""
    offer.used_at = clock.now()
    audit.record(
        session,
        holder_actor(account_id),
        "wallet.offer_authorized",
        "account",
        account_id,
        details={"offer": str(offer.id), "configurations": list(offer.configuration_ids)},
    )
