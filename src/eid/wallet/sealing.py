"""The issuing certificates' private keys, sealed, for `eid keys reseal`
(see eid.core.sealed_blobs)."""

from __future__ import annotations

from eid.core.sealed_blobs import register
from eid.wallet.certs import _aad as issuer_cert_aad
from eid.wallet.models import IssuerCertificate

register(
    IssuerCertificate.__table__,  # type: ignore[arg-type]
    "private_key",
    lambda row, _: issuer_cert_aad(row.kid),
)
