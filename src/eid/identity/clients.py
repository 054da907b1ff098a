"""Relying parties: registration by an admin under a written agreement, and pairwise subjects."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from eid.core import audit
from eid.core.audit import Actor
from eid.core.crypto import hash_token, seal, unseal
from eid.core.errors import ValidationFailed
from eid.identity import client_keys
from eid.identity.claims import CREDENTIAL_SCOPES, SUPPORTED_SCOPES
from eid.identity.models import RelyingParty

# wallet: an OpenID4VCI wallet, a public client (no secret, `none` at the token endpoint: an app
# on the holder's phone cannot keep one), PKCE S256 always, DPoP when it sends a proof, scopes of
# the card's credential configurations only. Registered by an admin with its exact redirect URIs,
# so a code reaches no other app (RFC 8252 §8.4, RFC 9700 §4.1).
PROFILES = ("basic", "fapi2", "wallet")


def _sector_aad(client_id: str) -> bytes:
    return f"relying-party:sector:{client_id}".encode()


def create_client(
    session: Session,
    *,
    name: str,
    redirect_uris: list[str],
    scopes: list[str],
    purpose: str,
    actor: Actor,
    post_logout_redirect_uris: list[str] | None = None,
    profile: str = "basic",
    jwks: dict[str, Any] | None = None,
    jwks_uri: str | None = None,
) -> tuple[str, str | None]:
    """Register a relying party; returns (client_id, client_secret). The secret is shown once.

    With keys (`jwks`, public only, or `jwks_uri`) the client authenticates with
    private_key_jwt and has no secret (None); `profile="fapi2"` (FAPI 2.0 Security Profile:
    PAR, private_key_jwt, DPoP) requires keys."""
    if profile not in PROFILES:
        raise ValidationFailed(
            "unknown profile", code="INVALID_PROFILE", details={"supported": list(PROFILES)}
        )
    if jwks is not None and jwks_uri is not None:
        raise ValidationFailed("give either jwks or jwks_uri, not both", code="INVALID_JWKS")
    if profile == "fapi2" and jwks is None and jwks_uri is None:
        raise ValidationFailed("a FAPI 2.0 client needs its keys", code="KEYS_REQUIRED")
    registered_jwks = client_keys.public_jwks(jwks) if jwks is not None else None
    if jwks_uri is not None:
        client_keys.check_jwks_uri(jwks_uri)
    with_keys = registered_jwks is not None or jwks_uri is not None
    wallet = profile == "wallet"
    allowed = CREDENTIAL_SCOPES if wallet else SUPPORTED_SCOPES
    unknown = sorted(set(scopes) - set(allowed))
    if wallet and (unknown or not scopes or with_keys):
        raise ValidationFailed(
            "a wallet asks only for credential scopes and has no keys",
            code="INVALID_SCOPES",
            details={"unknown": unknown, "supported": list(CREDENTIAL_SCOPES)},
        )
    if not wallet and (unknown or "openid" not in scopes):
        raise ValidationFailed(
            "scopes must include openid and only known scopes",
            code="INVALID_SCOPES",
            details={"unknown": unknown, "supported": SUPPORTED_SCOPES},
        )
    if not redirect_uris:
        raise ValidationFailed("at least one redirect URI is needed", code="INVALID_REDIRECT_URI")
    for uri in [*redirect_uris, *(post_logout_redirect_uris or [])]:
        parts = urlsplit(uri)
        loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
        # RFC 8252 §7.1: a native wallet's private-use scheme, in reverse-domain form.
        private_use = wallet and "." in parts.scheme and parts.scheme not in ("http", "https")
        secure = parts.scheme == "https" or (parts.scheme == "http" and loopback) or private_use
        if parts.fragment or not secure:
            raise ValidationFailed(
                "redirect URIs must be https (or loopback http), no fragment",
                code="INVALID_REDIRECT_URI",
                details={"uri": uri},
            )
    if not purpose.strip():
        raise ValidationFailed("the agreement's purpose is required", code="PURPOSE_REQUIRED")
    client_id = f"rp_{uuid.uuid4().hex}"
    # 256 random bits: a fast hash is enough to store it (no dictionary to attack), and the
    # token endpoint stays cheap.
    client_secret = None if with_keys or wallet else secrets.token_urlsafe(32)
    session.add(
        RelyingParty(
            client_id=client_id,
            secret_hash=hash_token(client_secret) if client_secret else None,
            profile=profile,
            jwks=registered_jwks,
            jwks_uri=jwks_uri,
            token_endpoint_auth_method=(
                "none" if wallet else ("private_key_jwt" if with_keys else "client_secret_basic")
            ),
            name=name,
            redirect_uris=list(redirect_uris),
            post_logout_redirect_uris=list(post_logout_redirect_uris or []),
            scopes=list(dict.fromkeys(scopes)),
            purpose=purpose,
            sector_secret=seal(secrets.token_bytes(32), aad=_sector_aad(client_id)),
            active=True,
        )
    )
    session.flush()
    audit.record(
        session,
        actor,
        "relying_party.registered",
        "relying_party",
        client_id,
        details={
            "scopes": scopes,
            "redirect_uris": redirect_uris,
            "post_logout_redirect_uris": post_logout_redirect_uris or [],
            "profile": profile,
            "keys": "jwks_uri" if jwks_uri else ("jwks" if registered_jwks else None),
        },
    )
    return client_id, client_secret


def get_client(session: Session, client_id: str) -> RelyingParty | None:
    return session.execute(
        select(RelyingParty).where(
            RelyingParty.client_id == client_id, RelyingParty.active.is_(True)
        )
    ).scalar_one_or_none()


def check_secret(client: RelyingParty, secret: str) -> bool:
    if client.secret_hash is None:
        return False
    return hmac.compare_digest(client.secret_hash, hash_token(secret))


_sector_cache: dict[str, bytes] = {}


def pairwise_subject(client: RelyingParty, account_id: uuid.UUID) -> str:
    """OIDC pairwise `sub`: two relying parties cannot link the same holder by subject."""
    return pairwise_subject_sealed(client.client_id, client.sector_secret, account_id)


def pairwise_subject_sealed(client_id: str, sealed: bytes, account_id: uuid.UUID) -> str:
    """`pairwise_subject` from the client's id and its sealed sector secret (a row's columns)."""
    secret = _sector_cache.get(client_id)
    if secret is None:
        secret = unseal(sealed, aad=_sector_aad(client_id))
        _sector_cache[client_id] = secret
    digest = hmac.new(secret, account_id.bytes, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")
