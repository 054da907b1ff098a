from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from tests.identity import notify_stub
from tests.identity.live_server import serve

notify_stub.install()


@pytest.fixture
def server(committed: Engine) -> Iterator[str]:
    """The real app on a free port, EID_ISSUER pointing at it."""
    with serve() as base:
        yield base
