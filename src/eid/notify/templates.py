"""What each notification says, in the reader's language.

Each template has a subject (never a secret: it is stored in clear), a body for email and the
app inbox, and a shorter SMS text. All three are message ids of the `messages` catalogues (the
English text with `%(name)s` placeholders), so every template exists in every language the
catalogues hold, and a language without a translation reads English instead of failing.
SMS texts in Vietnamese, Chinese, Korean and Japanese travel as UCS-2 (70 characters in one SMS,
67 per part of a longer one): they are kept to one or two parts. Each message names its page of
the eid app (`APP_PAGES`, `{issuer}/app/...`): in the body always, in the SMS when the link
still fits that budget (`SMS_BUDGET`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eid.core.errors import ValidationFailed
from eid.core.settings import get_settings
from eid.i18n import N_, Msgid, format_date, gettext, negotiate

SMS_LINK = N_("eid app: %(app_link)s")


@dataclass(frozen=True)
class Template:
    subject: Msgid
    body: Msgid
    sms: Msgid
    # Added to the SMS when it fits the budget; a body without `%(app_link)s` gets `LINK_LINE`.
    sms_link: Msgid = SMS_LINK


@dataclass(frozen=True)
class Rendered:
    language: str
    subject: str
    body: str
    sms: str
    # The body with every one-time secret masked (None when the template carries none): what
    # the app inbox shows once the code is used, superseded or expired.
    masked_body: str | None = None


TEMPLATES: dict[str, Template] = {
    "application_received": Template(
        subject=N_("Your e-ID application has been received"),
        body=N_(
            "Dear %(full_name)s,\n\n"
            "The immigration office has received your application for a Level 2 electronic "
            "identification account. The decision is due no later than %(legal_deadline)s.\n\n"
            "We will notify you of the result.\n"
        ),
        sms=N_(
            "Your Level 2 e-ID application has been received. Decision due by %(legal_deadline)s."
        ),
    ),
    "account_issued": Template(
        subject=N_("Your e-ID account has been created"),
        body=N_(
            "Dear %(full_name)s,\n\n"
            "Your Level 2 electronic identification account has been created.\n"
            "e-ID number: %(eid_number)s\n"
            "Activation code: %(activation_code)s\n\n"
            "To activate it: open the eid app at %(app_link)s, enter your e-ID number and the "
            "activation code above, then set your password and passcode.\n\n"
            "Do not share the activation code with anyone, officers included: the authorities "
            "never ask for it.\n"
        ),
        sms=N_(
            "e-ID account %(eid_number)s created. Activation code: %(activation_code)s. "
            "Never share this code."
        ),
        sms_link=N_("Activate it in the eid app: %(app_link)s"),
    ),
    "application_rejected": Template(
        subject=N_("Decision on your e-ID application"),
        body=N_(
            "Dear %(full_name)s,\n\n"
            "Your application for a Level 2 electronic identification account has been "
            "refused.\nReason: %(reason)s\n\n"
            "Please contact the immigration office where you applied for guidance.\n"
        ),
        sms=N_(
            "Your Level 2 e-ID application was refused. Reason: %(reason)s. Please contact "
            "the office where you applied."
        ),
    ),
    "document_expiry_warning": Template(
        subject=N_("Your document is about to expire"),
        body=N_(
            "The passport or residence card linked to your e-ID account %(eid_number)s expires "
            "on %(expiry_date)s. When it expires, the account will be locked. Please renew it "
            "and have it updated at an immigration office before that day.\n"
        ),
        sms=N_(
            "The document linked to your e-ID account %(eid_number)s expires on "
            "%(expiry_date)s. Renew it to keep the account unlocked."
        ),
    ),
    "account_locked": Template(
        subject=N_("Your e-ID account has been locked"),
        body=N_(
            "Your e-ID account %(eid_number)s has been locked. Reason: %(ground)s.\n"
            "It unlocks automatically once no reason for the lock remains. If you did not "
            "ask for this, please contact an immigration office.\n"
        ),
        sms=N_("Your e-ID account %(eid_number)s has been locked. Reason: %(ground)s."),
    ),
    "account_unlocked": Template(
        subject=N_("Your e-ID account has been unlocked"),
        body=N_("Your e-ID account %(eid_number)s has been unlocked and can be used again.\n"),
        sms=N_("Your e-ID account %(eid_number)s has been unlocked."),
    ),
    "card_reissue_needed": Template(
        subject=N_("Add your e-residence card to your wallet again"),
        body=N_(
            "For your security, eid has withdrawn the certificate that signed the e-residence "
            "card in your wallet, so verifiers no longer accept that card. Your e-ID account "
            "%(eid_number)s is not affected: open the eid app and add your card again.\n"
        ),
        sms=N_("eid: your e-residence card is no longer accepted. Add it again in the eid app."),
    ),
    "phone_verification_otp": Template(
        subject=N_("Phone verification code"),
        body=N_(
            "Your phone verification code for the e-ID application is %(otp)s\n\n"
            "Tell it only to the immigration officer handling your application.\n"
        ),
        sms=N_(
            "Your e-ID application phone code: %(otp)s. Tell it only to the officer at the counter."
        ),
    ),
    "device_rebind_otp": Template(
        subject=N_("Code to bind a new device"),
        body=N_(
            "The code to bind a new device to your e-ID account is %(otp)s\n\n"
            "If you did not ask for it, ignore this message and do not share the code.\n"
        ),
        sms=N_("Your code to bind a new device: %(otp)s. Never share this code."),
    ),
    "wallet_offer_tx_code": Template(
        subject=N_("Code to add your card to a wallet"),
        body=N_(
            "The code to add your e-residence card to a wallet is %(otp)s\n\n"
            "Enter it only in the wallet where you scanned the code of the eid app. If you did "
            "not ask for it, ignore this message and do not share the code.\n"
        ),
        sms=N_("Your code to add your card to a wallet: %(otp)s. Never share this code."),
    ),
    "password_changed": Template(
        subject=N_("Your e-ID password was changed"),
        body=N_(
            "The password of your e-ID account %(eid_number)s was changed.\n\n"
            "If you did not change it, lock your account in the app at once and contact an "
            "immigration office.\n"
        ),
        sms=N_("Your e-ID password was changed. Not you? Lock the account in the app."),
    ),
    "passcode_changed": Template(
        subject=N_("Your e-ID passcode was changed"),
        body=N_(
            "The passcode of your e-ID account %(eid_number)s was changed.\n\n"
            "If you did not change it, lock your account in the app at once and contact an "
            "immigration office.\n"
        ),
        sms=N_("Your e-ID passcode was changed. Not you? Lock the account in the app."),
    ),
    "activation_code_renewed": Template(
        subject=N_("A new activation code for your e-ID account"),
        body=N_(
            "The new activation code for your e-ID account %(eid_number)s is "
            "%(activation_code)s\n\nThe previous code no longer works. Do not share the "
            "activation code with anyone, officers included: the authorities never ask for it.\n"
        ),
        sms=N_(
            "New activation code for e-ID %(eid_number)s: %(activation_code)s. The old code no "
            "longer works. Never share it."
        ),
    ),
    # Level 1, registered by the holder in the app (DESIGN.md §1, Level 1).
    "registration_phone_otp": Template(
        subject=N_("Code to verify your phone number"),
        body=N_(
            "Your code to verify this phone number for your e-ID registration is %(otp)s\n\n"
            "Type it into the eid app. Never tell it to anyone.\n"
        ),
        sms=N_("Your e-ID registration code: %(otp)s. Type it into the eid app. Never share it."),
    ),
    "level1_registration_received": Template(
        subject=N_("Your Level 1 e-ID registration has been received"),
        body=N_(
            "Dear %(full_name)s,\n\n"
            "Your registration for a Level 1 electronic identification account has been "
            "received. The decision is due no later than %(legal_deadline)s.\n\n"
            "To follow it, open the eid app at /app.\n"
        ),
        sms=N_("Your Level 1 e-ID registration was received. Decision by %(legal_deadline)s."),
    ),
    "level1_account_issued": Template(
        subject=N_("Your Level 1 e-ID account has been created"),
        body=N_(
            "Dear %(full_name)s,\n\n"
            "Your Level 1 electronic identification account has been created.\n"
            "e-ID number: %(eid_number)s\n"
            "Activation code: %(activation_code)s\n\n"
            "To activate it: open the eid app at /app, choose “Activate account”, enter your "
            "e-ID number and the activation code above, then set your password and passcode.\n"
            "To upgrade to Level 2, apply at an immigration office: the account keeps its "
            "number.\n\n"
            "Do not share the activation code with anyone, officers included: the authorities "
            "never ask for it.\n"
        ),
        sms=N_(
            "Your Level 1 e-ID %(eid_number)s is ready. Activation code: %(activation_code)s. "
            "Open the eid app at /app. Never share this code."
        ),
    ),
    "level1_registration_rejected": Template(
        subject=N_("Decision on your Level 1 e-ID registration"),
        body=N_(
            "Dear %(full_name)s,\n\n"
            "Your registration for a Level 1 electronic identification account has been "
            "refused.\nReason: %(reason)s\n\n"
            "You may register again in the eid app at /app, or apply at an immigration office.\n"
        ),
        sms=N_("Your Level 1 e-ID registration was refused. Reason: %(reason)s."),
    ),
    # Only in the app inbox (approval on the bound device): no job, nothing personal.
    "sign_in_approval": Template(
        subject=N_("A sign-in waits for your approval"),
        body=N_(
            "A sign-in with your e-ID waits for your approval in the eid app. See who asks, "
            "pick the number the sign-in page shows and approve, within two minutes.\n\n"
            "If you did not start it, deny it.\n"
        ),
        sms=N_("A sign-in with your e-ID waits for approval in the eid app. Not you? Deny it."),
    ),
    "account_upgraded": Template(
        subject=N_("Your e-ID account is now Level 2"),
        body=N_(
            "Dear %(full_name)s,\n\n"
            "Your e-ID account %(eid_number)s has been upgraded to Level 2: your fingerprints "
            "have been added and your portrait updated. The e-ID number stays the same.\n\n"
            "Sign in again in the eid app at /app to use Level 2.\n"
        ),
        sms=N_(
            "Your e-ID account %(eid_number)s is now Level 2. Sign in again in the eid app to "
            "use it."
        ),
    ),
}

# The page of the eid app (`/app`) each message is about: the body (email and app inbox) names
# it as a link, the SMS when it fits its budget, the inbox item carries it (`app_link`). None:
# the code is read out to the officer at the counter, so no page of the app fits it.
APP_PAGES: dict[str, str | None] = {
    "application_received": "/app/status",
    "account_issued": "/app/activate",
    "application_rejected": "/app/status",
    "document_expiry_warning": "/app/home",
    "account_locked": "/app/lock",
    "account_unlocked": "/app/lock",
    "phone_verification_otp": None,
    "device_rebind_otp": "/app/device",
    "activation_code_renewed": "/app/activate",
    # Not the holder's doing? The message says to lock the account at once: that page.
    "password_changed": "/app/lock",
    "passcode_changed": "/app/lock",
    "registration_phone_otp": "/app/register",  # typed into the registration under way
    "level1_registration_received": "/app/status",
    "level1_account_issued": "/app/activate",
    "level1_registration_rejected": "/app/register",
    "account_upgraded": "/app/sign-in",
    "sign_in_approval": "/app/approvals",
    "wallet_offer_tx_code": "/app/wallet",
    "card_reissue_needed": "/app/wallet",
}
LINK_LINE = N_("In the eid app: %(app_link)s")
# GSM-7 carries 160 characters in one SMS; UCS-2 (Vietnamese, CJK) 67 per part: two parts.
SMS_BUDGET = {"gsm": 160, "ucs2": 2 * 67}
_AUTOMATIC = {"app_link"}  # filled in by `render`, never by the caller

# Lock grounds arrive as the authority's codes; the holder reads them in words.
GROUNDS: dict[str, Msgid] = {
    "holder_request": N_("at your request"),
    "breach_of_terms": N_("breach of the terms of use"),
    "passport_expired": N_("the passport has expired"),
    "residence_card_expired": N_("the residence card has expired"),
    "exited": N_("departure from Viet Nam"),
    "deceased": N_("death of the holder"),
    "agency_request": N_("at the request of a competent authority"),
}

_DATE_PARAMS = ("legal_deadline", "expiry_date")
# One-time secrets: in the inbox only until used, superseded or expired (`service.redact_secrets`).
SECRET_PARAMS = ("activation_code", "otp")
MASK = "\u2022" * 6  # six bullets: says "a code was here" without its length or digits
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def resolve_language(tag: str | None) -> str:
    """The language a notification is written in: the applicant's choice, else English."""
    return negotiate(tag)


