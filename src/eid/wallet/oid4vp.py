"""OpenID for Verifiable Presentations 1.0 verifier, run by eid for registered relying parties.

A relying party (authenticated as at the token endpoint: client secret or private_key_jwt)
asks for a presentation with a DCQL query (§6), built from a preset or its own, limited to the
claims of the scopes in its written agreement. eid answers with a request id, the wallet URL
`openid4vp://?client_id=…&request_uri=…` (by reference, so the QR stays small) and a verifier
page. The wallet fetches the request object (a JWT, typ `oauth-authz-req+jwt`, ES256, `x5c`,
client identifier prefix `x509_hash:`, see oid4vp_keys) once, and posts its `vp_token` to the
response URI (`direct_post`, §8.2). eid checks each presentation: the issuer's signature (eid's
issuer key, or an `x5c` chain to a trusted eid root), expiry, status (suspended or revoked are
refused), the key binding JWT (sd_hash, nonce = the request's nonce, aud = client_id, iat
window) and that the disclosures satisfy the query; it keeps only the asked claims that were
disclosed, for the relying party to collect once, within `RESULT_TTL`. The card may also be
asked for and presented as an ISO/IEC 18013-5 mdoc (`mso_mdoc`, Appendix B.2: a DeviceResponse
checked by `oid4vp_mdoc`), or as either format through DCQL `credential_sets`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwe, jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, OKPKey
from joserfc.jws import JWSRegistry
from sqlalchemy import select
from sqlalchemy.orm import Session

from eid.core import audit, clock
from eid.core.audit import Actor
from eid.core.errors import EidError, NotFound, ValidationFailed
from eid.core.settings import get_settings
from eid.i18n import N_
from eid.identity import consents
from eid.identity.claims import SCOPE_CLAIMS
from eid.identity.models import RelyingParty
from eid.identity.service import holder_actor
from eid.wallet import certs, keys, metadata, oid4vp_keys, oid4vp_mdoc, sdjwt, service
from eid.wallet.models import IssuedCredential
from eid.wallet.oid4vp_models import PresentationRequest
from eid.wallet.verification import local_status
from eid.wallet.verifier import PresentationRefused, verify_presentation

FORMAT_SD_JWT = "dc+sd-jwt"
FORMAT_MDOC = "mso_mdoc"
FORMAT_EITHER = "either"  # a preset's credential_sets: the SD-JWT VC or the mdoc, wallet's pick
CREDENTIAL_FORMATS = (FORMAT_SD_JWT, FORMAT_MDOC, FORMAT_EITHER)
CREDENTIAL_ID = "residence_card"
MDOC_CREDENTIAL_ID = "residence_card_mdoc"
REQUEST_TTL = dt.timedelta(minutes=5)
RESULT_TTL = dt.timedelta(minutes=10)
REQUEST_TYP = "oauth-authz-req+jwt"
# §5.8 static discovery: a request object for a wallet whose metadata we do not know.
STATIC_AUDIENCE = "https://self-issued.me/v2"
MAX_VP_TOKEN = 64 * 1024
RESPONSE_MODES = ["direct_post", "direct_post.jwt"]
PRESENTATION_CHANNEL = "presentation"  # in the holder's access history, beside "userinfo"

# Which scope of the relying party's agreement lets it ask for each card claim.
CLAIM_SCOPES: dict[str, str] = {
    "full_name": "ekyc_basic",
    "birthdate": "ekyc_basic",
    "nationality": "ekyc_basic",
    "sex": "ekyc_basic",
    "eid_number": "ekyc_basic",
    "residence_card_number": "residence",
    "residence_card_kind": "residence",
    "residence_card_expiry": "residence",
    "passport_number": "residence",
}
assert set(CLAIM_SCOPES) == set(service.DISCLOSABLE)
assert set(CLAIM_SCOPES.values()) <= set(SCOPE_CLAIMS)


@dataclass(frozen=True)
class Preset:
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()


PRESETS: dict[str, Preset] = {
    # A landlord: who the tenant is and that the residence card holds; nationality if they agree.
    "landlord": Preset(("full_name", "residence_card_expiry"), ("nationality",)),
    # A bank's eKYC: the full identity and card; sex and passport number if the holder agrees.
    "bank_ekyc": Preset(
        (
            "full_name",
            "birthdate",
            "nationality",
            "eid_number",
            "residence_card_number",
            "residence_card_kind",
            "residence_card_expiry",
        ),
        ("sex", "passport_number"),
    ),
}


def accepted_vcts() -> list[str]:
    """The card's https `vct` (type metadata), and the URN of the cards issued before."""
    return [metadata.vct(), service.LEGACY_VCT]


