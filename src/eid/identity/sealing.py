"""The relying parties' sector secrets and the OpenID Connect private keys, sealed, for
`eid keys reseal` (see eid.core.sealed_blobs)."""

from __future__ import annotations

from eid.core.sealed_blobs import register
from eid.identity.clients import _sector_aad
from eid.identity.keys import _aad as signing_key_aad
from eid.identity.models import OidcSigningKey, RelyingParty

register(
    RelyingParty.__table__,  # type: ignore[arg-type]
    "sector_secret",
    lambda row, _: _sector_aad(row.client_id),
)
register(
    OidcSigningKey.__table__,  # type: ignore[arg-type]
    "private_jwk",
    lambda row, _: signing_key_aad(row.kid),
)
