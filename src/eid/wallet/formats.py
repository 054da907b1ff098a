"""The e-residence card in its two standard formats, for the holder app, OpenID4VCI and
OpenID4VP. Both are signed ES256 by eid's issuing certificate (`certs`: eid Root CA -> issuing
certificate), bound to a holder key, and listed in the status list.

API (each call issues one credential: it allocates a status-list slot, stores an
`IssuedCredential` row with its format and the holder key's thumbprint, and audits
`wallet.credential_issued` on the account; the account must be usable):

    issue_sd_jwt_vc(session, account_id, holder_jwk: dict) -> str
        SD-JWT VC (draft-ietf-oauth-sd-jwt-vc), the compact `<jwt>~<disclosure>~...~` form with
        no key-binding JWT. Header: typ `dc+sd-jwt`, alg ES256, kid, x5c [issuing cert] (root
        left out, HAIP). Payload: iss (issuer URL), vct (`{issuer}/credentials/types/
        residence-card/v1`), `vct#integrity`, iat/nbf/exp, cnf.jwk (the holder key: P-256 or
        Ed25519, public members only), status.status_list {idx, uri}, _sd_alg sha-256, _sd.
        Every claim of `CLAIMS` present on the account is selectively disclosable.

    issue_mdoc(session, account_id, holder_jwk: dict) -> bytes
        ISO/IEC 18013-5 IssuerSigned (CBOR; OpenID4VCI's `mso_mdoc` credential is its
        base64url), docType and name space `MDOC_DOCTYPE`, the same claims as elements (dates as
        full-date, tag 1004), MSO with deviceKeyInfo = the holder's P-256 key (a COSE_Key),
        validityInfo, and `status.status_list {idx, uri}`. Holder key: P-256 only.

    issue(session, account_id, holder_jwk, fmt=SD_JWT_VC, *, device_id=None) -> Issued
        Either of the above with the row's id and expiry (`Issued.credential` is str for
        SD-JWT VC, bytes for mdoc). `device_id`: the bound device the key belongs to (then
        rebinding another device revokes the credential); left None, the account's bound
        device at issuance is recorded when there is one.

    holder_key_problem(holder_jwk, fmt) -> str | None: why a key cannot hold `fmt`.

Both refuse (ValidationFailed, code HOLDER_KEY_UNSUPPORTED) a key they cannot bind. Validity:
until the residence card expires (the day after its expiry date), at most `MAX_VALIDITY`.
Verifiers pin the root (`GET /api/v1/wallet/issuer/root.pem`); issuer keys with their x5c are
at `/.well-known/jwt-vc-issuer`, the type metadata at the `vct` URL.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from joserfc.jwk import ECKey, OKPKey
from sqlalchemy.orm import Session

from eid.authority import service as authority
from eid.core import audit, clock
from eid.core.errors import ValidationFailed
from eid.identity.service import bound_device, holder_actor, require_usable
from eid.wallet import certs, mdoc, metadata, sdjwt, status
from eid.wallet.models import IssuedCredential

SD_JWT_VC = "dc+sd-jwt"
MSO_MDOC = "mso_mdoc"
FORMATS = (SD_JWT_VC, MSO_MDOC)
MDOC_DOCTYPE = metadata.MDOC_DOCTYPE
MAX_VALIDITY = dt.timedelta(days=365)
# The card's claims, all selectively disclosable, in both formats. No portrait, no biometrics:
# a verifier matches the person to the card by name and birth date against a passport.
CLAIMS = tuple(metadata.CLAIM_LABELS)


@dataclass(frozen=True)
class Issued:
    format: str
    credential: str | bytes
    credential_id: uuid.UUID
    expires_at: dt.datetime


def claim_values(account: Any) -> dict[str, Any]:
    values = {
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
    return {name: values[name] for name in CLAIMS if values.get(name) is not None}


def holder_key_problem(holder_jwk: dict[str, Any], fmt: str) -> str | None:
    if not isinstance(holder_jwk, dict) or "d" in holder_jwk:
        return "the holder key must be a public JWK"
    kty, crv = holder_jwk.get("kty"), holder_jwk.get("crv")
    try:
        if kty == "EC" and crv == "P-256":
            ECKey.import_key(
                {"kty": "EC", "crv": "P-256", "x": holder_jwk["x"], "y": holder_jwk["y"]}
            )
            return None
        if kty == "OKP" and crv == "Ed25519" and fmt == SD_JWT_VC:
            OKPKey.import_key({"kty": "OKP", "crv": "Ed25519", "x": holder_jwk["x"]})
            return None
    except (KeyError, ValueError, TypeError):
        return "the holder key cannot be read"
    if fmt == MSO_MDOC:
        return "an mdoc binds a P-256 key only"
    return "the holder key must be P-256 (ES256) or Ed25519"


def _public_members(holder_jwk: dict[str, Any]) -> dict[str, Any]:
    keep = ("kty", "crv", "x", "y")
    return {k: holder_jwk[k] for k in keep if k in holder_jwk}


def _thumbprint(jwk: dict[str, Any]) -> str:
    key = ECKey.import_key(jwk) if jwk["kty"] == "EC" else OKPKey.import_key(jwk)
    return str(key.thumbprint())


def issue(
    session: Session,
    account_id: uuid.UUID,
    holder_jwk: dict[str, Any],
    fmt: str = SD_JWT_VC,
    *,
    device_id: uuid.UUID | None = None,
) -> Issued:
    if fmt not in FORMATS:
        raise ValidationFailed(
            "unknown credential format %(format)s",
            code="FORMAT_UNSUPPORTED",
            params={"format": fmt},
        )
    problem = holder_key_problem(holder_jwk, fmt)
    if problem is not None:
        raise ValidationFailed(
            "this key cannot hold the card in this format",
            code="HOLDER_KEY_UNSUPPORTED",
            details={"problem": problem, "format": fmt},
        )
    account = authority.get_account(session, account_id)
    require_usable(account)
    if device_id is None:
        device = bound_device(session, account_id)
        device_id = device.id if device is not None else None
    jwk = _public_members(holder_jwk)
    now = clock.now().replace(microsecond=0)
    card_expiry = dt.datetime.fromisoformat(account.residence_card["expiry_date"]).replace(
        tzinfo=dt.UTC
    ) + dt.timedelta(days=1)
    expires = min(now + MAX_VALIDITY, card_expiry)
    signer = certs.signer(session)
    index = status.allocate_index(session)
    row = IssuedCredential(
        account_id=account_id,
        device_id=device_id,
        status_list=status.CURRENT_LIST,
        status_index=index,
        expires_at=expires,
        format=fmt,
        holder_jkt=_thumbprint(jwk),
        signer_kid=signer.kid,
    )
    session.add(row)
    session.flush()
    reference = {"status_list": {"idx": index, "uri": status.list_uri(status.CURRENT_LIST)}}
    values = claim_values(account)
    credential: str | bytes
    if fmt == SD_JWT_VC:
        credential = _sd_jwt_vc(values, jwk, signer, now, expires, reference)
        vct: str = metadata.vct()
    else:
        credential = mdoc.issuer_signed(
            doctype=MDOC_DOCTYPE,
            namespace=metadata.MDOC_NAMESPACE,
            claims=values,
            holder_jwk=jwk,
            signer=signer,
            signed=now,
            valid_until=expires,
            status=reference,
        )
        vct = MDOC_DOCTYPE
    audit.record(
        session,
        holder_actor(account_id),
        "wallet.credential_issued",
        "account",
        account_id,
        details={"credential_id": str(row.id), "vct": vct, "format": fmt, "kid": signer.kid},
    )
    return Issued(format=fmt, credential=credential, credential_id=row.id, expires_at=expires)


def _sd_jwt_vc(
    values: dict[str, Any],
    holder_jwk: dict[str, Any],
    signer: certs.Signer,
    now: dt.datetime,
    expires: dt.datetime,
    reference: dict[str, Any],
) -> str:
    disclosures = [sdjwt.make_disclosure(name, value) for name, value in values.items()]
    payload: dict[str, Any] = {
        "iss": metadata.issuer(),
        "vct": metadata.vct(),
        "vct#integrity": metadata.vct_integrity(),
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int(expires.timestamp()),
        "cnf": {"jwk": holder_jwk},
        "status": reference,
        "_sd_alg": sdjwt.SD_ALG,
        # Sorted digests: their order must not reveal which claim each one hides.
        "_sd": sorted(sdjwt.digest(d) for d in disclosures),
    }
    header = {"alg": certs.ALG, "typ": sdjwt.ISSUER_TYP, "kid": signer.kid, "x5c": signer.x5c}
    issuer_jwt = sdjwt.sign_jwt(header, payload, signer.jwk(), [certs.ALG])
    return sdjwt.compact(issuer_jwt, disclosures)


def issue_sd_jwt_vc(session: Session, account_id: uuid.UUID, holder_jwk: dict[str, Any]) -> str:
    issued = issue(session, account_id, holder_jwk, SD_JWT_VC)
    assert isinstance(issued.credential, str)
    return issued.credential


def issue_mdoc(session: Session, account_id: uuid.UUID, holder_jwk: dict[str, Any]) -> bytes:
    issued = issue(session, account_id, holder_jwk, MSO_MDOC)
    assert isinstance(issued.credential, bytes)
    return issued.credential