def _issuer() -> str:
    return get_settings().issuer.rstrip("/")


def response_uri() -> str:
    return f"{_issuer()}/oid4vp/response"


def request_uri(handle: str) -> str:
    return f"{_issuer()}/oid4vp/request/{handle}"


def page_url(request_id: str) -> str:
    return f"{_issuer()}/verify/{request_id}"


def wallet_url(handle: str) -> str:
    """By reference (§5.10), ':' and '/' left as they are (RFC 3986 allows them in a query):
    about 150 characters, a version 8 QR at error correction M."""
    params = {"client_id": oid4vp_keys.client_id(), "request_uri": request_uri(handle)}
    return f"openid4vp://?{urlencode(params, safe=':/')}"


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# -- DCQL (§6) ----------------------------------------------------------------------------------


def _credential_query(
    fmt: str, required: tuple[str, ...], optional: tuple[str, ...]
) -> dict[str, Any]:
    names = (*required, *optional)
    if fmt == FORMAT_MDOC:
        query: dict[str, Any] = {
            "id": MDOC_CREDENTIAL_ID,
            "format": FORMAT_MDOC,
            "meta": {"doctype_value": metadata.MDOC_DOCTYPE},
            # Appendix B.2: path = [name space, element identifier]. No intent_to_retain: whether
            # the relying party keeps what it collects is its agreement's business, not ours.
            "claims": [{"id": n, "path": [metadata.MDOC_NAMESPACE, n]} for n in names],
        }
    else:
        query = {
            "id": CREDENTIAL_ID,
            "format": FORMAT_SD_JWT,
            "meta": {"vct_values": accepted_vcts()},
            "claims": [{"id": name, "path": [name]} for name in names],
        }
    if optional:
        query["claim_sets"] = [[*required, *optional], list(required)]
    return query


def dcql_for(
    required: tuple[str, ...], optional: tuple[str, ...] = (), fmt: str = FORMAT_SD_JWT
) -> dict[str, Any]:
    """One residence card; `claim_sets` (§6.4.1) say the optional claims may be left out: the
    wallet takes the first set the holder agrees to. `fmt` either: both queries and one
    `credential_sets` entry (§6.2) whose options are the SD-JWT VC or the mdoc."""
    if fmt != FORMAT_EITHER:
        return {"credentials": [_credential_query(fmt, required, optional)]}
    return {
        "credentials": [
            _credential_query(FORMAT_SD_JWT, required, optional),
            _credential_query(FORMAT_MDOC, required, optional),
        ],
        "credential_sets": [{"options": [[CREDENTIAL_ID], [MDOC_CREDENTIAL_ID]]}],
    }


_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _bad_query(message: str, **details: object) -> ValidationFailed:
    return ValidationFailed(message, code="DCQL_INVALID", details=details)


def _check_meta(cq: dict[str, Any]) -> None:
    meta = cq.get("meta") or {}
    if cq.get("format") == FORMAT_MDOC:
        if meta.get("doctype_value") != metadata.MDOC_DOCTYPE or set(meta) != {"doctype_value"}:
            raise _bad_query(
                N_("meta.doctype_value must name the residence card"),
                doctype=metadata.MDOC_DOCTYPE,
            )
        return
    vcts = meta.get("vct_values")
    if not isinstance(vcts, list) or not vcts or set(vcts) - set(accepted_vcts()):
        raise _bad_query(N_("meta.vct_values must name the residence card"), vct=accepted_vcts())


