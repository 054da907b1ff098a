"""`private_key_jwt` (RFC 7523 §2.2, OpenID Connect Core §9): the client signs a short JWT with
its own key at every endpoint that authenticates it (token, PAR, revocation, introspection).

Authlib's `JWTBearerClientAssertion` does the RFC 7523 work (sub = iss = client_id, exp, jti
hook, key hook); this subclass names the method `private_key_jwt`, restricts the algorithms,
resolves the client's registered or fetched keys by `kid`, spends each `jti` once in
PostgreSQL, and takes only the issuer identifier as `aud`.

Audience: FAPI 2.0 Security Profile (final, 2025) §5.3.2.1 says the authorization server
"shall only accept its issuer identifier value (as defined in RFC 8414) as a string in the aud
claim received in client authentication assertions" — after the 2025 audience-injection
findings, an assertion made for another endpoint (the token endpoint URL, or a list) could be
replayed where it was not meant. RFC 7523 §3 allows the token endpoint URL, but the stricter
rule is the one that closes the attack, and both Node libraries we test with send the issuer,
so the issuer (as a string) is the only audience accepted, for every client.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from authlib.oauth2.rfc6749 import InvalidClientError
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy.orm import Session

from eid.core import clock
from eid.core.settings import get_settings
from eid.identity import client_keys, replay

METHOD = "private_key_jwt"
ALGORITHMS = ["ES256", "PS256"]
# An assertion is for one request: it may live at most this long (exp - now)...
MAX_LIFETIME = dt.timedelta(minutes=5)
# ...and its iat/nbf may be this far in the future (FAPI 2.0 §5.3.2.1: accept 0-10 s).
FUTURE_SKEW = 10


class PrivateKeyJwt(JWTBearerClientAssertion):  # type: ignore[misc]
    CLIENT_AUTH_METHOD = METHOD

    def __init__(self, db: Session) -> None:
        super().__init__(validate_jti=True, leeway=FUTURE_SKEW)
        self.db = db
        self._kid: str | None = None

    def __call__(self, query_client: Any, request: Any) -> Any:
        client = super().__call__(query_client, request)
        outer = request.form.get("client_id")
        if client is not None and outer is not None and outer != client.get_client_id():
            # RFC 7523 §3: the assertion's subject is the client; a different client_id too.
            raise InvalidClientError(description="client_id does not match the assertion")
        return client

    def get_audiences(self) -> list[str]:
        return [get_settings().issuer.rstrip("/")]

    def extract_assertion(self, assertion: str) -> tuple[dict[str, Any], dict[str, Any]]:
        headers, claims = super().extract_assertion(assertion)
        if headers.get("alg") not in ALGORITHMS:
            raise InvalidClientError(description=f"the assertion must be signed {ALGORITHMS}")
        kid = headers.get("kid")
        self._kid = kid if isinstance(kid, str) else None
        return headers, claims

    def resolve_client_public_key(self, client: Any) -> KeySet:
        if not client.check_endpoint_auth_method(METHOD, "token"):
            # Before any key is looked for: a secret client has none.
            raise InvalidClientError(
                description=f"The client cannot authenticate with method: {METHOD}"
            )
        try:
            return client_keys.keys_of(client.row, self._kid)
        except client_keys.KeysUnavailable as error:
            raise InvalidClientError(description="the client's keys are not available") from error

    def process_assertion_claims(self, assertion: str, resolve_key: Any) -> dict[str, Any]:
        try:
            token = jwt.decode(assertion, resolve_key, algorithms=ALGORITHMS)
        except (JoseError, ValueError) as error:
            raise InvalidClientError(
                description="the assertion's signature does not verify"
            ) from error
        self.verify_claims(token.claims)
        claims: dict[str, Any] = token.claims
        return claims

    def verify_claims(self, claims: Any) -> None:
        if claims.get("aud") != self.get_audiences()[0]:
            raise InvalidClientError(description="aud must be the issuer identifier, as a string")
        now = int(clock.now().timestamp())
        exp = claims.get("exp")
        if not isinstance(exp, int) or exp > now + MAX_LIFETIME.total_seconds():
            raise InvalidClientError(description="exp must be within 5 minutes")
        for name in ("iat", "nbf"):
            value = claims.get(name)
            if value is not None and (not isinstance(value, int) or value > now + FUTURE_SKEW):
                raise InvalidClientError(description=f"{name} is in the future")
        super().verify_claims(claims)

    def validate_jti(self, claims: Any, jti: Any) -> bool:
        until = dt.datetime.fromtimestamp(int(claims["exp"]) + FUTURE_SKEW, tz=dt.UTC)
        return replay.spend(self.db, f"client:{claims['sub']}", jti, until)


def register(server: Any) -> None:
    server.register_client_auth_method(METHOD, PrivateKeyJwt(server.db))