def _format_date(value: object, language: str) -> object:
    day = value if isinstance(value, dt.date) else None
    if isinstance(value, str):
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            return value
    if day is None:
        return value
    if isinstance(day, dt.datetime):
        day = day.date()
    # Vietnamese official letters write dd/mm/yyyy; the other languages take CLDR's long form.
    return format_date(day, language, style="dd/MM/yyyy" if language == "vi" else "long")


def fields(template: Template) -> set[str]:
    """The parameters a caller gives (the app link is filled in by `render`)."""
    return {
        name
        for text in (template.subject, template.body, template.sms)
        for name in _PLACEHOLDER.findall(text)
    } - _AUTOMATIC


def app_link(template: str) -> str | None:
    """The app page (a path under /app) a message of this template is about."""
    return APP_PAGES.get(template)


def sms_fits(text: str) -> bool:
    return len(text) <= SMS_BUDGET["gsm" if text.isascii() else "ucs2"]


def secrets_of(template: str) -> set[str]:
    """The one-time secrets a template's texts carry."""
    texts = TEMPLATES.get(template)
    return fields(texts) & set(SECRET_PARAMS) if texts else set()


def render(
    template: str,
    language: str | None,
    params: Mapping[str, object],
    *,
    issuer: str | None = None,
) -> Rendered:
    texts = TEMPLATES.get(template)
    if texts is None:
        raise ValidationFailed(
            "unknown notification template",
            code="UNKNOWN_TEMPLATE",
            details={"template": template, "known": sorted(TEMPLATES)},
        )
    missing = sorted(fields(texts) - params.keys())
    if missing:
        raise ValidationFailed(
            "the template needs more parameters",
            code="TEMPLATE_PARAMS_MISSING",
            details={"template": template, "missing": missing},
        )
    used = resolve_language(language)
    values: dict[str, Any] = dict(params)
    for name in _DATE_PARAMS:
        if name in values:
            values[name] = _format_date(values[name], used)
    if "ground" in values:
        values["ground"] = GROUNDS.get(str(values["ground"]), values["ground"])
    page = APP_PAGES.get(template)
    if page:
        values["app_link"] = (issuer or get_settings().issuer).rstrip("/") + page
    secret = fields(texts) & set(SECRET_PARAMS)
    masked = {**values, **dict.fromkeys(secret, MASK)}
    sms = gettext(used, texts.sms, **values)
    if page:
        linked = f"{sms} {gettext(used, texts.sms_link, **values)}"
        sms = linked if sms_fits(linked) else sms
    return Rendered(
        language=used,
        subject=gettext(used, texts.subject, **values),
        body=_body(used, texts, values, linked=bool(page)),
        sms=sms,
        masked_body=_body(used, texts, masked, linked=bool(page)) if secret else None,
    )


def _body(language: str, texts: Template, values: Mapping[str, Any], *, linked: bool) -> str:
    body = gettext(language, texts.body, **values)
    if not linked or "%(app_link)s" in texts.body:
        return body
    return f"{body.rstrip()}\n\n{gettext(language, LINK_LINE, **values)}\n"
