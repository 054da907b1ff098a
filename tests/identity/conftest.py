from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from eid.identity import keys
from tests.identity.live_server import serve


@pytest.fixture
def server(committed: Engine) -> Iterator[str]:
    """The real app on a free port, EID_ISSUER pointing at it. The process-wide active-key cache
    is dropped: `committed` truncated the keys table after the previous test."""
    keys.forget_active_key()
    with serve() as base:
        yield base
