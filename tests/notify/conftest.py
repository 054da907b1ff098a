from __future__ import annotations

import pytest

import eid.notify.tasks  # noqa: F401 - registers the notify.deliver handler
from eid.notify.ports import Channels
from eid.wiring import Ports


@pytest.fixture
def live_channels(ports: Ports) -> Channels:
    """The real SMTP sender and HTTP gateway adapter, pointed at the local peers (`peers`)."""
    return ports.channels
