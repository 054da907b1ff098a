"""The token endpoint's hot path: the authorization-code and refresh grants of a client
authenticated with its secret, each in one SQL statement.

The statement authenticates the client, consumes the code (or rotates the refresh token) only if
every check passes, and stores the new tokens: one statement on a connection in autocommit, so
one transaction, committed (WAL flushed) before its rows come back and long before the answer is
sent. Single use is the database's: `UPDATE ... WHERE used_at IS NULL` (or `NOT
refresh_revoked`) takes the row lock, so of two simultaneous redemptions the second waits, then
finds the row consumed and matches nothing (tests/identity/test_single_use_redemption.py).
The signing key is resolved before the statement: a key problem fails the request with the code
unspent. Per grant: one pool check-out (its ping), the throttle's upsert, this statement.

Anything the hot path does not answer with tokens returns None, and the caller runs the full
grant (`oauth_server`, Authlib) in the same transaction: every refusal (wrong code, replay with
its revocation and audit event, expired, PKCE, unusable account, unknown client) keeps its one
implementation, its error code and its audit. Nothing was written by a statement that matched
nothing, so the full grant sees the database as it was.

Where FAPI 2.0 (`client_auth`, `dpop`, `par`) meets it:
- client authentication: `secret_credentials` returns the (client_id, secret) of
  client_secret_basic / client_secret_post, None for anything else (private_key_jwt): those go
  the full way. The statements' `rp` part admits only a basic-profile client with a secret.
- token binding: a request with a `DPoP` header goes the full way (`binds_token`), where the
  proof is checked and the tokens bound; a code or refresh token bound to a DPoP key
  (`dpop_jkt`) is never spent by the statements, whatever the request.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from typing import Any
from urllib.parse import unquote

from joserfc import jwt
from joserfc.jwk import ECKey
from sqlalchemy import text
from sqlalchemy.orm import Session

from eid.core import clock
from eid.core.crypto import hash_token
from eid.core.settings import get_settings
from eid.identity import clients, keys
from eid.identity.oauth_server import ACCESS_TOKEN_TTL, REFRESH_TOKEN_TTL

TOKEN_HEADERS = {"Cache-Control": "no-store", "Pragma": "no-cache"}
# RFC 7636 §4.1: what Authlib also accepts as a code_verifier.
_VERIFIER = re.compile(r"^[a-zA-Z0-9\-._~]{43,128}$")

# The `rp` part of both statements is the client authentication: an active basic-profile client
# whose secret hashes to the stored one (a client with keys has no secret; a FAPI 2.0 client must
# use DPoP). A code or refresh token bound to a DPoP key (`dpop_jkt`) is never spent here: only
# the full grant checks the proof.
_REDEEM_CODE = text(
    """
WITH rp AS (
    SELECT client_id, sector_secret FROM relying_parties
    WHERE client_id = :client_id AND active AND secret_hash = :secret_hash
      AND profile = 'basic' AND token_endpoint_auth_method <> 'private_key_jwt'
),
code AS (
    UPDATE oidc_authorization_codes c SET used_at = :now
    FROM rp, accounts a
    WHERE c.code_hash = :code_hash AND c.client_id = rp.client_id AND c.used_at IS NULL
      AND c.dpop_jkt IS NULL AND c.authorization_details IS NULL
      AND c.expires_at >= :now
      AND c.code_challenge_method = 'S256' AND c.code_challenge = :challenge
      AND (c.redirect_uri = '' OR c.redirect_uri = :redirect_uri)
      AND a.id = c.account_id
      AND a.status = 'active' AND coalesce(cardinality(a.lock_grounds), 0) = 0
    RETURNING c.code_hash, c.account_id, c.scope, c.acr, c.nonce, c.auth_time, c.amr
),
token AS (
    INSERT INTO oidc_tokens (access_token_hash, refresh_token_hash, client_id, account_id, scope,
        acr, origin_code_hash, issued_at, expires_in, refresh_expires_at, access_revoked,
        refresh_revoked)
    SELECT :access_hash, :refresh_hash, :client_id, account_id, scope, acr, code_hash,
        :issued_at, :expires_in, :refresh_expires_at, false, false
    FROM code
)
SELECT code.account_id, code.scope, code.acr, code.nonce, code.auth_time, code.amr,
       rp.sector_secret
FROM code, rp
"""
)

_ROTATE_REFRESH = text(
    """
