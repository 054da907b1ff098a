from __future__ import annotations

from collections.abc import Iterator

import pytest

import eid.notify.tasks  # noqa: F401 - registers the notify.deliver handler
from eid.core.settings import get_settings
from eid.notify.ports import Channels
from eid.notify.sms_http import HttpSmsGateway
from eid.notify.smtp import SmtpEmailSender
from tests.notify.peers import SmsGateway, SmtpServer

# The Message-ID's domain comes from EID_SMTP_FROM too, so the test sender is the configured one.
SENDER = get_settings().smtp_from


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def sms_gateway() -> Iterator[SmsGateway]:
    gateway = SmsGateway()
    gateway.start()
    yield gateway
    gateway.stop()


@pytest.fixture
def live_channels(smtp_server: SmtpServer, sms_gateway: SmsGateway) -> Iterator[Channels]:
    """The real SMTP sender and HTTP gateway adapter, pointed at the local peers."""
    channels = Channels(
        email=SmtpEmailSender("127.0.0.1", smtp_server.port, SENDER),
        sms=HttpSmsGateway(sms_gateway.url, timeout=5),
    )
    yield channels
