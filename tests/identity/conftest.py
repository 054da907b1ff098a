from __future__ import annotations

import pytest


@pytest.fixture
def server(live: str) -> str:
    """The one live server (tests/conftest.py), under the name identity's tests use."""
    return live
