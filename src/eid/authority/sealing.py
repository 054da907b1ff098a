"""The authority's sealed columns and the sealed parts of queued account requests, for
`eid keys reseal` (see eid.core.sealed_blobs)."""

from __future__ import annotations

from eid.authority.models import Account
from eid.authority.schemas import account_request_aad
from eid.authority.service import _fingers_aad, _portrait_aad
from eid.core.jobs import Job
from eid.core.sealed_blobs import register

_accounts = Account.__table__
register(_accounts, "portrait", lambda row, _: _portrait_aad(row.id))  # type: ignore[arg-type]
register(
    _accounts,  # type: ignore[arg-type]
    "fingerprint_templates",
    lambda row, _: _fingers_aad(row.id),
)
# Queued (and kept, until pruned) `authority.account_request` jobs carry the request sealed.
register(
    Job.__table__,  # type: ignore[arg-type]
    "payload",
    lambda row, part: account_request_aad(row.payload["request_id"], part),
    parts=("message", "portrait", "fingerprint_templates"),
    where=Job.__table__.c.task == "authority.account_request",
)
