"""Authlib's model interfaces over our rows: the client, the authorization code, the token."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from authlib.oauth2.rfc6749 import AuthorizationCodeMixin, ClientMixin, TokenMixin

from eid.authority.schemas import AccountView
from eid.core import clock
from eid.identity import clients
from eid.identity.models import AuthorizationCode, OAuthToken, RelyingParty

SECRET_METHODS = ("client_secret_basic", "client_secret_post")
AUTH_METHODS = (*SECRET_METHODS, "private_key_jwt")
GRANT_TYPES = ("authorization_code", "refresh_token")


class Client(ClientMixin):  # type: ignore[misc]
    id_token_signed_response_alg = "ES256"  # noqa: S105 - an algorithm name, not a secret

    def __init__(self, row: RelyingParty) -> None:
        self.row = row
        self.client_id = row.client_id

    def get_client_id(self) -> str:
        return self.row.client_id

    def get_default_redirect_uri(self) -> str:
        return self.row.redirect_uris[0]

    def get_allowed_scope(self, scope: str | None) -> str:
        # None: a wallet that asks by `authorization_details` only (OpenID4VCI §5.1.1).
        allowed = set(self.row.scopes)
        return " ".join(s for s in (scope or "").split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        # Exact string match (RFC 9700 §4.1.3): no prefix or wildcard matching.
        return redirect_uri in self.row.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return clients.check_secret(self.row, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        # A client uses its registered method at every endpoint (a FAPI 2.0 client: only
        # private_key_jwt); a secret client either form of the secret.
        registered = self.row.token_endpoint_auth_method
        if registered in ("private_key_jwt", "none"):  # "none": a wallet (public client)
            return method == registered
        return method in SECRET_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        if self.row.profile == "wallet":  # a wallet gets its credential, no refresh token
            return grant_type == "authorization_code"
        return grant_type in GRANT_TYPES


@dataclass(frozen=True)
class Principal:
    """The holder as seen by one relying party (pairwise subject)."""

    account: AccountView
    sub: str

    @property
    def id(self) -> uuid.UUID:
        return self.account.id

    def get_user_id(self) -> str:
        return self.sub


class Code(AuthorizationCodeMixin):  # type: ignore[misc]
    def __init__(self, row: AuthorizationCode) -> None:
        self.row = row
        self.code_challenge = row.code_challenge
        self.code_challenge_method = row.code_challenge_method

    def get_redirect_uri(self) -> str | None:
        return self.row.redirect_uri or None

    def get_scope(self) -> str:
        return self.row.scope

    def get_nonce(self) -> str | None:
        return self.row.nonce

    def get_auth_time(self) -> int:
        return self.row.auth_time

    def get_acr(self) -> str:
        return self.row.acr

    def get_amr(self) -> list[str]:
        return list(self.row.amr)


class Token(TokenMixin):  # type: ignore[misc]
    """An access token, or (`refresh`) the refresh token of the same row: its own expiry and
    revocation then count, never the access token's."""

    def __init__(
        self, row: OAuthToken, client: RelyingParty | None = None, *, refresh: bool = False
    ) -> None:
        self.row = row
        self.client = client
        self.refresh = refresh

    def expires_at(self) -> int:
        if self.refresh:
            at = self.row.refresh_expires_at
            return int(at.timestamp()) if at is not None else self.row.issued_at
        return self.row.issued_at + self.row.expires_in

    def check_client(self, client: Any) -> bool:
        return bool(self.row.client_id == client.get_client_id())

    def get_scope(self) -> str:
        return self.row.scope

    def get_expires_in(self) -> int:
        return self.row.expires_in

    def is_expired(self) -> bool:
        return self.expires_at() < clock.now().timestamp()

    def is_revoked(self) -> bool:
        return self.row.refresh_revoked if self.refresh else self.row.access_revoked

    def get_user(self) -> uuid.UUID:
        return self.row.account_id

    def get_client(self) -> RelyingParty | None:
        return self.client
