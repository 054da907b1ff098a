"""Tables of the identity domain. Accounts themselves belong to `authority`: we keep ids only."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from eid.core.database import Base, TimestampMixin
from eid.core.ids import new_id


class HolderCredential(TimestampMixin, Base):
    """Password and passcode of an activated account, and its failed-attempt state."""

    __tablename__ = "holder_credentials"

    account_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    passcode_hash: Mapped[str] = mapped_column(String(200))
    # WebAuthn user handle (base64url of 32 random bytes): never the e-ID number; the same for
    # every passkey of the account, so a new passkey on one authenticator replaces the old.
    passkey_user_handle: Mapped[str | None] = mapped_column(String(64), unique=True)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class Device(TimestampMixin, Base):
    """A holder's bound device: a JWS device key (native wallets, `kind` "jws") or a WebAuthn
    passkey (browsers, `kind` "passkey"). At most one of either kind is `bound` per account
    (partial unique index)."""

    __tablename__ = "holder_devices"
    __table_args__ = (
        Index(
            "uq_holder_devices_one_bound",
            "account_id",
            unique=True,
            postgresql_where=text("status = 'bound'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    account_id: Mapped[uuid.UUID] = mapped_column(index=True)
    label: Mapped[str] = mapped_column(String(100))
    # For a passkey: its COSE key as a JWK (the wallet's `cnf`), verified with `public_key`.
    public_jwk: Mapped[dict[str, Any]] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default="bound")  # bound | unbound
    unbound_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str] = mapped_column(String(16), default="jws", server_default="jws")
    credential_id: Mapped[bytes | None] = mapped_column(LargeBinary, unique=True)
    public_key: Mapped[bytes | None] = mapped_column(LargeBinary)  # COSE_Key
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    transports: Mapped[list[str] | None] = mapped_column(ARRAY(String(16)))


class PasskeyCeremony(TimestampMixin, Base):
    """A WebAuthn challenge: one-time, five minutes, for one purpose and (where known) one
    account. `user_handle` is the one a registration ceremony offered the authenticator."""

    __tablename__ = "holder_passkey_ceremonies"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    purpose: Mapped[str] = mapped_column(String(16))  # activation | login | rebind
    account_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    challenge: Mapped[str] = mapped_column(String(128))  # base64url
    user_handle: Mapped[str | None] = mapped_column(String(64))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class DeviceChallenge(TimestampMixin, Base):
    """A one-time nonce the device signs to log in (or the account proves itself by OTP)."""

    __tablename__ = "holder_challenges"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    account_id: Mapped[uuid.UUID] = mapped_column(index=True)
    purpose: Mapped[str] = mapped_column(String(16))  # login | rebind
    nonce: Mapped[str] = mapped_column(String(64))
    otp_hash: Mapped[str | None] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class HolderSession(TimestampMixin, Base):
    """A logged-in holder (app bearer token or browser cookie), stored hashed."""

    __tablename__ = "holder_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(index=True)
    acr: Mapped[str] = mapped_column(String(40))
    amr: Mapped[list[str]] = mapped_column(ARRAY(String(16)))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class RelyingParty(TimestampMixin, Base):
    """A registered OIDC client and its written agreement (scopes and purpose)."""

    __tablename__ = "relying_parties"
    __table_args__ = (CheckConstraint("profile IN ('basic', 'fapi2', 'wallet')", name="profile"),)

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # None for a client authenticating with private_key_jwt (it has no secret at all).
    secret_hash: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    redirect_uris: Mapped[list[str]] = mapped_column(ARRAY(Text))
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(40)))
    purpose: Mapped[str] = mapped_column(Text)
    sector_secret: Mapped[bytes] = mapped_column(LargeBinary)  # sealed
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # RP-initiated logout sends the holder back only to one of these, matched exactly.
    post_logout_redirect_uris: Mapped[list[str]] = mapped_column(
        ARRAY(Text), default=list, server_default="{}"
    )
    # "basic" (client secret, plain code flow) or "fapi2" (FAPI 2.0 Security Profile: PAR,
    # private_key_jwt, DPoP). The client's public keys, registered (`jwks`) or fetched
    # (`jwks_uri`): for private_key_jwt assertions and signed request objects.
    profile: Mapped[str] = mapped_column(String(16), default="basic", server_default="basic")
    jwks: Mapped[dict[str, Any] | None] = mapped_column()
    jwks_uri: Mapped[str | None] = mapped_column(Text)
    token_endpoint_auth_method: Mapped[str] = mapped_column(
        String(32), default="client_secret_basic", server_default="client_secret_basic"
    )

    @property
    def has_keys(self) -> bool:
        return self.jwks is not None or self.jwks_uri is not None


class OidcSigningKey(TimestampMixin, Base):
    """Keys signing id_tokens. Every key is published from its creation; it signs from
    `signs_from` (a next key: later than the JWKS' max-age) until `retired_at` (its successor's
    `signs_from`), and stays published until `publish_until`. The newest key alone has no
    `retired_at` (partial unique index)."""

    __tablename__ = "oidc_signing_keys"
    __table_args__ = (
        Index(
            "uq_oidc_signing_keys_one_current",
            text("(retired_at IS NULL)"),
            unique=True,
            postgresql_where=text("retired_at IS NULL"),
        ),
    )

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    alg: Mapped[str] = mapped_column(String(16))
    public_jwk: Mapped[dict[str, Any]] = mapped_column()
    private_jwk: Mapped[bytes] = mapped_column(LargeBinary)  # sealed
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    signs_from: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    retired_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    publish_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class AuthorizationCode(TimestampMixin, Base):
    __tablename__ = "oidc_authorization_codes"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[uuid.UUID] = mapped_column()
    redirect_uri: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(Text)
    nonce: Mapped[str | None] = mapped_column(String(255))
    code_challenge: Mapped[str] = mapped_column(String(128))
    code_challenge_method: Mapped[str] = mapped_column(String(8))
    auth_time: Mapped[int] = mapped_column(BigInteger)
    acr: Mapped[str] = mapped_column(String(40))
    amr: Mapped[list[str]] = mapped_column(ARRAY(String(16)))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # RFC 9449 §10: the DPoP key the code is bound to (pushed with the request): redeemed only
    # with a proof of that key.
    dpop_jkt: Mapped[str | None] = mapped_column(String(64))
    # RFC 9396 / OpenID4VCI 1.0 §5.1.1: the `openid_credential` entries granted, each with the
    # `credential_identifiers` assigned (§6.2); None for a request by scope only. Its tokens
    # reach it by their `origin_code_hash`.
    authorization_details: Mapped[list[dict[str, Any]] | None] = mapped_column(
        JSONB(none_as_null=True)
    )


class OAuthToken(TimestampMixin, Base):
    """An access token and its refresh token, both stored hashed."""

    __tablename__ = "oidc_tokens"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    access_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    account_id: Mapped[uuid.UUID] = mapped_column(index=True)
    scope: Mapped[str] = mapped_column(Text)
    acr: Mapped[str] = mapped_column(String(40))
    origin_code_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    issued_at: Mapped[int] = mapped_column(BigInteger)
    expires_in: Mapped[int] = mapped_column(Integer)
    refresh_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    access_revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    refresh_revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    # RFC 9449: the JWK thumbprint both tokens are bound to (`cnf.jkt`); None: bearer tokens.
    dpop_jkt: Mapped[str | None] = mapped_column(String(64))


class PushedRequest(Base):
    """RFC 9126: an authorization request pushed by an authenticated client, referenced by
    its `request_uri` (stored hashed). It must be opened within `expires_at`; the first opening
    gives the browser an interaction ticket (hashed here) that carries it through login and
    consent until `interaction_expires_at`; it is spent (`used_at`) when the authorization
    response is sent."""

    __tablename__ = "oidc_pushed_requests"

    uri_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column()
    dpop_jkt: Mapped[str | None] = mapped_column(String(64))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    ticket_hash: Mapped[str | None] = mapped_column(String(64))
    interaction_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class SpentJwtId(Base):
    """Replay store: a `jti` of a client assertion, DPoP proof or request object is accepted
    once (per `scope`: the client or the key) until `expires_at`, past which the JWT itself is
    refused for its age."""

    __tablename__ = "oidc_spent_jtis"

    scope: Mapped[str] = mapped_column(String(200), primary_key=True)
    jti: Mapped[str] = mapped_column(String(200), primary_key=True)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)


class Consent(TimestampMixin, Base):
    """What a holder agreed to share with one relying party; withdrawal stops new releases."""

    __tablename__ = "holder_consents"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    account_id: Mapped[uuid.UUID] = mapped_column(index=True)
    client_id: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(40)))
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class AccessRecord(Base):
    """The holder's history of use: who received which claims, when, and why (kept 5 years)."""

    __tablename__ = "holder_access_history"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()"), index=True
    )
    account_id: Mapped[uuid.UUID] = mapped_column(index=True)
    client_id: Mapped[str] = mapped_column(String(64))
    client_name: Mapped[str] = mapped_column(String(200))
    claims: Mapped[list[str]] = mapped_column(ARRAY(String(40)))
    purpose: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(16))  # userinfo | presentation


