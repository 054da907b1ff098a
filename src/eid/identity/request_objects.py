"""Signed request objects (RFC 9101, JAR), for clients that registered keys.

The `request` parameter (at the authorization endpoint or pushed to PAR) is a JWT signed by the
client (ES256 or PS256; `none` and MACs refused), `iss` its client_id, `aud` our issuer, with an
`exp` at most an hour away and `nbf` not in the future. Its claims are the authorization
request: they replace the outer parameters entirely (§6.3), and an outer `client_id` must be the
same client. A client without keys keeps `request_not_supported` (the code grant refuses it).
"""

from __future__ import annotations

import json
from typing import Any

from authlib.oidc.core.errors import InvalidRequestObjectError
from joserfc import jws, jwt
from joserfc.errors import JoseError
from sqlalchemy.orm import Session

from eid.core import clock
from eid.core.settings import get_settings
from eid.identity import client_keys, clients
from eid.identity.models import RelyingParty
from eid.identity.oauth_adapter import FormPayload, StarletteOAuth2Request

ALGORITHMS = ["ES256", "PS256"]
MAX_LIFETIME = 3600  # seconds from now to exp (FAPI 2.0 Message Signing: at most 60 minutes)
FUTURE_SKEW = 10
TYP = "oauth-authz-req+jwt"


def _refuse(description: str, redirect_uri: str | None = None) -> InvalidRequestObjectError:
    return InvalidRequestObjectError(description, redirect_uri=redirect_uri)


def _as_param(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"))  # e.g. `claims`, an object


def verify(
    client: RelyingParty, compact: str, outer_client_id: str | None, redirect_uri: str | None
) -> dict[str, str]:
    """The request's parameters from the verified object; `InvalidRequestObjectError` (sent to
    `redirect_uri` when the caller could trust one) otherwise."""
    try:
        header = jws.extract_compact(compact.encode("ascii")).headers()
    except (JoseError, ValueError, UnicodeEncodeError) as error:
        raise _refuse("the request object is not a signed JWT", redirect_uri) from error
    if header.get("alg") not in ALGORITHMS:
        raise _refuse(f"the request object must be signed with {ALGORITHMS}", redirect_uri)
    if header.get("typ") not in (None, TYP, "JWT"):
        raise _refuse(f"typ must be {TYP}", redirect_uri)
    kid = header.get("kid")
    try:
        keys = client_keys.keys_of(client, kid if isinstance(kid, str) else None)
        token = jwt.decode(compact, keys, algorithms=ALGORITHMS)
    except client_keys.KeysUnavailable as error:
        raise _refuse("the client's keys are not available", redirect_uri) from error
    except (JoseError, ValueError) as error:
        raise _refuse("the request object's signature does not verify", redirect_uri) from error
    claims: dict[str, Any] = dict(token.claims)
    issuer = get_settings().issuer.rstrip("/")
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    now = int(clock.now().timestamp())
    exp, nbf = claims.get("exp"), claims.get("nbf")
    if claims.get("iss") != client.client_id:
        raise _refuse("iss must be the client_id", redirect_uri)
    if issuer not in audiences:
        raise _refuse("aud must be the issuer identifier", redirect_uri)
    if not isinstance(exp, int) or exp < now or exp > now + MAX_LIFETIME:
        raise _refuse("exp is missing, past, or more than an hour away", redirect_uri)
    if nbf is not None and (not isinstance(nbf, int) or nbf > now + FUTURE_SKEW):
        raise _refuse("nbf is in the future", redirect_uri)
    inner_client_id = claims.get("client_id", client.client_id)
    if inner_client_id != client.client_id or (
        outer_client_id is not None and outer_client_id != client.client_id
    ):
        raise _refuse("client_id differs from the request object's", redirect_uri)
    if "request" in claims or "request_uri" in claims:
        raise _refuse("a request object cannot hold request or request_uri", redirect_uri)
    registered = {"iss", "aud", "exp", "nbf", "iat", "jti", "sub"}
    params = {k: _as_param(v) for k, v in claims.items() if k not in registered}
    params["client_id"] = client.client_id
    return params


def resolve(db: Session, oreq: StarletteOAuth2Request, keep: tuple[str, ...]) -> None:
    """At the authorization endpoint: a `request` of a client with keys replaced by its
    verified parameters (plus the fields in `keep`: our own hops' csrf, decision, login mark).
    The later hops (login, consent) carry the resulting plain parameters, as for any request
    of that client: a FAPI 2.0 client, whose request must not be altered, pushes it (PAR)."""
    data = oreq.payload.data
    if "request" not in data:
        return
    client = clients.get_client(db, data.get("client_id", ""))
    if client is None or not client.has_keys:
        return  # the code grant answers invalid_client or request_not_supported
    outer_redirect = data.get("redirect_uri")
    trusted = outer_redirect if outer_redirect in client.redirect_uris else None
    try:
        params = verify(client, data["request"], data.get("client_id"), trusted)
    except InvalidRequestObjectError as error:
        error.state = data.get("state")
        raise
    kept = [(k, v) for k, v in data.items() if k in keep]
    oreq.payload = FormPayload([*params.items(), *kept])
