"""What lies outside: an email sender and an SMS gateway (implementations: `smtp`, `sms_http`,
`local_outbox`; `channels.channels_from_settings` picks them at start)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from eid.core.errors import EidError


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


class HasChannels(Protocol):
    """What the delivery job is handed (`eid.wiring.Ports`)."""

    @property
    def channels(self) -> Channels: ...
