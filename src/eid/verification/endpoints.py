from __future__ import annotations

import uuid
from typing import Any, Literal

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from eid.core.audit import Actor
from eid.core.web import get_db
from eid.registry.service import registry_port
from eid.staff.dependencies import require_roles
from eid.verification import repository, service

router = APIRouter(prefix="/api/v1/reviews", tags=["reviews"])


class DecisionIn(BaseModel):
    decision: str = Field(pattern="^(approve|reject)$")
    note: str = Field(min_length=3, max_length=1000)


@router.get("")
def list_reviews(
    db: Session = Depends(get_db, scope="function"),
    actor: Actor = Depends(require_roles("supervisor")),
) -> list[dict[str, Any]]:
    return [service.review_view(db, r, actor) for r in repository.open_reviews(db, actor.office)]


@router.post("/{review_id}/decision")
def decide(
    review_id: uuid.UUID,
    body: DecisionIn,
    db: Session = Depends(get_db, scope="function"),
    actor: Actor = Depends(require_roles("supervisor")),
) -> dict[str, Any]:
    review = service.decide_review(
        db, review_id, decision=body.decision, note=body.note, actor=actor
    )
    return service.review_view(db, review, actor)


@router.get(
    "/{review_id}/portraits/{side}",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}}}},
)
def review_portrait(
    review_id: uuid.UUID,
    side: Literal["application", "candidate", "registry"],
    db: Session = Depends(get_db, scope="function"),
    actor: Actor = Depends(require_roles("supervisor")),
) -> Response:
    """The held application's capture, the candidate's, or the applicant's photo on file in the
    immigration database, side by side in the review page. Never cached: biometric data."""
    image = service.review_portrait(db, review_id, side, actor, registry_port(db))
    media = (
        "image/jpeg"
        if image.startswith(b"\xff\xd8")
        else "image/png"
        if image.startswith(b"\x89PNG")
        else "application/octet-stream"
    )
    return Response(
        image,
        media_type=media,
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )
