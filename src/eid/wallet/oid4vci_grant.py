"""OpenID4VCI 1.0 §6.1: the pre-authorized code grant at eid's token endpoint, as an Authlib
grant (`EidAuthorizationServer` registers it).

Anonymous access (`pre-authorized_grant_anonymous_access_supported`): the wallet need not be a
registered client; what authorizes it is the code plus the transaction code that only the holder
received. A `DPoP` proof on the request binds the access token to its key (RFC 9449), as for
every grant. The token row is an `oidc_tokens` row with the credential configurations' scopes,
no refresh token, and `client_id` the wallet's (`WALLET_CLIENT` when it gave none): userinfo
refuses it (not a relying party), the credential endpoint accepts it.
"""

from __future__ import annotations

import secrets
from typing import Any

from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidGrantError, InvalidRequestError

from eid.core import clock
from eid.core.crypto import hash_token
from eid.identity import dpop
from eid.identity.models import OAuthToken
from eid.wallet import oid4vci

ACCESS_TOKEN_TTL = 300  # seconds: enough for the nonce and the credential request
TOKEN_HEADERS = [("Cache-Control", "no-store"), ("Pragma", "no-cache")]


class PreAuthorizedCodeGrant(grants.BaseGrant, grants.TokenEndpointMixin):  # type: ignore[misc]
    GRANT_TYPE = oid4vci.PRE_AUTHORIZED_GRANT
    TOKEN_ENDPOINT_AUTH_METHODS = ["none"]

    def validate_token_request(self) -> None:
        data = self.request.payload.data
        code = data.get("pre-authorized_code")
        if not code:
            raise InvalidRequestError("missing 'pre-authorized_code'")
        if any(len(v) > 1 for v in self.request.payload.datalist.values()):
            raise InvalidRequestError("a parameter is repeated")
        try:
            self.redeemed = oid4vci.redeem(self.server.db, code, data.get("tx_code"))
        except oid4vci.GrantRefused as refused:
            if refused.error == "invalid_request":
                raise InvalidRequestError(refused.description) from refused
            raise InvalidGrantError(refused.description) from refused

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        redeemed = self.redeemed
        access = secrets.token_urlsafe(32)
        jkt: str | None = getattr(self.request, "dpop_jkt", None)
        client_id = (self.request.payload.data.get("client_id") or oid4vci.WALLET_CLIENT)[:64]
        self.server.db.add(
            OAuthToken(
                access_token_hash=hash_token(access),
                refresh_token_hash=None,
                client_id=client_id,
                account_id=redeemed.account_id,
                scope=redeemed.scope,
                acr=redeemed.acr,
                origin_code_hash=redeemed.code_hash,
                issued_at=int(clock.now().timestamp()),
                expires_in=ACCESS_TOKEN_TTL,
                refresh_expires_at=None,
                dpop_jkt=jkt,
            )
        )
        body: dict[str, Any] = {
            "access_token": access,
            "token_type": dpop.TOKEN_TYPE if jkt else "Bearer",
            "expires_in": ACCESS_TOKEN_TTL,
            "scope": redeemed.scope,
        }
        return 200, body, TOKEN_HEADERS
