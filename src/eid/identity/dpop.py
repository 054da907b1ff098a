"""DPoP (RFC 9449): access and refresh tokens bound to a key the client proves it holds.

The token endpoint (and PAR) verify the `DPoP` proof (§4.3) and bind what they issue to the
key's thumbprint (`cnf.jkt`, stored on the token row); a refresh needs a proof of the same key;
a DPoP-bound token used at userinfo needs `Authorization: DPoP` and a proof carrying `ath`
(§7.1), and its use as a bearer token is refused.

Server nonces (§8) are not used: they are optional, and the single-use `jti` (kept in PostgreSQL
for the whole acceptance window) with a ±`WINDOW`/`FUTURE_SKEW` `iat` window already bounds
replay; a nonce would cost every client one extra round trip per endpoint.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import warnings
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749.errors import InvalidGrantError, InvalidRequestError
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import import_key
from sqlalchemy.orm import Session

from eid.core import clock
from eid.identity import replay

ALGORITHMS = ["ES256", "PS256", "EdDSA"]
TOKEN_TYPE = "DPoP"  # noqa: S105 - a token type, not a secret
WINDOW = 60  # seconds a proof's iat may lie in the past
FUTURE_SKEW = 10  # ...and in the future (clock offsets)
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


class InvalidDPoPProof(OAuth2Error):  # type: ignore[misc]
    """RFC 9449 §5: `invalid_dpop_proof`, 400 at the token endpoint (and PAR)."""

    error = "invalid_dpop_proof"
    status_code = 400


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def access_token_hash(token: str) -> str:
    return _b64(hashlib.sha256(token.encode("ascii")).digest())


def _normal_uri(uri: str) -> str:
    """§4.3 check 9: htu compared without query and fragment, scheme and host case-folded,
    default ports dropped."""
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port
    netloc = (
        host
        if port is None or (scheme, port) in (("https", 443), ("http", 80))
        else f"{host}:{port}"
    )
    return f"{scheme}://{netloc}{parts.path or '/'}"


def verify_proof(
    db: Session, proofs: list[str], method: str, uri: str, access_token: str | None = None
) -> str:
    """The proof's key thumbprint (jkt); `InvalidDPoPProof` when any check of §4.3 fails."""
    if len(proofs) != 1:
        raise InvalidDPoPProof("exactly one DPoP header is required")
    try:
        header = jws.extract_compact(proofs[0].encode("ascii")).headers()
    except (JoseError, ValueError, UnicodeEncodeError) as error:
        raise InvalidDPoPProof("the DPoP proof is not a JWS") from error
    if header.get("typ") != "dpop+jwt":
        raise InvalidDPoPProof("typ must be dpop+jwt")
    if header.get("alg") not in ALGORITHMS:
        raise InvalidDPoPProof(f"alg must be one of {ALGORITHMS}")
    jwk = header.get("jwk")
    if not isinstance(jwk, dict) or PRIVATE_MEMBERS & set(jwk):
        raise InvalidDPoPProof("jwk must be a public key")
    try:
        key = import_key(jwk)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # joserfc warns that "EdDSA" has newer names
            verified = jws.deserialize_compact(proofs[0], key, algorithms=ALGORITHMS)
        payload = json.loads(verified.payload)
    except (JoseError, ValueError, TypeError) as error:
        raise InvalidDPoPProof("the DPoP proof's signature does not verify") from error
    if not isinstance(payload, dict):
        raise InvalidDPoPProof("the DPoP proof has no claims")
    if payload.get("htm") != method:
        raise InvalidDPoPProof("htm does not match the request's method")
    htu = payload.get("htu")
    if not isinstance(htu, str) or _normal_uri(htu) != _normal_uri(uri):
        raise InvalidDPoPProof("htu does not match the request's URI")
    iat = payload.get("iat")
    now = int(clock.now().timestamp())
    if not isinstance(iat, int) or not now - WINDOW <= iat <= now + FUTURE_SKEW:
        raise InvalidDPoPProof("iat is outside the accepted window")
    if access_token is not None and payload.get("ath") != access_token_hash(access_token):
        raise InvalidDPoPProof("ath does not match the access token")
    jkt = str(key.thumbprint())
    until = dt.datetime.fromtimestamp(iat + WINDOW + FUTURE_SKEW, tz=dt.UTC)
    if not replay.spend(db, f"dpop:{jkt}", payload.get("jti"), until):
        raise InvalidDPoPProof("the DPoP proof's jti was used before (or is missing)")
    return jkt


