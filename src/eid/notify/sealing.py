"""The notification bodies, sealed, for `eid keys reseal` (see eid.core.sealed_blobs)."""

from __future__ import annotations

from eid.core.sealed_blobs import register
from eid.notify.models import Notification, body_aad

register(Notification.__table__, "body", lambda row, _: body_aad(row.id))  # type: ignore[arg-type]
# The masked copy of a secret-bearing app message shares the body's AAD (see the model).
register(Notification.__table__, "masked_body", lambda row, _: body_aad(row.id))  # type: ignore[arg-type]
