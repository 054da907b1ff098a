"""What lies outside: an email sender and an SMS gateway, and which ones this process uses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from eid.core.errors import EidError
from eid.core.settings import Settings, get_settings


class DeliveryFailed(EidError):
    """The channel did not take the message. `permanent`: retrying cannot help (a refused
    address, a 4xx from the gateway). The message text never holds an address or a body, which
    is why the job queue may keep it as the failure's reason."""

    code = "DELIVERY_FAILED"
    status = 502

    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


class EmailSender(Protocol):
    def send(self, *, to: str, subject: str, body: str, message_id: str) -> None: ...


class SmsGateway(Protocol):
    def send(self, *, to: str, text: str, idempotency_key: str) -> None: ...


@dataclass(frozen=True)
class Channels:
    email: EmailSender
    sms: SmsGateway


def channels_from_settings(settings: Settings) -> Channels:
    """The real SMTP server and gateway when configured, else the local outbox folder."""
    from eid.notify.local_outbox import LocalOutboxEmailSender, LocalOutboxSmsGateway
    from eid.notify.sms_http import HttpSmsGateway
    from eid.notify.smtp import SmtpEmailSender

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


_channels: Channels | None = None


def get_channels() -> Channels:
    global _channels
    if _channels is None:
        _channels = channels_from_settings(get_settings())
    return _channels


def set_channels(channels: Channels | None) -> None:
    """Use these channels in this process (tests, or an app wiring its own); None: settings."""
    global _channels
    _channels = channels
