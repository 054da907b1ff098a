"""Messages to the applicant about the application (the holder's come from the authority)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from eid.enrolment.models import Application
from eid.notify.service import notify

# What a holder reads for refusal codes (the code itself stays in the record).
REFUSAL_TEXT = {
    "ACCOUNT_EXISTS": "you already hold an e-ID account",
    "REFUSED": "the e-ID authority refused the request",
}


def notify_rejection(session: Session, app: Application) -> None:
    code = app.rejection_code or "REFUSED"
    notify(
        session,
        recipient_type="application",
        recipient_id=app.id,
        channels={"sms": app.phone, "email": app.email},
        language=app.language,
        template="application_rejected",
        params={
            "reason": app.rejection_reason or REFUSAL_TEXT.get(code, code),
            "full_name": app.full_name,
        },
        key=f"application-rejected:{app.id}",
    )
