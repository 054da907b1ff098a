"""FastAPI dependencies: who is calling, and may they."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from eid.core.audit import Actor
from eid.core.errors import Forbidden, Unauthorized
from eid.core.web import get_db, officers_only
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
                "this needs the role %(roles)s",
                code="ROLE_NOT_ALLOWED",
                details={"required": list(roles), "role": actor.role},
                params={"roles": ", ".join(roles)},
            )
        return actor

    return dependency


# Officers read their errors in Vietnamese or English (DESIGN.md §1).
officers_only(current_officer)
