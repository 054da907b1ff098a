from __future__ import annotations

from tests.identity import notify_stub

notify_stub.install()