WITH rp AS (
    SELECT client_id FROM relying_parties
    WHERE client_id = :client_id AND active AND secret_hash = :secret_hash
      AND profile = 'basic' AND token_endpoint_auth_method <> 'private_key_jwt'
),
old AS (
    UPDATE oidc_tokens t SET refresh_revoked = true, access_revoked = true
    FROM rp, accounts a
    WHERE t.refresh_token_hash = :old_hash AND t.client_id = rp.client_id
      AND NOT t.refresh_revoked AND t.refresh_expires_at >= :now AND t.dpop_jkt IS NULL
      AND a.id = t.account_id
      AND a.status = 'active' AND coalesce(cardinality(a.lock_grounds), 0) = 0
    RETURNING t.account_id, t.scope, t.acr, t.origin_code_hash
),
token AS (
    INSERT INTO oidc_tokens (access_token_hash, refresh_token_hash, client_id, account_id, scope,
        acr, origin_code_hash, issued_at, expires_in, refresh_expires_at, access_revoked,
        refresh_revoked)
    SELECT :access_hash, :refresh_hash, :client_id, account_id, scope, acr, origin_code_hash,
        :issued_at, :expires_in, :refresh_expires_at, false, false
    FROM old
)
SELECT old.scope FROM old
"""
)


def secret_credentials(headers: Any, form: dict[str, str]) -> tuple[str, str] | None:
    """client_secret_basic or client_secret_post, as Authlib reads them; None otherwise."""
    authorization = headers.get("authorization", "")
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            decoded = base64.b64decode(value, validate=True).decode()
        except ValueError:
            return None
        client_id, sep, secret = decoded.partition(":")
        if not sep:
            return None
        client_id, secret = unquote(client_id), unquote(secret)
        if form.get("client_id", client_id) != client_id or "client_secret" in form:
            return None
        return (client_id, secret) if client_id and secret else None
    if form.get("client_id") and form.get("client_secret") and "client_assertion" not in form:
        return form["client_id"], form["client_secret"]
    return None


def binds_token(headers: Any) -> bool:
    """A sender-constrained request (DPoP, RFC 9449): bound on the full path."""
    return "dpop" in headers


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _half_hash(value: str) -> str:
    digest = hashlib.sha256(value.encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")


def _new_tokens() -> tuple[str, str, dict[str, Any]]:
    access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = clock.now()
    params = {
        "access_hash": hash_token(access),
        "refresh_hash": hash_token(refresh),
        "issued_at": int(now.timestamp()),
        "expires_in": ACCESS_TOKEN_TTL,
        "refresh_expires_at": now + REFRESH_TOKEN_TTL,
        "now": now,
    }
    return access, refresh, params


def _token_body(access: str, refresh: str, scope: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "token_type": "Bearer",
        "access_token": access,
        "expires_in": ACCESS_TOKEN_TTL,
        "refresh_token": refresh,
    }
    if scope:
        body["scope"] = scope
    return body


def redeem_code(db: Session, headers: Any, form: dict[str, str]) -> dict[str, Any] | None:
    """The authorization_code grant's answer, or None for the full grant to decide."""
    credentials = secret_credentials(headers, form)
    code, verifier = form.get("code"), form.get("code_verifier", "")
    if credentials is None or binds_token(headers) or not code or not _VERIFIER.match(verifier):
        return None
    # The key first: a key that cannot be had fails the request before the code is spent. No
    # key yet (a fresh database): the full grant makes it, in its transaction.
    signing = keys.existing_active_key(db)
    if signing is None:
        return None
    client_id, secret = credentials
    access, refresh, params = _new_tokens()
    row = db.execute(
        _REDEEM_CODE,
        {
            **params,
            "client_id": client_id,
            "secret_hash": hash_token(secret),
            "code_hash": hash_token(code),
            "challenge": _s256(verifier),
            "redirect_uri": form.get("redirect_uri"),
        },
    ).first()
    if row is None:
        return None
    body = _token_body(access, refresh, row.scope)
    if "openid" in row.scope.split():
        body["id_token"] = _id_token(signing, client_id, row, access)
    return body


def _id_token(signing: tuple[str, ECKey], client_id: str, row: Any, access_token: str) -> str:
    """The claims `oauth_server.EidOpenIDCode` gives, in the same order, signed by the same key."""
    kid, key = signing
    now = int(clock.now().timestamp())
    claims: dict[str, Any] = {
        "iss": get_settings().issuer,
        "aud": client_id,
        "iat": now,
        "exp": now + int(keys.ID_TOKEN_TTL.total_seconds()),
    }
    if row.nonce:
        claims["nonce"] = row.nonce
    if row.auth_time:
        claims["auth_time"] = row.auth_time
    if row.acr:
        claims["acr"] = row.acr
    if row.amr:
        claims["amr"] = list(row.amr)
    claims["at_hash"] = _half_hash(access_token)
    claims["sub"] = clients.pairwise_subject_sealed(client_id, row.sector_secret, row.account_id)
    return jwt.encode({"alg": keys.ALG, "kid": kid, "typ": "JWT"}, claims, key, [keys.ALG])


def rotate_refresh(db: Session, headers: Any, form: dict[str, str]) -> dict[str, Any] | None:
    """The refresh_token grant's answer (rotation), or None for the full grant to decide."""
    credentials = secret_credentials(headers, form)
    old = form.get("refresh_token")
    if credentials is None or binds_token(headers) or not old or form.get("scope"):
        return None
    client_id, secret = credentials
    access, refresh, params = _new_tokens()
    row = db.execute(
        _ROTATE_REFRESH,
        {
            **params,
            "client_id": client_id,
            "secret_hash": hash_token(secret),
            "old_hash": hash_token(old),
        },
    ).first()
    if row is None:
        return None
    return _token_body(access, refresh, row.scope)


def fast_token(db: Session, headers: Any, form: dict[str, str]) -> dict[str, Any] | None:
    grant_type = form.get("grant_type")
    if grant_type == "authorization_code":
        return redeem_code(db, headers, form)
    if grant_type == "refresh_token":
        return rotate_refresh(db, headers, form)
    return None