def _claim_name(cq: dict[str, Any], claim: Any) -> str:
    """A claim's name: `[name]` in an SD-JWT VC, `[name space, name]` in the mdoc (Appendix B.2)."""
    path = claim.get("path") if isinstance(claim, dict) else None
    mdoc = cq.get("format") == FORMAT_MDOC
    width = 2 if mdoc else 1
    if not (
        isinstance(path, list) and len(path) == width and all(isinstance(p, str) for p in path)
    ):
        raise _bad_query(N_("a claim path must be one claim name"))
    if mdoc and path[0] != metadata.MDOC_NAMESPACE:
        raise _bad_query(N_("a claim path must be one claim name"), namespace=path[0])
    extra = set(claim) - {"id", "path"} - ({"intent_to_retain"} if mdoc else set())
    if extra or not isinstance(claim.get("intent_to_retain", False), bool):
        raise _bad_query(N_("value matching is not supported"), claim=path[-1])
    return str(path[-1])


def _check_credential_sets(sets: Any, ids: set[str]) -> None:
    if sets is None:
        return
    if not isinstance(sets, list) or not sets:
        raise _bad_query(N_("credential_sets must list sets of credential query ids"))
    for entry in sets:
        options = entry.get("options") if isinstance(entry, dict) else None
        if (
            not isinstance(options, list)
            or not options
            or set(entry) - {"options", "required"}
            or not isinstance(entry.get("required", True), bool)
            or not all(isinstance(o, list) and o and set(o) <= ids for o in options)
        ):
            raise _bad_query(N_("credential_sets must list sets of credential query ids"))


def check_dcql(query: Any, allowed_claims: set[str]) -> dict[str, Any]:
    """Accept the DCQL subset this verifier answers: residence-card queries in `dc+sd-jwt` or
    `mso_mdoc`, claims by name (an mdoc's under the card's name space), optional `claim_sets`
    and `credential_sets`; every claim within the agreement."""
    if not isinstance(query, dict) or set(query) - {"credentials", "credential_sets"}:
        raise _bad_query(
            N_("the query must be an object with credentials and, optionally, credential_sets")
        )
    credentials = query.get("credentials")
    if not isinstance(credentials, list) or not 1 <= len(credentials) <= 4:
        raise _bad_query(N_("credentials must list one to four credential queries"))
    seen: set[str] = set()
    for cq in credentials:
        if not isinstance(cq, dict) or not _ID.match(str(cq.get("id", ""))):
            raise _bad_query(N_("each credential query needs an id of letters, digits, _ or -"))
        if cq["id"] in seen:
            raise _bad_query(N_("credential query ids must be unique"))
        seen.add(cq["id"])
        unknown = set(cq) - {"id", "format", "meta", "claims", "claim_sets", "multiple"}
        if unknown:
            raise _bad_query(N_("unsupported credential query members"), members=sorted(unknown))
        if cq.get("format") not in (FORMAT_SD_JWT, FORMAT_MDOC):
            raise _bad_query(
                N_("only the dc+sd-jwt and mso_mdoc formats are supported"),
                format=cq.get("format"),
            )
        if cq.get("multiple", False) is not False:
            raise _bad_query(N_("multiple is not supported"))
        _check_meta(cq)
        claims = cq.get("claims")
        if not isinstance(claims, list) or not claims:
            raise _bad_query(N_("claims must list at least one claim (data minimisation)"))
        ids: dict[str, str] = {}
        for claim in claims:
            name = _claim_name(cq, claim)
            if name not in CLAIM_SCOPES:
                raise _bad_query(N_("unknown claim"), claim=name, known=list(CLAIM_SCOPES))
            if name not in allowed_claims:
                raise ValidationFailed(
                    "the claim %(claim)s is outside the relying party's agreement",
                    code="CLAIM_NOT_AGREED",
                    params={"claim": name},
                )
            if "id" in claim:
                ids[str(claim["id"])] = name
        sets = cq.get("claim_sets")
        if sets is not None and (
            not isinstance(sets, list)
            or not sets
            or not all(isinstance(s, list) and s and set(s) <= set(ids) for s in sets)
        ):
            raise _bad_query(N_("claim_sets must list sets of claim ids"))
    _check_credential_sets(query.get("credential_sets"), seen)
    checked: dict[str, Any] = {"credentials": credentials}
    if query.get("credential_sets") is not None:
        checked["credential_sets"] = query["credential_sets"]
    return checked


def _claim_names(cq: dict[str, Any]) -> list[str]:
    return [str(c["path"][-1]) for c in cq["claims"]]


