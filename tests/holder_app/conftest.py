"""The holder app's tests: a phone-sized Chromium page, and holders signed in through the
session cookie the app's pages read."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.axe import PHONE


@pytest.fixture
def phone(page: Any) -> Any:
    """The `page` fixture at a phone's size (390x844)."""
    page.set_viewport_size(PHONE)
    return page
