"""The e-residence card shown as a QR code an ordinary phone camera reads: a short link.

The SD-JWT VC itself (hundreds of characters, bound to a device key) makes a dense code that
cameras read badly at card size; the QR holds instead a link to this issuer's check page with a
short-lived token: the account id and an expiry, authenticated by a MAC under a key derived from
the card issuer's signing key (nothing stored, nothing new to keep secret). Whoever scans it
within `TTL` sees what the card shows and whether it is valid now (a lock shows at once); after
that the link says nothing. 43 characters of token: with an https issuer of ordinary length the
code is version 4-5 at error level M (about 1.3 mm a module at 6 cm).
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import hmac
import uuid

import segno
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from eid.core import clock
from eid.core.errors import NotFound
from eid.wallet import keys

TTL = dt.timedelta(minutes=10)
_MAC_BYTES = 12


class CardLinkInvalid(NotFound):
    code = "CARD_LINK_INVALID"


@functools.cache
def _mac_key(kid: str) -> bytes:
    private = keys.issuer_key().private_key
    assert private is not None
    raw = private.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    info = b"eid card link v1 " + kid.encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(raw)


def _mac(body: bytes) -> bytes:
    return hmac.new(_mac_key(keys.issuer_kid()), body, hashlib.sha256).digest()[:_MAC_BYTES]


def make_token(account_id: uuid.UUID) -> tuple[str, dt.datetime]:
    expires = clock.now() + TTL
    body = account_id.bytes + int(expires.timestamp()).to_bytes(5, "big")
    token = base64.urlsafe_b64encode(body + _mac(body)).rstrip(b"=").decode()
    return token, expires


def read_token(token: str) -> uuid.UUID:
    """The account a live token names; an altered, foreign or expired one is refused alike."""
    refused = CardLinkInvalid(
        "this card link is not valid or has expired", code="CARD_LINK_INVALID"
    )
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (ValueError, TypeError):
        raise refused from None
    if len(raw) != 16 + 5 + _MAC_BYTES:
        raise refused
    body, mac = raw[:21], raw[21:]
    if not hmac.compare_digest(mac, _mac(body)):
        raise refused
    if int.from_bytes(body[16:], "big") < clock.now().timestamp():
        raise refused
    return uuid.UUID(bytes=body[:16])


def qr_svg(link: str) -> str:
    """The link as an inline SVG (no style attribute: it passes the pages' policy), error level
    M, the standard quiet zone of 4 modules; sized by the page's CSS. Hidden from assistive
    technology: the page names it around it, in the holder's language."""
    code = segno.make(link, error="m", micro=False)
    svg = code.svg_inline(
        svgclass="qr",
        lineclass=None,
        omitsize=True,
        border=4,
        dark="#000",
        light="#fff",
    )
    return str(svg).replace("<svg ", '<svg aria-hidden="true" focusable="false" ', 1)


def qr_version(link: str) -> str:
    return str(segno.make(link, error="m", micro=False).designator)
