"""Messages to the applicant about the application (the holder's come from the authority)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from eid.enrolment.models import Application
from eid.i18n import N_, Msgid
from eid.notify.service import notify

# What an applicant reads for refusal codes, in the applicant's language (the code itself, and
# the officers' own wording of the reason, stay in the record).
REFUSAL_TEXT: dict[str, Msgid] = {
    "ACCOUNT_EXISTS": N_("you already hold an e-ID account"),
    "REFUSED": N_("the e-ID authority refused the request"),
    "VERIFICATION_FAILED": N_(
        "the data or biometrics given do not match the national immigration database"
    ),
    "REVIEW_REJECTED": N_("the application was refused after review by a supervisor"),
}


def notify_rejection(session: Session, app: Application) -> None:
    code = app.rejection_code or "REFUSED"
    notify(
        session,
        recipient_type="application",
        recipient_id=app.id,
        channels={"sms": app.phone, "email": app.email},
        language=app.language,
        template="application_rejected" if app.level == 2 else "level1_registration_rejected",
        params={
            # A known code reads in the applicant's language; an unknown one as recorded.
            "reason": REFUSAL_TEXT.get(code) or app.rejection_reason or code,
            "full_name": app.full_name,
        },
        key=f"application-rejected:{app.id}",
    )
