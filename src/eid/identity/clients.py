"""Relying parties: registration by an admin under a written agreement, and pairwise subjects."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from eid.core import audit
from eid.core.audit import Actor
from eid.core.crypto import hash_token, seal, unseal
from eid.core.errors import ValidationFailed
from eid.identity.claims import SUPPORTED_SCOPES
from eid.identity.models import RelyingParty


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
) -> tuple[str, str]:
    """Register a relying party; returns (client_id, client_secret). The secret is shown once."""
    unknown = sorted(set(scopes) - set(SUPPORTED_SCOPES))
    if unknown or "openid" not in scopes:
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
        if parts.fragment or not (parts.scheme == "https" or (parts.scheme == "http" and loopback)):
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
    client_secret = secrets.token_urlsafe(32)
    session.add(
        RelyingParty(
            client_id=client_id,
            secret_hash=hash_token(client_secret),
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
    return hmac.compare_digest(client.secret_hash, hash_token(secret))


_sector_cache: dict[str, bytes] = {}


def pairwise_subject(client: RelyingParty, account_id: uuid.UUID) -> str:
    """OIDC pairwise `sub`: two relying parties cannot link the same holder by subject."""
    secret = _sector_cache.get(client.client_id)
    if secret is None:
        secret = unseal(client.sector_secret, aad=_sector_aad(client.client_id))
        _sector_cache[client.client_id] = secret
    digest = hmac.new(secret, account_id.bytes, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")
