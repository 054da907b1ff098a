"""OpenID4VP presentation requests a relying party made through eid's verifier, and their
outcome. The request lives minutes; what the wallet disclosed is kept only until the relying
party collects it or `RESULT_TTL` passes (wallet.purge_presentation_requests)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import DateTime, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from eid.core.database import Base, TimestampMixin


class PresentationRequest(TimestampMixin, Base):
    __tablename__ = "oid4vp_requests"

    # Random (not time-ordered): it opens the verifier page and the relying party's result.
    id: Mapped[str] = mapped_column(String(43), primary_key=True)
    # Random too, in request_uri only: the wallet's handle, which opens no result.
    handle: Mapped[str] = mapped_column(String(43), unique=True)
    client_id: Mapped[str] = mapped_column(String(64), index=True)  # the relying party
    dcql_query: Mapped[dict[str, Any]] = mapped_column(JSONB)
    nonce: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(64), unique=True)
    # direct_post, or direct_post.jwt (the response encrypted to eid's verifier key).
    response_mode: Mapped[str] = mapped_column(String(16), default="direct_post")
    # Same device: the relying party's registered redirect, sent back with a response_code.
    redirect_uri: Mapped[str | None] = mapped_column(Text)
    response_code_hash: Mapped[str | None] = mapped_column(String(64))
    # pending -> fetched (a wallet took the request object) -> verified | refused | expired
    status: Mapped[str] = mapped_column(String(16), default="pending")
    outcome: Mapped[str | None] = mapped_column(String(48))  # refusal code or card status
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONB)  # disclosed claims only
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    fetched_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    responded_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    collected_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