def _claim_sets(cq: dict[str, Any]) -> list[set[str]]:
    names = {str(c.get("id")): str(c["path"][-1]) for c in cq["claims"] if "id" in c}
    sets = cq.get("claim_sets")
    if not sets:
        return [set(_claim_names(cq))]
    return [{names[i] for i in s} for s in sets]


def allowed_claims(client: RelyingParty) -> set[str]:
    return {name for name, scope in CLAIM_SCOPES.items() if scope in client.scopes}


# -- the relying party's request ----------------------------------------------------------------


@dataclass(frozen=True)
class CreatedRequest:
    id: str
    wallet_url: str
    request_uri: str
    page_url: str
    expires_at: dt.datetime
    dcql_query: dict[str, Any]


def create_request(
    db: Session,
    client: RelyingParty,
    *,
    preset: str | None = None,
    dcql_query: Any = None,
    redirect_uri: str | None = None,
    response_mode: str | None = None,
    credential_format: str | None = None,
) -> CreatedRequest:
    """`credential_format` (with a preset): `dc+sd-jwt` (the default), `mso_mdoc`, or
    `either` (the wallet presents whichever it holds)."""
    if (preset is None) == (dcql_query is None):
        raise ValidationFailed("give either a preset or a dcql_query", code="DCQL_INVALID")
    if credential_format is not None and (
        preset is None or credential_format not in CREDENTIAL_FORMATS
    ):
        raise ValidationFailed(
            "credential_format goes with a preset: dc+sd-jwt, mso_mdoc or either",
            code="CREDENTIAL_FORMAT_INVALID",
            details={"supported": list(CREDENTIAL_FORMATS)},
        )
    if preset is not None:
        chosen = PRESETS.get(preset)
        if chosen is None:
            raise ValidationFailed(
                "unknown preset", code="PRESET_UNKNOWN", details={"presets": list(PRESETS)}
            )
        fmt = credential_format or FORMAT_SD_JWT
        dcql_query = dcql_for(chosen.required, chosen.optional, fmt)
    query = check_dcql(dcql_query, allowed_claims(client))
    if redirect_uri is not None and redirect_uri not in client.redirect_uris:
        raise ValidationFailed(
            "redirect_uri must be one the relying party registered", code="REDIRECT_URI_INVALID"
        )
    response_mode = response_mode or "direct_post"
    if response_mode not in RESPONSE_MODES:
        raise ValidationFailed(
            "unknown response_mode",
            code="RESPONSE_MODE_INVALID",
            details={"supported": RESPONSE_MODES},
        )
    row = PresentationRequest(
        id=secrets.token_urlsafe(24),
        response_mode=response_mode,
        handle=secrets.token_urlsafe(16),  # 128 bits, for minutes, once: and a smaller QR
        client_id=client.client_id,
        dcql_query=query,
        nonce=secrets.token_urlsafe(24),
        state=secrets.token_urlsafe(24),
        redirect_uri=redirect_uri,
        status="pending",
        expires_at=clock.now() + REQUEST_TTL,
    )
    db.add(row)
    db.flush()
    audit.record(
        db,
        Actor(kind="client", id=client.client_id, role="verifier"),
        "oid4vp.request_created",
        "oid4vp_request",
        row.id,
        details={"claims": sorted({n for cq in query["credentials"] for n in _claim_names(cq)})},
    )
    return CreatedRequest(
        id=row.id,
        wallet_url=wallet_url(row.handle),
        request_uri=request_uri(row.handle),
        page_url=page_url(row.id),
        expires_at=row.expires_at,
        dcql_query=query,
    )


class RequestUnavailable(EidError):
    code = "REQUEST_UNAVAILABLE"
    status = 404


def vp_formats_supported() -> dict[str, Any]:
    algs = ["ES256", "EdDSA"]
    return {
        FORMAT_SD_JWT: {"sd-jwt_alg_values": algs, "kb-jwt_alg_values": algs},
        # Appendix B.2: COSE algorithm identifiers (-7 = ES256).
        FORMAT_MDOC: {
            "issuerauth_alg_values": [oid4vp_mdoc.COSE_ES256],
            "deviceauth_alg_values": [oid4vp_mdoc.COSE_ES256],
        },
    }