def proofs_of(headers: Any) -> list[str]:
    """Every `DPoP` header of the request (Starlette's Headers keeps repeats)."""
    getlist = getattr(headers, "getlist", None)
    if getlist is not None:
        return list(getlist("dpop"))
    value = headers.get("dpop")
    return [value] if value else []


# ---------------------------------------------------------------- token endpoint


def check_token_request(grant: Any, *_: Any) -> None:
    """Authlib hook once the token request is validated, before the response is made: the
    code's or refresh token's binding must be met by this request's proof, and a FAPI 2.0
    client must use DPoP at all."""
    request = grant.request
    jkt: str | None = getattr(request, "dpop_jkt", None)
    client = request.client
    if jkt is None and client.row.profile == "fapi2":
        raise InvalidRequestError("a FAPI 2.0 client must send a DPoP proof")
    code = getattr(request, "authorization_code", None)
    bound = code.row.dpop_jkt if code is not None else None
    refresh = getattr(request, "refresh_token", None)
    if refresh is not None:
        bound = refresh.row.dpop_jkt
    if bound is not None and bound != jkt:
        raise InvalidGrantError("the grant is bound to another DPoP key")


def token_binding(grant: Any) -> None:
    """Authlib grant extension: `register_grant(Grant, [..., token_binding])`."""
    grant.register_hook("before_create_token_response", check_token_request)


def bind_token(token: dict[str, Any], request: Any) -> str | None:
    """In `save_token`: the jkt to store with the tokens; the response says `token_type` DPoP."""
    jkt: str | None = getattr(request, "dpop_jkt", None)
    if jkt is not None:
        token["token_type"] = TOKEN_TYPE
    return jkt


# ---------------------------------------------------------------- protected resources


def resource_challenge(error: str | None = None, description: str | None = None) -> str:
    parts = [f'algs="{" ".join(ALGORITHMS)}"']
    if error:
        parts.append(f'error="{error}"')
    if description:
        parts.append(f'error_description="{description}"')
    return "DPoP " + ", ".join(parts)


def check_resource_request(
    db: Session,
    *,
    scheme: str,
    token: str,
    bound_jkt: str | None,
    proofs: list[str],
    method: str,
    uri: str,
) -> tuple[str, str] | None:
    """None when the token may be used so; else (error, description) for a `DPoP` challenge.
    §7.1: a bound token needs the DPoP scheme and a proof of its key with `ath`; a bearer
    use of it is refused. An unbound token under the DPoP scheme is refused too (§7.2)."""
    if bound_jkt is None:
        if scheme == "dpop":
            return "invalid_token", "the access token is not DPoP-bound"
        return None
    if scheme != "dpop":
        return "invalid_token", "the access token is DPoP-bound: use the DPoP scheme"
    try:
        jkt = verify_proof(db, proofs, method, uri, access_token=token)
    except InvalidDPoPProof as refused:
        return "invalid_dpop_proof", str(refused.description)
    if jkt != bound_jkt:
        return "invalid_dpop_proof", "the proof's key is not the token's"
    return None


def confirmation(jkt: str | None) -> Mapping[str, Any]:
    """RFC 9449 §6.2: `cnf` in introspection."""
    return {"cnf": {"jkt": jkt}} if jkt else {}
