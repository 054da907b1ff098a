"""The officers' sealed TOTP secrets, for `eid keys reseal` (see eid.core.sealed_blobs)."""

from __future__ import annotations

from eid.core.sealed_blobs import register
from eid.staff.models import Officer
from eid.staff.service import totp_aad

register(Officer.__table__, "totp_secret", lambda row, _: totp_aad(row.username))  # type: ignore[arg-type]
