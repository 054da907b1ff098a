"""Starlette to Authlib: Authlib has no Starlette integration, so this is the small bridge.

The body is read asynchronously here; the resulting OAuth2Request is plain data that Authlib's
synchronous hooks can then use from a worker thread.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from authlib.oauth2.rfc6749 import OAuth2Payload, OAuth2Request
from starlette.requests import Request

from eid.core.settings import get_settings


class FormPayload(OAuth2Payload):  # type: ignore[misc]
    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._datalist: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in pairs:
            self._datalist[key].append(value)
        self._data = {key: values[0] for key, values in self._datalist.items()}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class StarletteOAuth2Request(OAuth2Request):  # type: ignore[misc]
    def __init__(
        self,
        method: str,
        uri: str,
        headers: Mapping[str, str],
        query: list[tuple[str, str]],
        form: list[tuple[str, str]],
    ) -> None:
        super().__init__(method, uri, headers=headers)
        self._args = dict(query)
        self._form = dict(form)
        self.payload = FormPayload(query + form)
        self.holder_session: Any = None
        # FAPI: the request came through PAR (`par.resolve`), its pushed row, the DPoP key it
        # (or the token request) is bound to, and what the login and consent hops carry.
        self.pushed = False
        self.pushed_row: Any = None
        self.dpop_jkt: str | None = None
        self.carried: dict[str, str] | None = None
        # OpenID4VCI (`oauth_server.CodeGrant`): the credential configurations asked for by
        # `authorization_details`, and the credential offer an `issuer_state` named.
        self.credential_details: list[str] | None = None
        self.credential_offer: Any = None

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


def public_url(request: Request) -> str:
    """The URL as the outside sees it (EID_ISSUER), not as the proxy forwarded it."""
    base = get_settings().issuer.rstrip("/")
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{base}{request.url.path}{query}"


async def oauth_request(
    request: Request, *, form_fields_only: bool = False
) -> StarletteOAuth2Request:
    form: list[tuple[str, str]] = []
    if request.method == "POST":
        parsed = await request.form()
        form = [(k, v) for k, v in parsed.multi_items() if isinstance(v, str)]
    query = [] if form_fields_only else list(request.query_params.multi_items())
    # Starlette's Headers is case-insensitive, as Authlib's lookups ("Authorization") expect.
    return StarletteOAuth2Request(request.method, public_url(request), request.headers, query, form)
