"""The OpenID Connect provider on Authlib's server classes, one server per request.

Authlib's server is synchronous and framework-neutral; `oauth_adapter` turns a Starlette request
into its OAuth2Request after reading the body asynchronously, and the endpoints call these hooks
in a thread pool. The server holds the request's database session, so everything it does is part
of the request's one transaction.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import AuthorizationServer, OAuth2Request, grants
from authlib.oauth2.rfc6749.errors import (
    AccessDeniedError,
    InvalidRequestError,
    InvalidScopeError,
)
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oidc.core.errors import RequestNotSupportedError, RequestURINotSupportedError
from authlib.oidc.core.grants import OpenIDCode
from authlib.oidc.core.grants.util import is_openid_scope
from joserfc.jwk import ECKey
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from eid.authority import service as authority
from eid.core import audit, clock
from eid.core.audit import Actor
from eid.core.crypto import hash_token
from eid.core.settings import get_settings
from eid.identity import client_auth, clients, dpop, keys, par
from eid.identity.claims import CREDENTIAL_SCOPES, SUPPORTED_SCOPES
from eid.identity.models import AuthorizationCode, HolderSession, OAuthToken
from eid.identity.oauth_models import AUTH_METHODS, Client, Code, Principal, Token

ACCESS_TOKEN_TTL = 600
REFRESH_TOKEN_TTL = dt.timedelta(days=30)
CODE_TTL = dt.timedelta(minutes=2)
FAPI_CODE_TTL = dt.timedelta(seconds=60)  # FAPI 2.0 §5.3.2.1: at most one minute


def client_actor(client_id: str) -> Actor:
    return Actor(kind="client", id=client_id, role="relying_party")


def principal(session: Session, client: Client, account_id: Any) -> Principal | None:
    """None when the account may not authenticate: a locked account gets no token anywhere."""
    account = authority.get_account(session, account_id)
    if not account.usable:
        audit.record(
            session,
            client_actor(client.client_id),
            "oidc.refused_unusable_account",
            "account",
            account.id,
            details={"status": account.status},
        )
        return None
    return Principal(account=account, sub=clients.pairwise_subject(client.row, account.id))


class S256Challenge(CodeChallenge):  # type: ignore[misc]
    """PKCE is mandatory for every client, and only S256 (plain would leak the verifier)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: missing 'code_challenge'")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("'code_challenge_method' must be S256")
        super().validate_code_challenge(grant, redirect_uri)


class EidOpenIDCode(OpenIDCode):  # type: ignore[misc]
    def __init__(self, session: Session) -> None:
        super().__init__(require_nonce=False)
        self.session = session
        self._signing: tuple[str, ECKey] | None = None

    def __call__(self, grant: Any) -> None:
        # Authlib's own `prompt` check (it knows no session) is left out: `oidc_endpoints`
        # decides prompt, max_age and acr_values with the holder's session in hand.
        grant.register_hook("after_create_token_response", self.process_token)
        if is_openid_scope(grant.request.payload.scope):
            grant.register_hook(
                "after_validate_authorization_request_payload",
                self.validate_openid_authorization_request,
            )

    def _key(self) -> tuple[str, ECKey]:
        # One key for the whole response: header `kid` and signature must agree.
        if self._signing is None:
            self._signing = keys.active_key(self.session)
        return self._signing

    def resolve_client_private_key(self, client: Client) -> ECKey:
        return self._key()[1]

    def get_client_algorithm(self, client: Client) -> str:
        return keys.ALG

    def get_encode_header(self, client: Client) -> dict[str, str]:
        return {"alg": keys.ALG, "kid": self._key()[0], "typ": "JWT"}

    def get_client_claims(self, client: Client) -> dict[str, Any]:
        now = int(clock.now().timestamp())
        return {
            "iss": get_settings().issuer,
            "aud": client.get_client_id(),
            "iat": now,
            "exp": now + int(keys.ID_TOKEN_TTL.total_seconds()),
        }

    def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
        found = self.session.execute(
            select(AuthorizationCode.code_hash)
            .where(
                AuthorizationCode.client_id == request.payload.client_id,
                AuthorizationCode.nonce == nonce,
            )
            .limit(1)
        ).first()
        return found is not None

    def generate_user_info(self, user: Principal, scope: str) -> dict[str, Any]:
        # The id_token carries the subject only; eKYC claims go through userinfo, where each
        # release is written to the holder's access history.
        return {"sub": user.sub}


