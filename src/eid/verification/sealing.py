"""The 1:N gallery's sealed templates, for `eid keys reseal` (see eid.core.sealed_blobs)."""

from __future__ import annotations

from eid.core.sealed_blobs import register
from eid.verification.gallery import face_aad, fingers_aad
from eid.verification.models import IdentityTemplate

_table = IdentityTemplate.__table__
register(_table, "face", lambda row, _: face_aad(row.application_id))  # type: ignore[arg-type]
register(_table, "fingers", lambda row, _: fingers_aad(row.application_id))  # type: ignore[arg-type]