def request_object(db: Session, handle: str) -> str:
    """The signed request (RFC 9101, §5): served once, within its lifetime."""
    row = db.execute(
        select(PresentationRequest).where(PresentationRequest.handle == handle).with_for_update()
    ).scalar_one_or_none()
    now = clock.now()
    if row is None or row.fetched_at is not None or row.expires_at < now:
        raise RequestUnavailable("unknown, used or expired request")
    row.fetched_at = now
    row.status = "fetched"
    client = db.get(RelyingParty, row.client_id)
    assert client is not None
    metadata: dict[str, Any] = {
        "vp_formats_supported": vp_formats_supported(),
        "client_name": client.name,
    }
    if row.response_mode == "direct_post.jwt":
        metadata["jwks"] = {"keys": [oid4vp_keys.encryption_jwk()]}
        metadata["encrypted_response_enc_values_supported"] = oid4vp_keys.ENC_VALUES
    payload: dict[str, Any] = {
        "aud": STATIC_AUDIENCE,
        "iat": int(now.timestamp()),
        "exp": int(row.expires_at.timestamp()),
        "client_id": oid4vp_keys.client_id(),
        "response_type": "vp_token",
        "response_mode": row.response_mode,
        "response_uri": response_uri(),
        "nonce": row.nonce,
        "state": row.state,
        "dcql_query": row.dcql_query,
        "client_metadata": metadata,
        # Whom eid verifies for: shown to the holder before anything is shared.
        "eid_relying_party": {
            "client_id": client.client_id,
            "name": client.name,
            "purpose": client.purpose,
        },
    }
    header = {"alg": "ES256", "typ": REQUEST_TYP, "x5c": oid4vp_keys.x5c()}
    return sdjwt.sign_jwt(header, payload, oid4vp_keys.signing_key(), ["ES256"])


# -- verifying a presentation -------------------------------------------------------------------


class X5cRegistry(JWSRegistry):
    """joserfc's default caps a JWS header at 512 bytes; an `x5c` chain is a few kilobytes."""

    max_header_length = 8192