class InvalidAuthorizationDetails(OAuth2Error):  # type: ignore[misc]
    """RFC 9396 §5."""

    error = "invalid_authorization_details"


class CodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
    # "none" only for a wallet (`Client.check_endpoint_auth_method`): a public OpenID4VCI client.
    TOKEN_ENDPOINT_AUTH_METHODS = [*AUTH_METHODS, "none"]

    def validate_authorization_request(self) -> str:
        try:
            redirect_uri: str = super().validate_authorization_request()
        except OAuth2Error as error:
            # A request object may hold what the outer request lacks (PKCE, scope): its own
            # refusal names the real cause.
            if error.redirect_uri:
                self._refuse_request_object(error.redirect_uri)
            raise
        self._refuse_request_object(redirect_uri)
        par.require_pushed(self.request, redirect_uri)
        # A scope outside the written agreement is refused outright, not silently trimmed.
        requested = set((self.request.payload.scope or "").split())
        wallet = self.request.client.row.profile == "wallet"
        details = self._credential_details(redirect_uri) if wallet else None
        if not wallet and "authorization_details" in self.request.payload.data:
            raise self._refusal(
                InvalidAuthorizationDetails, "this client cannot ask for credentials", redirect_uri
            )
        # A wallet asks for credential scopes (OpenID4VCI §5.1.2), without openid, or for
        # credential configurations by authorization_details (§5.1.1), or both.
        needed = "openid" if not wallet else None
        if (
            (needed is not None and needed not in requested)
            or not (requested or details)
            or not requested <= set(self.request.client.row.scopes)
        ):
            raise InvalidScopeError(
                "the requested scope is outside the relying party's agreement",
                redirect_uri=redirect_uri,
                state=self.request.payload.state,
            )
        if wallet:
            self._credential_offer(redirect_uri, details)
        return redirect_uri

    def _refusal(self, kind: type[OAuth2Error], description: str, uri: str) -> OAuth2Error:
        return kind(description, redirect_uri=uri, state=self.request.payload.state)

    def _credential_details(self, redirect_uri: str) -> list[str] | None:
        """OpenID4VCI §5.1.1: the configurations a wallet's `authorization_details` asks for,
        each within the wallet's agreement (its credential scopes); None when it sent none."""
        from eid.wallet import oid4vci, oid4vci_authorization

        raw = self.request.payload.data.get("authorization_details")
        if raw is None:
            return None
        try:
            configurations = oid4vci_authorization.requested_configurations(raw)
        except OAuth2Error as refused:
            refused.redirect_uri = redirect_uri
            refused.state = self.request.payload.state
            raise
        allowed = set(self.request.client.row.scopes)
        if any(oid4vci.SCOPES[c] not in allowed for c in configurations):
            raise self._refusal(
                InvalidAuthorizationDetails,
                "the credential asked for is outside the wallet's agreement",
                redirect_uri,
            )
        self.request.credential_details = configurations
        return configurations

    def _credential_offer(self, redirect_uri: str, details: list[str] | None) -> None:
        """OpenID4VCI §5.1.3 `issuer_state`: the offer the request comes from, still live."""
        from eid.wallet import oid4vci_authorization

        issuer_state = self.request.payload.data.get("issuer_state")
        if issuer_state is None:
            return
        asked = [
            *(details or []),
            *oid4vci_authorization.configurations_for_scopes(self.request.payload.scope),
        ]
        try:
            self.request.credential_offer = oid4vci_authorization.offer_for_issuer_state(
                self.server.db, issuer_state, asked, redirect_uri
            )
        except OAuth2Error as refused:
            refused.state = self.request.payload.state
            raise

    def _refuse_request_object(self, redirect_uri: str) -> None:
        """OpenID Connect Core §6: a request object of a client with keys was already verified
        and unpacked (`request_objects.resolve`), and a PAR request_uri (`par.resolve`); what is
        left is refused (§3.1.2.6), never silently ignored."""
        data = self.request.payload.data
        if "request" in data:
            raise RequestNotSupportedError(
                "request objects are not supported", redirect_uri=redirect_uri
            )
        if "request_uri" in data:
            raise RequestURINotSupportedError(
                "request_uri is not supported", redirect_uri=redirect_uri
            )

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        holder: HolderSession = request.holder_session
        data = request.payload.data
        details = None
        if request.credential_details is not None:
            from eid.wallet import oid4vci_authorization as vci

            # §6.2: every credential the holder granted gets its identifier, those asked for by
            # scope too, so that the credential endpoint takes identifiers only (§8.2).
            details = vci.granted_details(
                [*request.credential_details, *vci.configurations_for_scopes(request.payload.scope)]
            )
        if request.credential_offer is not None:
            from eid.wallet import oid4vci_authorization as vci

            if request.credential_offer.account_id != request.user.id:
                # `oidc_endpoints` refuses before consent; never a code for another holder.
                raise AccessDeniedError("the credential offer was made to another holder")
            vci.spend_offer(self.server.db, request.credential_offer, request.user.id)
        self.server.db.add(
            AuthorizationCode(
                code_hash=hash_token(code),
                client_id=request.client.get_client_id(),
                account_id=request.user.id,
                # Empty when the request named none: RFC 6749 §4.1.3 then wants none at the
                # token endpoint either.
                redirect_uri=request.payload.redirect_uri or "",
                scope=request.client.get_allowed_scope(request.payload.scope),
                nonce=data.get("nonce"),
                code_challenge=data["code_challenge"],
                code_challenge_method=data["code_challenge_method"],
                auth_time=int(holder.created_at.timestamp()),
                acr=holder.acr,
                amr=list(holder.amr),
                expires_at=clock.now()
                + (FAPI_CODE_TTL if request.client.row.profile == "fapi2" else CODE_TTL),
                dpop_jkt=request.dpop_jkt,  # RFC 9449 §10: pushed with a DPoP proof
                authorization_details=details,
            )
        )

    def query_authorization_code(self, code: str, client: Client) -> Code | None:
        db: Session = self.server.db
        row = db.execute(
            select(AuthorizationCode)
            .where(AuthorizationCode.code_hash == hash_token(code))
            .with_for_update()
        ).scalar_one_or_none()
        if row is None or row.client_id != client.get_client_id():
            return None
        if row.used_at is not None:
            # RFC 6749 §4.1.2: a code used twice means it leaked; revoke what it bought.
            db.execute(
                update(OAuthToken)
                .where(OAuthToken.origin_code_hash == row.code_hash)
                .values(access_revoked=True, refresh_revoked=True)
            )
            audit.record(
                db, client_actor(row.client_id), "oidc.code_replayed", "account", row.account_id
            )
            return None
        if row.expires_at < clock.now():
            return None
        return Code(row)

    def delete_authorization_code(self, authorization_code: Code) -> None:
        # Marked used, not deleted, so a replay is recognised (and punished) above.
        authorization_code.row.used_at = clock.now()

    def authenticate_user(self, authorization_code: Code) -> Principal | None:
        return principal(self.server.db, self.request.client, authorization_code.row.account_id)


