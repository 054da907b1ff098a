"""The registry's sealed images, for `eid keys reseal` (see eid.core.sealed_blobs)."""

from __future__ import annotations

from eid.core.sealed_blobs import register
from eid.registry.models import RegistryFingerprint, RegistryPerson
from eid.registry.service import _finger_aad, _portrait_aad

register(RegistryPerson.__table__, "portrait", lambda row, _: _portrait_aad(row.id))  # type: ignore[arg-type]
register(
    RegistryFingerprint.__table__,  # type: ignore[arg-type]
    "image",
    lambda row, _: _finger_aad(row.person_id, row.position),
)
