"""The notification bodies, sealed, for `eid keys reseal` (see eid.core.sealed_blobs)."""

from __future__ import annotations

from eid.core.sealed_blobs import register
from eid.notify.models import Notification, body_aad

register(Notification.__table__, "body", lambda row, _: body_aad(row.id))  # type: ignore[arg-type]
