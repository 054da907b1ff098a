"""OpenID for Verifiable Credential Issuance 1.0: eid as the card's credential issuer.

- Metadata (§12.2): `/.well-known/openid-credential-issuer`; eid's own OpenID provider is the
  authorization server (`authorization_servers`), so a wallet's token request goes to
  `/oauth2/token` (the pre-authorized code grant is `oid4vci_grant`).
- Offers (§4.1): the signed-in holder asks for one; it carries a pre-authorized code, redeemed
  with a 6-digit transaction code sent to the holder's verified phone (and e-mail). The offer is
  served by reference (`credential_offer_uri`) so the QR stays small. Only hashes are stored.
- Nonces (§7) and the credential endpoint (§8): a proof JWT (`openid4vci-proof+jwt`, ES256, the
  wallet's key in `jwk`, aud = the issuer, nonce = a fresh `c_nonce`, single use); the credential
  is bound to the proof's key; each issuance is audited; a locked account gets nothing.

The credential itself is made by `eid.wallet.formats` (ES256, x5c, mdoc) when that module
exists, else by `formats_adapter` over the card issuance of `service`.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import secrets
import uuid
import warnings
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import import_key
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from eid.authority import service as authority
from eid.core import audit, clock
from eid.core.audit import Actor
from eid.core.crypto import hash_token
from eid.core.settings import get_settings
from eid.i18n import N_, gettext
from eid.i18n import SUPPORTED as LANGUAGES
from eid.identity.dpop import PRIVATE_MEMBERS
from eid.identity.service import acr_for, holder_actor
from eid.wallet import formats_adapter
from eid.wallet.models import CredentialOffer, IssuanceNonce

PRE_AUTHORIZED_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
PROOF_TYP = "openid4vci-proof+jwt"
PROOF_ALGORITHMS = ["ES256"]
OFFER_TTL = dt.timedelta(minutes=10)
NONCE_TTL = dt.timedelta(minutes=5)
# Cards per credential request (§12.2.4 `batch_credential_issuance`): a wallet that shows a fresh
# card to each verifier, so that two verifiers cannot link the holder by the card or its key.
BATCH_SIZE = 10
TX_CODE_LENGTH = 6
TX_CODE_ATTEMPTS = 3
PROOF_WINDOW = 300  # seconds a proof's iat may lie in the past
PROOF_FUTURE_SKEW = 30
WALLET_CLIENT = "openid4vci-wallet"  # the token rows' client_id of an anonymous wallet

SD_JWT_CONFIGURATION = "eid_residence_card_dc_sd_jwt"
MDOC_CONFIGURATION = "eid_residence_card_mso_mdoc"
SCOPES = {SD_JWT_CONFIGURATION: "eid_residence_card", MDOC_CONFIGURATION: "eid_residence_card_mdoc"}
MDOC_DOCTYPE = "vn.gov.eid.residence_card.1"
MDOC_NAMESPACE = "vn.gov.eid.residence_card.1"

ISSUER_NAME = N_("Viet Nam e-ID for foreign residents")
CARD_NAME = N_("E-residence card of Viet Nam")
TX_CODE_DESCRIPTION = N_("Enter the 6-digit code sent to your phone or e-mail")
# Claim labels: the holder pages' own (`pages` catalogue), in every language.
CLAIM_LABELS = {
    "eid_number": "e-ID number",
    "full_name": "Full name",
    "birthdate": "Date of birth",
    "sex": "Sex",
    "nationality": "Nationality",
    "residence_card_number": "Residence card number",
    "residence_card_kind": "Card kind",
    "residence_card_expiry": "Expiry date",
    "passport_number": "Passport number",
}


def issuer() -> str:
    return get_settings().issuer.rstrip("/")


def credential_endpoint() -> str:
    return f"{issuer()}/oid4vci/credential"


def nonce_endpoint() -> str:
    return f"{issuer()}/oid4vci/nonce"


def _locales() -> list[str]:
    return list(LANGUAGES)


def _display(message: str, domain: str = "messages") -> list[dict[str, str]]:
    return [{"name": gettext(lang, message, domain=domain), "locale": lang} for lang in _locales()]


def configurations() -> dict[str, dict[str, Any]]:
    """§12.2.4 `credential_configurations_supported`: the card as SD-JWT VC, and as mdoc once
    the formats module can make one."""
    base = {
        "cryptographic_binding_methods_supported": ["jwk"],
        "credential_signing_alg_values_supported": formats_adapter.signing_algorithms(),
        "proof_types_supported": {"jwt": {"proof_signing_alg_values_supported": PROOF_ALGORITHMS}},
    }
    card_display = [
        {
            "name": gettext(lang, CARD_NAME),
            "locale": lang,
            "background_color": "#12355b",
            "text_color": "#ffffff",
        }
        for lang in _locales()
    ]
    found: dict[str, dict[str, Any]] = {
        SD_JWT_CONFIGURATION: {
            "format": "dc+sd-jwt",
            "scope": SCOPES[SD_JWT_CONFIGURATION],
            "vct": formats_adapter.vct(),
            **base,
            "credential_metadata": {
                "display": card_display,
                "claims": [
                    {"path": [name], "display": _display(label, "pages")}
                    for name, label in CLAIM_LABELS.items()
                ],
            },
        }
    }
    if formats_adapter.mdoc_available():
        doctype, namespace = formats_adapter.mdoc_names(MDOC_DOCTYPE, MDOC_NAMESPACE)
        found[MDOC_CONFIGURATION] = {
            "format": "mso_mdoc",
            "scope": SCOPES[MDOC_CONFIGURATION],
            "doctype": doctype,
            **base,
            # ISO/IEC 18013-5: COSE algorithm identifiers (-7 = ES256).
            "credential_signing_alg_values_supported": [-7],
            "credential_metadata": {
                "display": card_display,
                "claims": [
                    {"path": [namespace, name], "display": _display(label, "pages")}
                    for name, label in CLAIM_LABELS.items()
                ],
            },
        }
    return found


def issuer_metadata() -> dict[str, Any]:
    return {
        "credential_issuer": issuer(),
        "authorization_servers": [issuer()],
        "credential_endpoint": credential_endpoint(),
        "nonce_endpoint": nonce_endpoint(),
        "batch_credential_issuance": {"batch_size": BATCH_SIZE},
        "display": [{"name": gettext(lang, ISSUER_NAME), "locale": lang} for lang in _locales()],
        "credential_configurations_supported": configurations(),
    }


# ---------------------------------------------------------------- offers


@dataclass(frozen=True)
class Offer:
    offer_id: uuid.UUID
    credential_offer_uri: str
    deep_link: str  # openid-credential-offer://?credential_offer_uri=...
    expires_at: dt.datetime
    tx_code_sent_to: list[str]  # "sms", "email"
    # Only for the holder app acting as the wallet itself (same device): never put in the QR.
    pre_authorized_code: str | None = None
    tx_code: str | None = None
    issuer_state: str | None = None  # for_this_app with the authorization_code grant only


def create_offer(
    session: Session,
    account_id: uuid.UUID,
    *,
    configuration_ids: list[str],
    acr: str | None = None,
    for_this_app: bool = False,
    authorization_code: bool = False,
) -> Offer:
    """An offer of the holder's card. For another wallet (the QR), the transaction code goes to
    the holder's verified phone and e-mail only; for the app itself (`for_this_app`, the
    holder already signed in on this device) the app receives both codes directly.

    With `authorization_code`, the offer carries that grant too (§4.1.1), with an
    `issuer_state` that binds the wallet's authorization request to this offer and its holder
    (`oid4vci_authorization`); whichever grant is used first spends the offer."""
    account = authority.get_account(session, account_id)
    if not account.usable:
        raise OfferRefused("the account cannot be used")
    available = configurations()
    unknown = [c for c in configuration_ids if c not in available]
    if unknown or not configuration_ids:
        raise OfferRefused("unknown credential configuration")
    uri_token = secrets.token_urlsafe(24)
    code = secrets.token_urlsafe(32)
    tx_code = f"{secrets.randbelow(10**TX_CODE_LENGTH):0{TX_CODE_LENGTH}d}"
    issuer_state = secrets.token_urlsafe(32) if authorization_code else None
    expires = clock.now() + OFFER_TTL
    row = CredentialOffer(
        account_id=account_id,
        configuration_ids=list(dict.fromkeys(configuration_ids)),
        uri_token_hash=hash_token(uri_token),
        code_hash=hash_token(code),
        tx_code_hash=hash_token(tx_code),
        issuer_state_hash=hash_token(issuer_state) if issuer_state else None,
        acr=acr or acr_for(account),
        attempts=0,
        expires_at=expires,
    )
    session.add(row)
    session.flush()
    sent: list[str] = []
    if not for_this_app:
        from eid.notify.service import notify

        channels = {"sms": account.phone, "email": account.email}
        sent = [name for name, address in channels.items() if address]
        # The job carries the notification's id only; the code travels sealed in its row.
        notify(
            session,
            recipient_type="account",
            recipient_id=account_id,
            channels=channels,
            language=account.language,
            template="wallet_offer_tx_code",
            params={"otp": tx_code},
            key=f"wallet-offer-tx-code:{row.id}",
            secret_expires_at=expires,
        )
    audit.record(
        session,
        holder_actor(account_id),
        "wallet.offer_made",
        "account",
        account_id,
        details={
            "offer": str(row.id),
            "configurations": row.configuration_ids,
            "authorization_code": authorization_code,
        },
    )
    uri = f"{issuer()}/oid4vci/offers/{uri_token}"
    return Offer(
        offer_id=row.id,
        credential_offer_uri=uri,
        deep_link="openid-credential-offer://?credential_offer_uri=" + quote(uri, safe=""),
        expires_at=expires,
        tx_code_sent_to=sent,
        pre_authorized_code=code if for_this_app else None,
        tx_code=tx_code if for_this_app else None,
        issuer_state=issuer_state if for_this_app else None,
    )


class OfferRefused(Exception):
    pass


def offer_document(session: Session, uri_token: str, language: str) -> dict[str, Any] | None:
    """§4.1.1 the Credential Offer behind `credential_offer_uri`; None for an unknown, expired
    or redeemed offer. The pre-authorized code is in it: a fetch is single-use-ish (the first
    fetch is recorded; the code is useless without the transaction code, which the fetcher
    does not have unless it is the holder)."""
    row = session.execute(
        select(CredentialOffer)
        .where(CredentialOffer.uri_token_hash == hash_token(uri_token))
        .with_for_update()
    ).scalar_one_or_none()
    now = clock.now()
    if row is None or row.used_at is not None or row.expires_at < now or row.fetched_at:
        return None
    row.fetched_at = now
    # The code itself is not stored: it is rebuilt nowhere, so the offer is made again here with
    # a fresh code for this one fetch (and a fresh issuer_state, if it has that grant).
    code = secrets.token_urlsafe(32)
    row.code_hash = hash_token(code)
    issuer_state = None
    if row.issuer_state_hash is not None:
        issuer_state = secrets.token_urlsafe(32)
        row.issuer_state_hash = hash_token(issuer_state)
    return offer_json(row.configuration_ids, code, language, issuer_state)


def offer_json(
    configuration_ids: list[str], code: str, language: str, issuer_state: str | None = None
) -> dict[str, Any]:
    grants: dict[str, Any] = {}
    if issuer_state is not None:
        # §4.1.1: eid is its own authorization server, so no `authorization_server` member.
        grants["authorization_code"] = {"issuer_state": issuer_state}
    return {
        "credential_issuer": issuer(),
        "credential_configuration_ids": configuration_ids,
        "grants": {
            **grants,
            PRE_AUTHORIZED_GRANT: {
                "pre-authorized_code": code,
                "tx_code": {
                    "input_mode": "numeric",
                    "length": TX_CODE_LENGTH,
                    "description": gettext(language, TX_CODE_DESCRIPTION),
                },
            },
        },
    }


class GrantRefused(Exception):
    """`invalid_grant` (or `invalid_request` for a missing tx_code) at the token endpoint."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


