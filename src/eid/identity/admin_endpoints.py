"""Admin side of the OIDC provider: registering relying parties, rotating signing keys."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from eid.core.audit import Actor
from eid.core.web import get_db
from eid.identity import keys
from eid.identity.clients import create_client
from eid.staff.dependencies import require_roles

router = APIRouter(prefix="/api/v1/admin", tags=["relying parties"])


class ClientBody(BaseModel):
    name: str = Field(max_length=200)
    redirect_uris: list[str]
    scopes: list[str]
    purpose: str
    post_logout_redirect_uris: list[str] = Field(default_factory=list)
    profile: Literal["basic", "fapi2"] = Field(
        default="basic", description="fapi2: FAPI 2.0 (PAR, private_key_jwt, DPoP); needs keys"
    )
    jwks: dict[str, Any] | None = Field(
        default=None, description="the client's public JWKS (private_key_jwt, request objects)"
    )
    jwks_uri: str | None = Field(default=None, description="https URL of the client's JWKS")


class ClientOut(BaseModel):
    client_id: str
    profile: str = "basic"
    client_secret: str | None = Field(
        default=None,
        description="shown once; only its hash is kept. None for a client with keys "
        "(it authenticates with private_key_jwt)",
    )


class KeyOut(BaseModel):
    kid: str


@router.post("/clients", status_code=201)
def register_client(
    body: ClientBody,
    actor: Actor = Depends(require_roles("admin")),
    db: Session = Depends(get_db, scope="function"),
) -> ClientOut:
    client_id, secret = create_client(
        db,
        name=body.name,
        redirect_uris=body.redirect_uris,
        scopes=body.scopes,
        purpose=body.purpose,
        actor=actor,
        post_logout_redirect_uris=body.post_logout_redirect_uris,
        profile=body.profile,
        jwks=body.jwks,
        jwks_uri=body.jwks_uri,
    )
    return ClientOut(client_id=client_id, profile=body.profile, client_secret=secret)


@router.post("/oidc-keys/rotation", status_code=201)
def rotate_key(
    actor: Actor = Depends(require_roles("admin")),
    db: Session = Depends(get_db, scope="function"),
) -> KeyOut:
    return KeyOut(kid=keys.rotate(db, actor=actor).kid)