class RefreshGrant(grants.RefreshTokenGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = list(AUTH_METHODS)
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotation: each refresh token works once

    def authenticate_refresh_token(self, refresh_token: str) -> Token | None:
        db: Session = self.server.db
        row = db.execute(
            select(OAuthToken)
            .where(OAuthToken.refresh_token_hash == hash_token(refresh_token))
            .with_for_update()
        ).scalar_one_or_none()
        if row is None:
            return None
        if row.refresh_revoked:
            # A rotated refresh token presented again: someone holds a copy. End the family.
            db.execute(
                update(OAuthToken)
                .where(
                    OAuthToken.client_id == row.client_id, OAuthToken.account_id == row.account_id
                )
                .values(access_revoked=True, refresh_revoked=True)
            )
            audit.record(
                db, client_actor(row.client_id), "oidc.refresh_reused", "account", row.account_id
            )
            return None
        if row.refresh_expires_at is None or row.refresh_expires_at < clock.now():
            return None
        return Token(row)

    def authenticate_user(self, refresh_token: Token) -> Principal | None:
        return principal(self.server.db, self.request.client, refresh_token.row.account_id)

    def revoke_old_credential(self, refresh_token: Token) -> None:
        refresh_token.row.refresh_revoked = True
        refresh_token.row.access_revoked = True


def _find_token(db: Session, token: str, hint: str | None) -> OAuthToken | None:
    digest = hash_token(token)
    columns = [OAuthToken.access_token_hash, OAuthToken.refresh_token_hash]
    if hint == "refresh_token":
        columns.reverse()
    for column in columns:
        row = db.execute(select(OAuthToken).where(column == digest)).scalar_one_or_none()
        if row is not None:
            return row
    return None


class Revocation(RevocationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = list(AUTH_METHODS)

    def query_token(self, token_string: str, token_type_hint: str | None) -> Token | None:
        row = _find_token(self.server.db, token_string, token_type_hint)
        return Token(row) if row else None

    def revoke_token(self, token: Token, request: OAuth2Request) -> None:
        # Revoking either half ends both: RFC 7009 §2.1 lets the server do so.
        token.row.access_revoked = True
        token.row.refresh_revoked = True
        audit.record(
            self.server.db,
            client_actor(token.row.client_id),
            "oidc.token_revoked",
            "account",
            token.row.account_id,
        )


class Introspection(IntrospectionEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = list(AUTH_METHODS)

    def query_token(self, token_string: str, token_type_hint: str | None) -> Token | None:
        row = _find_token(self.server.db, token_string, token_type_hint)
        if row is None:
            return None
        # A refresh token is judged (active, exp) by its own expiry and revocation.
        return Token(row, refresh=row.refresh_token_hash == hash_token(token_string))

    def check_permission(self, token: Token, client: Client, request: OAuth2Request) -> bool:
        return token.row.client_id == client.get_client_id()

    def introspect_token(self, token: Token) -> dict[str, Any]:
        row = token.row
        db: Session = self.server.db
        account = authority.get_account(db, row.account_id)
        rp = clients.get_client(db, row.client_id)
        if not account.usable or rp is None:
            return {"active": False}
        answer: dict[str, Any] = {
            "active": True,
            "client_id": row.client_id,
            "scope": row.scope,
            "sub": clients.pairwise_subject(rp, row.account_id),
            "acr": row.acr,
            "iat": row.issued_at,
            "exp": token.expires_at(),
            "iss": get_settings().issuer,
        }
        if not token.refresh:  # RFC 7662 §2.2: a token type of RFC 6749 §7.1; a refresh has none
            answer["token_type"] = dpop.TOKEN_TYPE if row.dpop_jkt else "Bearer"
        answer.update(dpop.confirmation(row.dpop_jkt))  # RFC 9449 §6.2: cnf.jkt
        return answer


def _access_token(**_: Any) -> str:
    return secrets.token_urlsafe(32)


class EidAuthorizationServer(AuthorizationServer):  # type: ignore[misc]
    def __init__(self, db: Session) -> None:
        super().__init__(scopes_supported=[*SUPPORTED_SCOPES, *CREDENTIAL_SCOPES])
        self.db = db
        self.register_token_generator(
            "default",
            BearerTokenGenerator(_access_token, _access_token, lambda *_: ACCESS_TOKEN_TTL),
        )
        self.register_grant(
            CodeGrant, [S256Challenge(required=True), EidOpenIDCode(db), dpop.token_binding]
        )
        self.register_grant(RefreshGrant, [dpop.token_binding])
        # OpenID4VCI 1.0 §6.1 (eid.wallet.oid4vci_grant); imported here: wallet imports identity.
        from eid.wallet.oid4vci_grant import PreAuthorizedCodeGrant

        self.register_grant(PreAuthorizedCodeGrant)
        self.register_endpoint(Revocation)
        self.register_endpoint(Introspection)
        client_auth.register(self)

    def query_client(self, client_id: str) -> Client | None:
        row = clients.get_client(self.db, client_id)
        return Client(row) if row else None

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        if request.authorization_code is not None:
            origin = request.authorization_code.row
            acr, code_hash = origin.acr, origin.code_hash
        else:
            previous = request.refresh_token.row
            acr, code_hash = previous.acr, previous.origin_code_hash
        refresh = token.get("refresh_token")
        if request.authorization_code is not None and origin.authorization_details:
            # OpenID4VCI §6.2: what was granted, with its credential identifiers.
            token["authorization_details"] = origin.authorization_details
        self.db.add(
            OAuthToken(
                access_token_hash=hash_token(token["access_token"]),
                refresh_token_hash=hash_token(refresh) if refresh else None,
                client_id=request.client.get_client_id(),
                account_id=request.user.id,
                scope=token.get("scope", ""),
                acr=acr,
                origin_code_hash=code_hash,
                issued_at=int(clock.now().timestamp()),
                expires_in=int(token["expires_in"]),
                refresh_expires_at=clock.now() + REFRESH_TOKEN_TTL if refresh else None,
                dpop_jkt=dpop.bind_token(token, request),
            )
        )

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        return request  # already built by oauth_adapter

    def create_json_request(self, request: Any) -> Any:
        return request

    def handle_response(
        self, status: int, body: Any, headers: list[tuple[str, str]]
    ) -> tuple[int, Any, list[tuple[str, str]]]:
        return status, body, list(headers)

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None


__all__ = ["EidAuthorizationServer", "OAuth2Error"]
