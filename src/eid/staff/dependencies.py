"""FastAPI dependencies: who is calling, and may they."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from eid.core.audit import Actor
from eid.core.errors import Forbidden, Unauthorized
from eid.core.web import get_db
from eid.staff import service


def current_officer(request: Request, db: Session = Depends(get_db, scope="function")) -> Actor:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("an officer bearer token is required", code="INVALID_TOKEN")
    return service.actor_for_token(db, token)


def require_roles(*roles: str) -> Callable[..., Actor]:
    """Least privilege: each endpoint names the roles that may call it."""

    def dependency(actor: Actor = Depends(current_officer)) -> Actor:
        if actor.role not in roles:
            raise Forbidden(
                f"this needs the role {' or '.join(roles)}",
                code="ROLE_NOT_ALLOWED",
                details={"required": list(roles), "role": actor.role},
            )
        return actor

    return dependency
