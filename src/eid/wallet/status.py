"""IETF Token Status List: two bits per credential (0 valid, 1 invalid, 2 suspended), served as
a signed JWT. A locked account's credentials read as suspended at once, and valid again when the
lock's last ground goes; a replaced device's credentials read as invalid."""

from __future__ import annotations

import secrets
import zlib
from collections.abc import Callable
from typing import Any

import cbor2
from sqlalchemy import Select, and_, case, select
from sqlalchemy.orm import Session

from eid.authority import service as authority
from eid.authority.models import Account
from eid.core import clock
from eid.core.settings import get_settings
from eid.identity.service import bound_devices
from eid.wallet import certs, mdoc, sdjwt
from eid.wallet.models import IssuedCredential, IssuerCertificate

VALID, INVALID, SUSPENDED = 0, 1, 2
BITS = 2
LIST_SIZE = 1 << 16  # entries per list: 16 KiB of status, indexes drawn at random for privacy
CURRENT_LIST = "1"
TTL_SECONDS = 300
StatusLookup = Callable[[str, int], int]


def list_uri(name: str) -> str:
    return f"{get_settings().issuer.rstrip('/')}/api/v1/wallet/status/{name}"


def allocate_index(session: Session, name: str = CURRENT_LIST) -> int:
    """A random free slot; sequential slots would tell verifiers the issuance order."""
    used = set(
        session.execute(
            select(IssuedCredential.status_index).where(IssuedCredential.status_list == name)
        ).scalars()
    )
    if len(used) >= LIST_SIZE:
        raise RuntimeError("status list full")  # a new list name is the remedy
    while True:
        index = secrets.randbelow(LIST_SIZE)
        if index not in used:
            return index


def _status_query(name: str) -> Select[Any]:
    """Each card's live status, judged by PostgreSQL in one statement whatever the list's size:
    invalid when revoked, signed by a revoked issuing certificate, or tied to a device since
    replaced (a lost or changed phone), else
    suspended while the account is not usable (locked, expired documents), else valid."""
    bound = bound_devices()
    revoked_signers = select(IssuerCertificate.kid).where(IssuerCertificate.revoked_at.is_not(None))
    status = case(
        (IssuedCredential.revoked_status != 0, INVALID),
        # Signed by an issuing certificate since revoked: a verifier that reads only the status
        # list (not the CRL) refuses the card too, and the holder's app offers a new one.
        (IssuedCredential.signer_kid.in_(revoked_signers), INVALID),
        (
            and_(
                IssuedCredential.device_id.is_not(None),
                IssuedCredential.device_id.is_distinct_from(bound.c.id),
            ),
            INVALID,
        ),
        (authority.usable_account(), VALID),
        else_=SUSPENDED,
    )
    return (
        select(IssuedCredential.status_index, status)
        .join(Account, Account.id == IssuedCredential.account_id, isouter=True)
        .join(bound, bound.c.account_id == IssuedCredential.account_id, isouter=True)
        .where(IssuedCredential.status_list == name)
    )


def statuses(session: Session, name: str) -> dict[int, int]:
    """Live status of every credential in the list."""
    return {int(index): int(value) for index, value in session.execute(_status_query(name))}


def compressed_list(values: dict[int, int], size: int = LIST_SIZE) -> bytes:
    data = bytearray(size * BITS // 8)
    per_byte = 8 // BITS
    for index, status in values.items():
        data[index // per_byte] |= status << ((index % per_byte) * BITS)
    return zlib.compress(bytes(data), 9)


def encode_list(values: dict[int, int], size: int = LIST_SIZE) -> str:
    return sdjwt.b64url(compressed_list(values, size))


def decode_status(lst: str, index: int, bits: int = BITS) -> int:
    data = zlib.decompress(sdjwt.b64url_decode(lst))
    per_byte = 8 // bits
    return (data[index // per_byte] >> ((index % per_byte) * bits)) & ((1 << bits) - 1)


def status_list_jwt(session: Session, name: str) -> str:
    now = int(clock.now().timestamp())
    payload: dict[str, Any] = {
        "sub": list_uri(name),
        "iss": get_settings().issuer,
        "iat": now,
        "exp": now + TTL_SECONDS * 2,
        "ttl": TTL_SECONDS,
        "status_list": {"bits": BITS, "lst": encode_list(statuses(session, name))},
    }
    # Signed like the credentials: ES256 by the issuing certificate, its chain in `x5c`.
    signer = certs.signer(session)
    header = {"alg": certs.ALG, "typ": "statuslist+jwt", "kid": signer.kid, "x5c": signer.x5c}
    return sdjwt.sign_jwt(header, payload, signer.jwk(), [certs.ALG])


CWT_TYPE = "application/statuslist+cwt"
# CWT claim keys (RFC 8392, draft-ietf-oauth-status-list): sub, exp, iat, ttl, status_list.
_SUB, _EXP, _IAT, _TTL, _STATUS_LIST = 2, 4, 6, 65534, 65533


def status_list_cwt(session: Session, name: str) -> bytes:
    """The same list as a CWT Status List Token (what an mdoc verifier may ask for with
    `Accept: application/statuslist+cwt`): COSE_Sign1 ES256, `typ` in the protected header, the
    issuing certificate in `x5chain`."""
    now = int(clock.now().timestamp())
    claims = {
        _SUB: list_uri(name),
        _IAT: now,
        _EXP: now + TTL_SECONDS * 2,
        _TTL: TTL_SECONDS,
        _STATUS_LIST: {"bits": BITS, "lst": compressed_list(statuses(session, name))},
    }
    return mdoc.sign1(cbor2.dumps(claims), certs.signer(session), typ=CWT_TYPE, tag=True)


def status_of(session: Session, name: str, index: int) -> int:
    """Our own verifier reads the same live source the published list is made from."""
    row = session.execute(
        _status_query(name).where(IssuedCredential.status_index == index)
    ).one_or_none()
    return INVALID if row is None else int(row[1])
