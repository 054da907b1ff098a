"""The application's state machine: every transition is checked, audited, in the caller's tx."""

from __future__ import annotations

from sqlalchemy.orm import Session

from eid.core import audit
from eid.core.audit import Actor
from eid.core.errors import IllegalTransition
from eid.core.listen import publish
from eid.enrolment.models import Application
from eid.i18n import Msgid

# Notified with the application's id when it leaves `captured` (verification is done), so a
# client waiting for the outcome wakes at the worker's commit (`service.wait_for_verification`).
STATUS_CHANNEL = "eid_application_verified"

ALLOWED: dict[str, frozenset[str]] = {
    "draft": frozenset({"captured", "cancelled"}),
    "captured": frozenset({"draft", "verified", "in_review", "rejected", "cancelled"}),
    # verified -> captured: the officer corrected TK01, so the checks run again (`counter`).
    "verified": frozenset({"consented", "cancelled", "rejected", "captured"}),
    "in_review": frozenset({"verified", "rejected", "cancelled"}),
    "consented": frozenset({"submitted", "cancelled"}),
    "submitted": frozenset({"issued", "rejected"}),
    "issued": frozenset(),
    "rejected": frozenset(),
    "cancelled": frozenset(),
}


def require_status(app: Application, *statuses: str, action: Msgid) -> None:
    """`action` (marked with `N_`) is read in the refusal: "cannot <action> an application..."."""
    if app.status not in statuses:
        raise IllegalTransition(
            "cannot %(action)s an application that is %(status)s",
            details={"status": app.status, "allowed_from": list(statuses)},
            params={"action": action, "status": app.status},
        )


def transition(
    session: Session, app: Application, to: str, *, actor: Actor, reason: str | None = None
) -> None:
    if to not in ALLOWED[app.status]:
        raise IllegalTransition(
            "an application cannot go from %(from_status)s to %(to_status)s",
            details={"from": app.status, "to": to},
            params={"from_status": app.status, "to_status": to},
        )
    before = app.status
    app.status = to
    session.flush()
    if before == "captured":
        publish(session, STATUS_CHANNEL, str(app.id))
    audit.record(
        session,
        actor,
        f"application.{to}",
        "application",
        app.id,
        reason=reason,
        details={"from": before},
    )
