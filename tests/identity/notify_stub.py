"""Until `eid.notify` lands, a stand-in with its signature that keeps messages in memory."""

from __future__ import annotations

import sys
import types
import uuid
from typing import Any

SENT: list[dict[str, Any]] = []


def install() -> None:
    try:
        import eid.notify.service  # noqa: F401
    except ModuleNotFoundError:
        module = types.ModuleType("eid.notify.service")

        def notify(session: Any, **kwargs: Any) -> None:
            SENT.append(kwargs)

        def inbox(session: Any, recipient_type: str, recipient_id: uuid.UUID) -> list[Any]:
            return [
                {"template": m["template"], "params": {}}
                for m in SENT
                if m["recipient_type"] == recipient_type and m["recipient_id"] == recipient_id
            ]

        def mark_read(session: Any, *args: Any) -> None:
            return None

        module.notify = notify  # type: ignore[attr-defined]
        module.inbox = inbox  # type: ignore[attr-defined]
        module.mark_read = mark_read  # type: ignore[attr-defined]
        sys.modules["eid.notify.service"] = module