@dataclass(frozen=True)
class Redeemed:
    account_id: uuid.UUID
    scope: str
    acr: str
    code_hash: str
    configuration_ids: list[str]


def redeem(session: Session, code: str, tx_code: str | None) -> Redeemed:
    """§6.1: the pre-authorized code with its transaction code, once, within the offer's life;
    `TX_CODE_ATTEMPTS` wrong codes end the offer. The attempt count is written even when the
    request is refused (the token endpoint's transaction commits its error answers)."""
    row = session.execute(
        select(CredentialOffer)
        .where(CredentialOffer.code_hash == hash_token(code))
        .with_for_update()
    ).scalar_one_or_none()
    now = clock.now()
    if row is None or row.used_at is not None or row.expires_at < now:
        raise GrantRefused("invalid_grant", "the pre-authorized code is not valid")
    if row.attempts >= TX_CODE_ATTEMPTS:
        raise GrantRefused("invalid_grant", "too many wrong transaction codes")
    if not tx_code:
        raise GrantRefused("invalid_request", "tx_code is required")
    if not hmac.compare_digest(hash_token(tx_code), row.tx_code_hash):
        row.attempts += 1
        if row.attempts >= TX_CODE_ATTEMPTS:
            row.used_at = now  # spent: the holder asks for a new offer
        raise GrantRefused("invalid_grant", "the transaction code is wrong")
    account = authority.get_account(session, row.account_id)
    if not account.usable:
        audit.record(
            session,
            Actor(kind="client", id=WALLET_CLIENT, role="wallet"),
            "wallet.offer_refused_unusable_account",
            "account",
            row.account_id,
        )
        raise GrantRefused("invalid_grant", "the pre-authorized code is not valid")
    row.used_at = now
    return Redeemed(
        account_id=row.account_id,
        scope=" ".join(SCOPES[c] for c in row.configuration_ids if c in SCOPES),
        acr=row.acr,
        code_hash=row.code_hash,
        configuration_ids=list(row.configuration_ids),
    )