class DeviceApproval(TimestampMixin, Base):
    """A sign-in waiting for the holder's "approve" on the bound device ("approve in the eID
    app"). Bound to the browser that asked (`browser_hash`: the hash of its `eid_approval`
    cookie), two minutes, one decision (pending -> approved | denied | expired, never back; the
    constraints hold it in the database), and an approved one continues a sign-in once
    (`used_at`). `account_id` is NULL for a request no phone is told of (an unknown e-ID number,
    an account without a passkey or unusable): the browser sees the same page either way."""

    __tablename__ = "holder_device_approvals"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'approved', 'denied', 'expired')", name="known_status"
        ),
        CheckConstraint("(status = 'pending') = (decided_at IS NULL)", name="one_decision"),
        CheckConstraint("used_at IS NULL OR status = 'approved'", name="used_if_approved"),
        CheckConstraint("account_id IS NOT NULL OR status <> 'approved'", name="approved_by_one"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    account_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    client_id: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(40)))
    claims: Mapped[list[str]] = mapped_column(ARRAY(String(40)))
    purpose: Mapped[str] = mapped_column(Text)
    matching_code: Mapped[str] = mapped_column(String(2))
    # The three numbers the app offers (the right one among them), fixed at creation: asking
    # again cannot narrow a guess.
    code_choices: Mapped[list[str]] = mapped_column(ARRAY(String(2)))
    browser_hash: Mapped[str] = mapped_column(String(64))
    # Where the browser continues once approved: `/oauth2/authorize?...` of this request.
    authorize_url: Mapped[str] = mapped_column(Text)
    # The WebAuthn challenge of the app's current approve ceremony (base64url): the approval's
    # id followed by 16 random bytes; cleared when an answer is checked.
    challenge: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
