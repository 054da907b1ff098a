"""Which channels this process uses: chosen once, at app or worker start (`eid.wiring`)."""

from __future__ import annotations

from eid.core.settings import Settings
from eid.notify.local_outbox import LocalOutboxEmailSender, LocalOutboxSmsGateway
from eid.notify.ports import Channels, EmailSender, SmsGateway
from eid.notify.sms_http import HttpSmsGateway
from eid.notify.smtp import SmtpEmailSender


def channels_from_settings(settings: Settings) -> Channels:
    """The real SMTP server and gateway when configured, else the local outbox folder."""
    outbox = settings.data_dir / "outbox"
    email: EmailSender = (
        SmtpEmailSender(settings.smtp_host, settings.smtp_port, settings.smtp_from)
        if settings.smtp_host
        else LocalOutboxEmailSender(outbox / "email", settings.smtp_from)
    )
    sms: SmsGateway = (
        HttpSmsGateway(settings.sms_gateway_url)
        if settings.sms_gateway_url
        else LocalOutboxSmsGateway(outbox / "sms")
    )
    return Channels(email=email, sms=sms)