def _verify_jws(
    token: str, key: OKPKey | ECKey, algorithms: list[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        obj = jws.deserialize_compact(
            token, key, algorithms=algorithms, registry=X5cRegistry(algorithms=algorithms)
        )
        return dict(obj.headers()), json.loads(obj.payload)
    except (JoseError, ValueError) as exc:
        raise PresentationRefused(
            "a signature does not verify: %(problem)s",
            code="SIGNATURE_INVALID",
            params={"problem": type(exc).__name__},
        ) from None


@dataclass
class Presented:
    claims: dict[str, Any]
    disclosed: list[str]
    status_uri: str
    status_index: int
    extra: list[str] = field(default_factory=list)


def verify_sd_jwt(
    db: Session, presentation: str, *, audience: str, nonce: str, vcts: list[str]
) -> Presented:
    """Either card eid issues, by the wallet's own verifier (`verifier.verify_presentation`):
    ES256 with an `x5c` chain to eid's Root CA (its `iss` named by the issuing certificate), or
    the EdDSA cards issued before under the issuer JWKS key; then the type asked for."""
    card = verify_presentation(
        presentation,
        issuer_key=keys.issuer_keys(),
        root=certs.root_certificate(db),
        crl=certs.current_crl(db),
        audience=audience,
        nonce=nonce,
        status_lookup=local_status(db),
    )
    if card.claims.get("vct") not in vcts:
        raise PresentationRefused("not the credential type asked for", code="CREDENTIAL_TYPE")
    reference = (card.claims.get("status") or {}).get("status_list") or {}
    return Presented(
        claims=card.claims,
        disclosed=card.disclosed,
        status_uri=str(reference.get("uri")),
        status_index=int(reference.get("idx", -1)),
    )


# -- the response endpoint (§8.2) ---------------------------------------------------------------


class ResponseError(Exception):
    """An error the response endpoint answers in the OAuth shape (§8.5)."""

    def __init__(self, error: str, description: str, status_code: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status_code = status_code


def _account_of(db: Session, uri: str, index: int) -> Any:
    name = uri.rsplit("/", 1)[-1]
    return db.execute(
        select(IssuedCredential.account_id).where(
            IssuedCredential.status_list == name, IssuedCredential.status_index == index
        )
    ).scalar_one_or_none()


def _parse_vp_token(raw: str) -> dict[str, list[str]]:
    if len(raw) > MAX_VP_TOKEN:
        raise ResponseError("invalid_request", "vp_token is too large")
    try:
        token = json.loads(raw)
    except ValueError:
        raise ResponseError("invalid_request", "vp_token must be a JSON object") from None
    if not isinstance(token, dict):
        raise ResponseError("invalid_request", "vp_token must be a JSON object")
    parsed: dict[str, list[str]] = {}
    for key, value in token.items():
        values = value if isinstance(value, list) else [value]
        if not values or not all(isinstance(v, str) for v in values):
            raise ResponseError("invalid_request", "each vp_token entry lists presentations")
        parsed[str(key)] = values
    return parsed


def verify_mdoc(db: Session, presentation: str, row: PresentationRequest) -> Presented:
    """Appendix B.2: the DeviceResponse's device signature over the session transcript of this
    request (client_id, nonce, response_uri, and the thumbprint of the key an encrypted
    response went to)."""
    thumbprint = None
    if row.response_mode == "direct_post.jwt":
        thumbprint = sdjwt.b64url_decode(oid4vp_keys.encryption_key().thumbprint())
    card = oid4vp_mdoc.verify_device_response(
        presentation,
        root=certs.root_certificate(db),
        crl=certs.current_crl(db),
        doctype=metadata.MDOC_DOCTYPE,
        namespace=metadata.MDOC_NAMESPACE,
        transcript=oid4vp_mdoc.session_transcript(
            client_id=oid4vp_keys.client_id(),
            nonce=row.nonce,
            response_uri=response_uri(),
            jwk_thumbprint=thumbprint,
        ),
        status_lookup=local_status(db),
    )
    return Presented(
        claims=card.claims,
        disclosed=card.disclosed,
        status_uri=card.status_uri,
        status_index=card.status_index,
    )


def _answered_queries(query: dict[str, Any], answered: set[str]) -> None:
    """§6.4.2: without credential_sets every query is required; with them, each required set
    is met by one of its options."""
    sets = query.get("credential_sets")
    if sets is None:
        required = [[[cq["id"] for cq in query["credentials"]]]]
    else:
        required = [s["options"] for s in sets if s.get("required", True)]
    for options in required:
        if not any(set(option) <= answered for option in options):
            raise PresentationRefused("a credential asked for is missing", code="QUERY_UNANSWERED")


def _check_against_query(
    db: Session, row: PresentationRequest, vp_token: dict[str, list[str]]
) -> tuple[dict[str, dict[str, Any]], list[Presented]]:
    result: dict[str, dict[str, Any]] = {}
    presented: list[Presented] = []
    queries = {cq["id"]: cq for cq in row.dcql_query["credentials"]}
    if set(vp_token) - set(queries):
        raise PresentationRefused("vp_token answers a query not asked", code="QUERY_UNKNOWN")
    _answered_queries(row.dcql_query, set(vp_token))
    for qid, values in vp_token.items():
        cq = queries[qid]
        if len(values) != 1:
            raise PresentationRefused("one presentation per query", code="QUERY_MULTIPLE")
        if cq["format"] == FORMAT_MDOC:
            card = verify_mdoc(db, values[0], row)
        else:
            card = verify_sd_jwt(
                db,
                values[0],
                audience=oid4vp_keys.client_id(),
                nonce=row.nonce,
                vcts=list(cq["meta"]["vct_values"]),
            )
        asked = _claim_names(cq)
        shown = set(card.disclosed)
        if not any(needed <= shown for needed in _claim_sets(cq)):
            raise PresentationRefused(
                "the presentation lacks claims the query requires", code="CLAIMS_MISSING"
            )
        # Only what was asked is kept; an extra disclosure is ignored, not stored.
        result[qid] = {name: card.claims[name] for name in asked if name in shown}
        card.extra = sorted(shown - set(asked))
        presented.append(card)
    return result, presented


def _decrypt_response(response: str) -> dict[str, str]:
    """§8.3 direct_post.jwt: the parameters inside a JWE encrypted to eid's verifier key."""
    if len(response) > MAX_VP_TOKEN * 2:
        raise ResponseError("invalid_request", "response is too large")
    try:
        obj = jwe.decrypt_compact(
            response,
            oid4vp_keys.encryption_key(),
            algorithms=[oid4vp_keys.ENC_ALG, *oid4vp_keys.ENC_VALUES],
        )
        inner = json.loads(obj.plaintext or b"")
    except (JoseError, ValueError):
        raise ResponseError("invalid_request", "response does not decrypt") from None
    if not isinstance(inner, dict):
        raise ResponseError("invalid_request", "response is not a JSON object")
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in inner.items()}


def accept_response(db: Session, form: dict[str, str]) -> dict[str, Any]:
    """Process one Authorization Response; the body to answer with (200), or ResponseError."""
    encrypted = "response" in form
    if encrypted:
        form = _decrypt_response(form["response"])
    state = form.get("state")
    if not state:
        raise ResponseError("invalid_request", "state is required")
    row = db.execute(
        select(PresentationRequest).where(PresentationRequest.state == state).with_for_update()
    ).scalar_one_or_none()
    now = clock.now()
    if row is None:
        raise ResponseError("invalid_request", "unknown state")
    if row.responded_at is not None:
        raise ResponseError("invalid_request", "this request was already answered")
    if row.expires_at < now:
        row.status = "expired"
        raise ResponseError("invalid_request", "the request has expired")
    if encrypted != (row.response_mode == "direct_post.jwt"):
        raise ResponseError("invalid_request", f"the request asked for {row.response_mode}")
    row.responded_at = now  # one answer per request, even a refused one
    actor = Actor(kind="client", id=row.client_id, role="verifier")
    if "error" in form:  # §8.5: the wallet (holder) declined or could not answer
        row.status = "refused"
        row.outcome = "WALLET_" + re.sub(r"[^a-z_]", "", form["error"])[:30].upper()
        audit.record(
            db, actor, "oid4vp.declined", "oid4vp_request", row.id, details={"error": row.outcome}
        )
        return {}
    if "vp_token" not in form:
        row.status = "refused"
        row.outcome = "MALFORMED"
        raise ResponseError("invalid_request", "vp_token is required")
    try:
        result, presented = _check_against_query(db, row, _parse_vp_token(form["vp_token"]))
    except ResponseError:
        row.status, row.outcome = "refused", "MALFORMED"
        raise
    except PresentationRefused as refused:
        row.status = "refused"
        row.outcome = refused.code[:48]
        audit.record(
            db, actor, "oid4vp.refused", "oid4vp_request", row.id, details={"code": refused.code}
        )
        raise ResponseError("invalid_request", refused.code) from None
    row.status = "verified"
    row.outcome = "valid"
    row.result = result
    client = db.get(RelyingParty, row.client_id)
    assert client is not None
    for card in presented:
        account_id = _account_of(db, card.status_uri, card.status_index)
        if account_id is not None:  # the holder's history shows who saw what
            released = sorted(n for q in result.values() for n in q)
            consents.record_release(db, account_id, client, released, PRESENTATION_CHANNEL)
            audit.record(
                db,
                holder_actor(account_id),
                "wallet.presented",
                "account",
                account_id,
                details={
                    "client_id": row.client_id,
                    "request": row.id,
                    "claims": released,
                },
            )
    if row.redirect_uri is None:
        return {}
    code = secrets.token_urlsafe(24)
    row.response_code_hash = _hash(code)
    return {"redirect_uri": f"{row.redirect_uri}#response_code={code}"}


# -- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    status: str  # pending | fetched | verified | refused | expired | collected
    outcome: str | None
    claims: dict[str, dict[str, Any]] | None
    expires_at: dt.datetime


def _retained(row: PresentationRequest, now: dt.datetime) -> bool:
    return (
        row.result is not None
        and row.collected_at is None
        and row.responded_at is not None
        and row.responded_at + RESULT_TTL > now
    )


def _outcome(row: PresentationRequest, now: dt.datetime) -> Outcome:
    status_ = row.status
    if status_ in ("pending", "fetched") and row.expires_at < now:
        status_ = "expired"
    if row.collected_at is not None:
        status_ = "collected"
    claims = row.result if _retained(row, now) else None
    if status_ == "verified" and claims is None:
        status_ = "collected"
    return Outcome(status_, row.outcome, claims, row.expires_at)


def page_outcome(db: Session, request_id: str) -> Outcome:
    row = db.get(PresentationRequest, request_id)
    if row is None:
        raise NotFound("no such request", code="REQUEST_UNKNOWN")
    return _outcome(row, clock.now())


def collect(
    db: Session, client: RelyingParty, request_id: str, response_code: str | None
) -> Outcome:
    """The relying party's result: once; then its claims are gone from eid."""
    row = db.get(PresentationRequest, request_id, with_for_update=True)
    if row is None or row.client_id != client.client_id:
        raise NotFound("no such request", code="REQUEST_UNKNOWN")
    now = clock.now()
    answered = row.status in ("verified", "refused") and row.redirect_uri is not None
    if answered and (response_code is None or row.response_code_hash != _hash(response_code)):
        raise ValidationFailed(
            "the response_code the wallet's redirect carried is required",
            code="RESPONSE_CODE_INVALID",
        )
    result = _outcome(row, now)
    if result.status in ("verified", "refused"):
        row.collected_at = now
        row.result = None
        audit.record(
            db,
            Actor(kind="client", id=client.client_id, role="verifier"),
            "oid4vp.result_collected",
            "oid4vp_request",
            row.id,
            details={"status": result.status},
        )
    return result


# -- the holder's side: what is asked, by whom (before anything is shared) ---------------------


@dataclass(frozen=True)
class AskedClaim:
    name: str
    required: bool


@dataclass(frozen=True)
class Preview:
    relying_party: str
    purpose: str
    verifier: str  # the client_id the wallet sees (eid's verifier certificate)
    claims: list[AskedClaim]
    expires_at: dt.datetime
    open: bool


def _handle_of(wallet_url: str) -> str:
    """The handle of an `openid4vp://` URL that eid's verifier issued; anything else refused."""
    parts = urlsplit(wallet_url.strip()[:1000])
    params = {k: v[0] for k, v in parse_qs(parts.query).items()}
    prefix = request_uri("")
    uri = params.get("request_uri", "")
    if (
        parts.scheme not in ("openid4vp", "eudi-openid4vp", "haip")
        or params.get("client_id") != oid4vp_keys.client_id()
        or not uri.startswith(prefix)
    ):
        raise ValidationFailed(
            "this is not a presentation request eid verifies", code="REQUEST_FOREIGN"
        )
    return uri[len(prefix) :][:64]


def _row_for_holder(db: Session, wallet_url: str, *, lock: bool = False) -> PresentationRequest:
    query = select(PresentationRequest).where(PresentationRequest.handle == _handle_of(wallet_url))
    row = db.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if row is None:
        raise RequestUnavailable("unknown, used or expired request")
    return row


def asked_claims(query: dict[str, Any]) -> list[AskedClaim]:
    """Each claim once, though the card may be asked for in both formats."""
    asked: dict[str, AskedClaim] = {}
    for cq in query["credentials"]:
        minimal = min(_claim_sets(cq), key=len)
        for name in _claim_names(cq):
            if name not in asked or (name in minimal and not asked[name].required):
                asked[name] = AskedClaim(name, name in minimal)
    return list(asked.values())


def preview(db: Session, wallet_url: str) -> Preview:
    """Read-only (the request stays unspent for the wallet that then answers it)."""
    row = _row_for_holder(db, wallet_url)
    client = db.get(RelyingParty, row.client_id)
    assert client is not None
    return Preview(
        relying_party=client.name,
        purpose=client.purpose,
        verifier=oid4vp_keys.client_id(),
        claims=asked_claims(row.dcql_query),
        expires_at=row.expires_at,
        open=row.responded_at is None and row.expires_at > clock.now(),
    )


def decline(db: Session, account_id: Any, wallet_url: str) -> None:
    """The holder says no (§8.5 access_denied): the relying party's page shows it at once."""
    row = _row_for_holder(db, wallet_url, lock=True)
    if row.responded_at is not None or row.expires_at < clock.now():
        raise RequestUnavailable("unknown, used or expired request")
    row.responded_at = clock.now()
    row.status = "refused"
    row.outcome = "WALLET_ACCESS_DENIED"
    audit.record(
        db,
        holder_actor(account_id),
        "wallet.presentation_declined",
        "account",
        account_id,
        details={"client_id": row.client_id, "request": row.id},
    )