# ---------------------------------------------------------------- nonces


def new_nonce(session: Session) -> str:
    nonce = secrets.token_urlsafe(24)
    session.add(IssuanceNonce(nonce=nonce, expires_at=clock.now() + NONCE_TTL))
    session.flush()
    return nonce


def spend_nonce(session: Session, nonce: object) -> bool:
    if not isinstance(nonce, str) or not nonce or len(nonce) > 64:
        return False
    now = clock.now()
    spent = session.execute(
        update(IssuanceNonce)
        .where(
            IssuanceNonce.nonce == nonce,
            IssuanceNonce.used_at.is_(None),
            IssuanceNonce.expires_at >= now,
        )
        .values(used_at=now)
        .returning(IssuanceNonce.nonce)
    ).first()
    return spent is not None


# ---------------------------------------------------------------- credential endpoint


class CredentialError(Exception):
    """§8.3.1.2: an error response of the credential endpoint (400 unless told)."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


def _check_proof(proof: object) -> tuple[dict[str, Any], object]:
    """Appendix F.1 / §8.2.1.1: one proof's public JWK and the nonce it carries (not spent
    here: a batch spends its one nonce once), or `CredentialError` (invalid_proof)."""
    if not isinstance(proof, str) or len(proof) > 8000:
        raise CredentialError("invalid_proof", "the proof must be a compact JWT")
    try:
        header = jws.extract_compact(proof.encode("ascii")).headers()
    except (JoseError, ValueError, UnicodeEncodeError) as error:
        raise CredentialError("invalid_proof", "the proof is not a JWS") from error
    if header.get("typ") != PROOF_TYP:
        raise CredentialError("invalid_proof", f"typ must be {PROOF_TYP}")
    if header.get("alg") not in PROOF_ALGORITHMS:
        raise CredentialError("invalid_proof", f"alg must be one of {PROOF_ALGORITHMS}")
    jwk = header.get("jwk")
    if not isinstance(jwk, dict) or PRIVATE_MEMBERS & set(jwk) or "kid" in header:
        raise CredentialError("invalid_proof", "the key must be given as a public jwk")
    try:
        key = import_key(jwk)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            verified = jws.deserialize_compact(proof, key, algorithms=PROOF_ALGORITHMS)
        claims = json.loads(verified.payload)
    except (JoseError, ValueError, TypeError) as error:
        raise CredentialError("invalid_proof", "the proof's signature does not verify") from error
    if not isinstance(claims, dict):
        raise CredentialError("invalid_proof", "the proof has no claims")
    aud = claims.get("aud")
    if aud != issuer() and not (isinstance(aud, list) and issuer() in aud):
        raise CredentialError("invalid_proof", "aud must be the credential issuer")
    iat = claims.get("iat")
    now = int(clock.now().timestamp())
    if not isinstance(iat, int) or not now - PROOF_WINDOW <= iat <= now + PROOF_FUTURE_SKEW:
        raise CredentialError("invalid_proof", "iat is outside the accepted window")
    public: dict[str, Any] = key.as_dict(private=False)
    return {k: v for k, v in public.items() if k in ("kty", "crv", "x", "y")}, claims.get("nonce")


@dataclass(frozen=True)
class AccessGrant:
    account_id: uuid.UUID
    scope: str
    client_id: str
    # §6.2: the token response's `authorization_details` (with `credential_identifiers`); None
    # for a token granted by scope or by a pre-authorized code.
    authorization_details: list[dict[str, Any]] | None = None


def granted_authorization_details(
    session: Session, origin_code_hash: str | None
) -> list[dict[str, Any]] | None:
    """The `authorization_details` of the authorization code a token was bought with."""
    from eid.identity.models import AuthorizationCode

    if origin_code_hash is None:
        return None
    return session.execute(
        select(AuthorizationCode.authorization_details).where(
            AuthorizationCode.code_hash == origin_code_hash
        )
    ).scalar_one_or_none()


def _requested_configuration(grant: AccessGrant, body: dict[str, Any]) -> str:
    """§8.2: `credential_identifier` when the token response named credential identifiers
    (authorization_details), `credential_configuration_id` otherwise; never the other one."""
    if "credential_identifier" in body and "credential_configuration_id" in body:
        raise CredentialError(
            "invalid_credential_request",
            "send credential_identifier or credential_configuration_id, not both",
        )
    if grant.authorization_details is not None:
        if "credential_configuration_id" in body:
            raise CredentialError(
                "invalid_credential_request",
                "this access token came with credential_identifiers: send credential_identifier",
            )
        identifier = body.get("credential_identifier")
        if not isinstance(identifier, str):
            raise CredentialError("invalid_credential_request", "credential_identifier is required")
        from eid.wallet.oid4vci_authorization import configuration_for_identifier

        found = configuration_for_identifier(grant.authorization_details, identifier)
        if found is None or found not in configurations():
            raise CredentialError("unknown_credential_identifier", "unknown credential_identifier")
        return found
    if "credential_identifier" in body:
        raise CredentialError(
            "invalid_credential_request",
            "this access token came with no credential_identifiers: "
            "send credential_configuration_id",
        )
    configuration_id = body.get("credential_configuration_id")
    if not isinstance(configuration_id, str) or configuration_id not in configurations():
        raise CredentialError(
            "unknown_credential_configuration", "unknown credential_configuration_id"
        )
    if SCOPES[configuration_id] not in grant.scope.split():
        raise CredentialError(
            "invalid_credential_request", "the access token does not cover this credential"
        )
    return configuration_id


def issue_credential(session: Session, grant: AccessGrant, body: object) -> dict[str, Any]:
    """§8.2 request → §8.3 response: one credential per proof (a batch of up to BATCH_SIZE)."""
    if not isinstance(body, dict):
        raise CredentialError("invalid_credential_request", "the body must be a JSON object")
    configuration_id = _requested_configuration(grant, body)
    proofs = body.get("proofs")
    if "proof" in body:
        raise CredentialError("invalid_credential_request", "send proofs, not proof")
    if not isinstance(proofs, dict) or set(proofs) != {"jwt"}:
        raise CredentialError("invalid_proof", "proofs.jwt is required")
    jwts = proofs["jwt"]
    if not isinstance(jwts, list) or not 1 <= len(jwts) <= BATCH_SIZE:
        raise CredentialError("invalid_proof", f"send 1 to {BATCH_SIZE} proofs")
    holder_jwks = _batch_keys(session, jwts)
    account = authority.get_account(session, grant.account_id)
    if not account.usable:
        audit.record(
            session,
            Actor(kind="client", id=grant.client_id, role="wallet"),
            "wallet.oid4vci_refused_unusable_account",
            "account",
            account.id,
            details={"status": account.status},
        )
        raise CredentialError("credential_request_denied", "the account cannot be used")
    issue = (
        formats_adapter.issue_mdoc
        if configuration_id == MDOC_CONFIGURATION
        else formats_adapter.issue_sd_jwt_vc
    )
    # One card per key, each with its own status slot: a verifier cannot link two of them.
    credentials = [issue(session, account.id, holder_jwk) for holder_jwk in holder_jwks]
    audit.record(
        session,
        holder_actor(account.id),
        "wallet.oid4vci_issued",
        "account",
        account.id,
        details={
            "configuration": configuration_id,
            "wallet": grant.client_id,
            "holder_jkts": [str(import_key(jwk).thumbprint()) for jwk in holder_jwks],
        },
    )
    return {"credentials": [{"credential": credential} for credential in credentials]}


def _batch_keys(session: Session, jwts: list[object]) -> list[dict[str, Any]]:
    """§8.2, batch issuance: every proof carries the one nonce the wallet was given (spent
    once, for the whole request), each for a key of its own."""
    checked = [_check_proof(jwt) for jwt in jwts]
    nonces = {nonce if isinstance(nonce, str) else None for _, nonce in checked}
    if len(nonces) != 1 or not spend_nonce(session, nonces.pop()):
        raise CredentialError("invalid_nonce", "the proofs' nonce is missing, used or expired")
    keys = [jwk for jwk, _ in checked]
    if len({str(import_key(jwk).thumbprint()) for jwk in keys}) != len(keys):
        raise CredentialError("invalid_proof", "each proof must be for a key of its own")
    return keys
