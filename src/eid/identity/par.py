"""Pushed authorization requests (RFC 9126).

The client pushes its authorization request to `/oauth2/par`, authenticated as at the token
endpoint; the request is validated there as the authorization endpoint would (exact
redirect_uri, PKCE S256, scopes, response type; a signed request object verified) and stored
in PostgreSQL under a random `request_uri` (`urn:ietf:params:oauth:request_uri:…`) valid for
`EXPIRES_IN` seconds. The authorization endpoint then uses only the pushed parameters.

Single use (§4): the first opening of a request_uri spends it, and hands the browser an
`interaction` ticket (in the login redirect and the consent form) with which it may come back
during the login and consent (a person may take longer than a minute); the authorization
response ends it. A FAPI 2.0 client must push every request (FAPI 2.0 §5.3.2.2).
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from typing import Any

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oidc.core.errors import InvalidRequestURIError, RequestNotSupportedError
from sqlalchemy import select
from sqlalchemy.orm import Session

from eid.core import clock
from eid.core.crypto import hash_token
from eid.core.settings import get_settings
from eid.identity import dpop, request_objects
from eid.identity.models import PushedRequest
from eid.identity.oauth_adapter import FormPayload, StarletteOAuth2Request

PREFIX = "urn:ietf:params:oauth:request_uri:"
EXPIRES_IN = 60
INTERACTION_TTL = dt.timedelta(minutes=15)
TICKET = "interaction"
# Client authentication travels with the pushed request but is no part of it.
_AUTH_FIELDS = ("client_secret", "client_assertion", "client_assertion_type")


def _issuer() -> str:
    return get_settings().issuer.rstrip("/")


def _json_error(error: OAuth2Error) -> tuple[int, dict[str, Any], dict[str, str]]:
    body = {"error": error.error}
    if error.description:
        body["error_description"] = str(error.description)
    headers = {"Cache-Control": "no-store"}
    if error.status_code == 401:
        headers["WWW-Authenticate"] = 'Basic realm="eid"'
    return int(error.status_code or 400), body, headers


def push(
    server: Any, oreq: StarletteOAuth2Request, proofs: list[str]
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """§2.1-2.3: the response to a push: 201 with request_uri and expires_in, or the error."""
    from eid.identity.oauth_models import AUTH_METHODS

    db: Session = server.db
    try:
        # "none": a wallet, a public client (RFC 9126 §2.1 lets it push with its client_id);
        # `Client.check_endpoint_auth_method` admits it for a client registered so only.
        client = server.authenticate_client(oreq, [*AUTH_METHODS, "none"], "pushed_authorization")
        data = oreq.payload.data
        if "request_uri" in data:
            raise InvalidRequestError("request_uri cannot be pushed")
        if data.get("client_id", client.client_id) != client.client_id:
            raise InvalidRequestError("client_id is not the authenticated client")
        if "request" in data:
            if not client.row.has_keys:
                raise RequestNotSupportedError("the client registered no keys")
            params = request_objects.verify(
                client.row, data["request"], data.get("client_id"), None
            )
        else:
            params = {k: v for k, v in data.items() if k not in _AUTH_FIELDS}
        params["client_id"] = client.client_id
        if client.row.profile == "fapi2" and not params.get("redirect_uri"):
            # FAPI 2.0 §5.3.2.2: the redirect_uri is required in a pushed request.
            raise InvalidRequestError("redirect_uri is required")
        jkt = dpop.verify_proof(db, proofs, "POST", f"{_issuer()}/oauth2/par") if proofs else None
        asked = params.pop("dpop_jkt", None)
        if asked is not None and jkt is not None and asked != jkt:
            raise dpop.InvalidDPoPProof("dpop_jkt is not the proof's key")
        jkt = jkt or asked
        probe = StarletteOAuth2Request(
            "GET", f"{_issuer()}/oauth2/authorize", {}, list(params.items()), []
        )
        probe.pushed = True
        grant = server.get_authorization_grant(probe)
        grant.validate_no_multiple_request_parameter(oreq)  # the body as sent
        grant.validate_authorization_request()
    except OAuth2Error as error:
        return _json_error(error)
    request_uri = PREFIX + secrets.token_urlsafe(32)
    db.add(
        PushedRequest(
            uri_hash=hash_token(request_uri),
            client_id=client.client_id,
            params=params,
            dpop_jkt=jkt,
            expires_at=clock.now() + dt.timedelta(seconds=EXPIRES_IN),
        )
    )
    return (
        201,
        {"request_uri": request_uri, "expires_in": EXPIRES_IN},
        {"Cache-Control": "no-store"},
    )


def resolve(db: Session, oreq: StarletteOAuth2Request, keep: tuple[str, ...]) -> None:
    """At the authorization endpoint: a PAR `request_uri` replaced by the pushed parameters
    (the outer ones, but for `client_id` and the fields in `keep`, are not used). Another
    request_uri is left for the code grant to refuse (`request_uri_not_supported`)."""
    data = oreq.payload.data
    uri = data.get("request_uri")
    if not uri or not uri.startswith(PREFIX):
        return
    row = db.execute(
        select(PushedRequest).where(PushedRequest.uri_hash == hash_token(uri)).with_for_update()
    ).scalar_one_or_none()
    now = clock.now()
    if row is None or row.client_id != data.get("client_id") or row.used_at is not None:
        raise InvalidRequestURIError("the request_uri is unknown, spent, or another client's")
    ticket = data.get(TICKET)
    if row.ticket_hash is None:
        if row.expires_at < now:
            raise InvalidRequestURIError("the request_uri has expired")
        ticket = secrets.token_urlsafe(24)
        row.ticket_hash = hash_token(ticket)
        row.interaction_expires_at = now + INTERACTION_TTL
    elif (
        ticket is None
        or not hmac.compare_digest(row.ticket_hash, hash_token(ticket))
        or row.interaction_expires_at is None
        or row.interaction_expires_at < now
    ):
        raise InvalidRequestURIError("the request_uri was used already")
    kept = [(k, v) for k, v in data.items() if k in keep]
    oreq.payload = FormPayload([*row.params.items(), *kept])
    oreq.pushed = True
    oreq.pushed_row = row
    oreq.dpop_jkt = row.dpop_jkt
    oreq.carried = {"client_id": row.client_id, "request_uri": uri, TICKET: ticket}


def spend(oreq: Any) -> None:
    """The authorization response is being sent: the pushed request is over."""
    row: PushedRequest | None = getattr(oreq, "pushed_row", None)
    if row is not None and row.used_at is None:
        row.used_at = clock.now()


def require_pushed(request: Any, redirect_uri: str) -> None:
    """FAPI 2.0 §5.3.2.2: a FAPI 2.0 client's requests come through PAR only."""
    if request.client.row.profile == "fapi2" and not getattr(request, "pushed", False):
        raise InvalidRequestError(
            "this client must push its authorization requests (PAR)", redirect_uri=redirect_uri
        )


def pushed_params(db: Session, client_id: str | None, request_uri: str | None) -> dict[str, str]:
    """The parameters of a pushed request, for the login page (its `login_hint`, `ui_locales`
    and redirect URI for the form-action policy): nothing is spent by reading them."""
    if not request_uri or not request_uri.startswith(PREFIX):
        return {}
    row = db.execute(
        select(PushedRequest).where(PushedRequest.uri_hash == hash_token(request_uri))
    ).scalar_one_or_none()
    if row is None or row.client_id != client_id:
        return {}
    return {k: v for k, v in row.params.items() if isinstance(v, str)}
