"""Issued credentials and their place in a status list (the credential itself is not kept)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import DateTime, Integer, SmallInteger, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from eid.core.database import Base, TimestampMixin
from eid.core.ids import new_id


class IssuedCredential(TimestampMixin, Base):
    __tablename__ = "wallet_credentials"
    __table_args__ = (
        UniqueConstraint("status_list", "status_index", name="uq_wallet_status_slot"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    account_id: Mapped[uuid.UUID] = mapped_column(index=True)
    device_id: Mapped[uuid.UUID] = mapped_column()
    status_list: Mapped[str] = mapped_column(String(16), index=True)
    status_index: Mapped[int] = mapped_column(Integer)
    # Set when the credential itself is revoked (re-issued, device replaced); a lock of the
    # account is read live from the account and shows as "suspended".
    revoked_status: Mapped[int] = mapped_column(SmallInteger, default=0)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class VerifierNonce(TimestampMixin, Base):
    """A nonce our verifier endpoint handed out; a presentation may answer it once."""

    __tablename__ = "wallet_verifier_nonces"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    audience: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class CardLink(TimestampMixin, Base):
    """What the card's QR carries: `{issuer}/v/<token>`, a short link any phone camera reads,
    opening the card's state and the claims the holder chose to show. It lives minutes; only the
    token's SHA-256 is kept, so this table alone opens no card."""

    __tablename__ = "wallet_card_links"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[uuid.UUID] = mapped_column(index=True)
    claims: Mapped[list[str]] = mapped_column(ARRAY(String(32)))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
