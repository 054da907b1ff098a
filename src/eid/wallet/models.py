"""Issued credentials and their place in a status list (the credential itself is not kept)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    UniqueConstraint,
    text,
)
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
    # The device bound when it was issued: a later rebinding revokes it. None when the account had
    # none (a wallet's own key, through OpenID4VCI): then only the account's state counts.
    device_id: Mapped[uuid.UUID | None] = mapped_column()
    # dc+sd-jwt (ES256, x5c), mso_mdoc, or eddsa+sd-jwt (the first EdDSA cards, before issue 12).
    format: Mapped[str] = mapped_column(String(16), default="dc+sd-jwt")
    holder_jkt: Mapped[str | None] = mapped_column(String(64))  # RFC 7638 thumbprint of cnf key
    status_list: Mapped[str] = mapped_column(String(16), index=True)
    status_index: Mapped[int] = mapped_column(Integer)
    # Set when the credential itself is revoked (re-issued, device replaced); a lock of the
    # account is read live from the account and shows as "suspended".
    revoked_status: Mapped[int] = mapped_column(SmallInteger, default=0)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    # The issuing certificate that signed it (its kid): a revoked issuing certificate names the
    # cards every verifier now refuses, whose holders need a new one. None: issued before 0023
    # with no audit event to tell, or an EdDSA card of the first key.
    signer_kid: Mapped[str | None] = mapped_column(String(64), index=True)


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


class CredentialOffer(TimestampMixin, Base):
    """OpenID4VCI 1.0 §4.1: an offer the signed-in holder asked for, redeemed with its
    pre-authorized code and the transaction code sent to the holder's verified channel. Only
    hashes are kept: the code and the offer link open nothing from this table alone. The offer
    JSON is served at `credential_offer_uri` (the URI token's hash) until first redeemed."""

    __tablename__ = "wallet_vci_offers"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    account_id: Mapped[uuid.UUID] = mapped_column(index=True)
    configuration_ids: Mapped[list[str]] = mapped_column(ARRAY(String(64)))
    uri_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    tx_code_hash: Mapped[str] = mapped_column(String(64))
    # §4.1.1 `issuer_state` of the offer's `authorization_code` grant (opt-in): None when the
    # offer carries the pre-authorized code only.
    issuer_state_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    acr: Mapped[str] = mapped_column(String(40))
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    fetched_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class IssuanceNonce(TimestampMixin, Base):
    """OpenID4VCI 1.0 §7: a `c_nonce` from the nonce endpoint; one proof may answer it once."""

    __tablename__ = "wallet_vci_nonces"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class IssuerCertificate(TimestampMixin, Base):
    """The issuing chain: the eid Root CA (`role` root) and the issuing certificates it signs
    (`role` ds: SD-JWT VC `x5c` leaf and mdoc Document Signer). The private key is sealed; the
    newest of each role alone has no `retired_at` (partial unique index), so two processes
    starting at once make one chain. A revoked issuing certificate (`revoked_at`, with its RFC
    5280 reason) is on the root's CRL and no longer published."""

    __tablename__ = "wallet_issuer_certs"
    __table_args__ = (
        Index(
            "uq_wallet_issuer_certs_one_current",
            "role",
            unique=True,
            postgresql_where=text("retired_at IS NULL"),
        ),
        # RFC 5280 §5.3.1 reasons an issuing certificate may be revoked for, and both or neither.
        CheckConstraint(
            "(revoked_at IS NULL) = (revocation_reason IS NULL) AND (revocation_reason IS NULL "
            "OR revocation_reason IN ('unspecified', 'keyCompromise', 'affiliationChanged', "
            "'superseded', 'cessationOfOperation', 'privilegeWithdrawn'))",
            name="revocation",
        ),
    )

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(8))
    serial: Mapped[str] = mapped_column(String(40))
    cert_der: Mapped[bytes] = mapped_column(LargeBinary)
    private_key: Mapped[bytes] = mapped_column(LargeBinary)  # sealed PKCS#8
    not_before: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    not_after: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    retired_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revocation_reason: Mapped[str | None] = mapped_column(String(24))


class IssuerCrl(TimestampMixin, Base):
    """Every CRL the root signed (X.509 v2, RFC 5280 §5), numbered: the newest is served at
    `/api/v1/wallet/issuer/root.crl` and re-signed when the revoked set changes, the root
    changes, or its nextUpdate nears. Kept (not purged): each number is signed once."""

    __tablename__ = "wallet_issuer_crls"

    number: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_kid: Mapped[str] = mapped_column(String(64))
    crl_der: Mapped[bytes] = mapped_column(LargeBinary)
    this_update: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    next_update: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


# OpenID4VP requests (their own module; loaded with the wallet tables for metadata).
from eid.wallet.oid4vp_models import PresentationRequest  # noqa: E402, F401
