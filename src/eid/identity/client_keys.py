"""A relying party's public keys: registered as a JWKS, or fetched from its `jwks_uri`.

A fetched JWKS is kept for its `Cache-Control: max-age` (within bounds), fetched over https only
(plain http only to a loopback host outside production), with a timeout and a size limit; a
`kid` the cached set does not know causes one early refetch, at most once per
`REFETCH_INTERVAL` (a stream of made-up kids cannot make us hammer the client's server)."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from eid.core.errors import ValidationFailed
from eid.core.settings import get_settings
from eid.identity.models import RelyingParty

# Members that only a private (or symmetric) key has: a registered JWKS must have none.
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
KEY_TYPES = frozenset({"EC", "RSA", "OKP"})
MAX_JWKS_BYTES = 64 * 1024
FETCH_TIMEOUT = 5.0
DEFAULT_MAX_AGE = 300
MIN_MAX_AGE = 60
MAX_MAX_AGE = 24 * 3600
REFETCH_INTERVAL = 10.0
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_MAX_AGE = re.compile(r"max-age=(\d+)")


class KeysUnavailable(Exception):
    """The client's keys could not be had (fetch failed, or not a valid public JWKS)."""


def public_jwks(data: Any) -> dict[str, Any]:
    """The JWKS as registered: public keys of the supported types only, each importable;
    a private member anywhere is refused (it would mean the client leaked its key to us)."""
    keys = data.get("keys") if isinstance(data, dict) else None
    if not isinstance(keys, list) or not keys:
        raise ValidationFailed("the JWKS needs a non-empty 'keys' list", code="INVALID_JWKS")
    kids: set[str] = set()
    for key in keys:
        if not isinstance(key, dict) or key.get("kty") not in KEY_TYPES:
            raise ValidationFailed("each key must be an EC, RSA or OKP JWK", code="INVALID_JWKS")
        private = sorted(PRIVATE_MEMBERS & set(key))
        if private:
            raise ValidationFailed(
                "the JWKS must hold public keys only",
                code="PRIVATE_KEY_IN_JWKS",
                details={"members": private},
            )
        kid = key.get("kid")
        if isinstance(kid, str):
            if kid in kids:
                raise ValidationFailed("two keys share a kid", code="INVALID_JWKS")
            kids.add(kid)
    try:
        KeySet.import_key_set({"keys": keys})
    except (JoseError, ValueError, TypeError) as error:
        raise ValidationFailed("a key cannot be read", code="INVALID_JWKS") from error
    return {"keys": keys}


def check_jwks_uri(uri: str) -> str:
    parts = urlsplit(uri)
    loopback_http = (
        parts.scheme == "http"
        and parts.hostname in _LOOPBACK
        and get_settings().env in ("development", "test")
    )
    if parts.fragment or not parts.hostname or not (parts.scheme == "https" or loopback_http):
        raise ValidationFailed(
            "jwks_uri must be https (http only to a loopback host in development)",
            code="INVALID_JWKS_URI",
            details={"uri": uri},
        )
    return uri


@dataclass
class _Cached:
    keys: KeySet
    kids: frozenset[str]
    fresh_until: float
    fetched_at: float


_cache: dict[str, _Cached] = {}
_lock = threading.Lock()


def _max_age(header: str | None) -> int:
    found = _MAX_AGE.search(header or "")
    if header and "no-store" in header:
        return MIN_MAX_AGE
    seconds = int(found.group(1)) if found else DEFAULT_MAX_AGE
    return max(MIN_MAX_AGE, min(MAX_MAX_AGE, seconds))


def _fetch(uri: str) -> _Cached:
    check_jwks_uri(uri)
    try:
        with (
            httpx.Client(timeout=FETCH_TIMEOUT, follow_redirects=False) as http,
            http.stream("GET", uri, headers={"Accept": "application/json"}) as response,
        ):
            if response.status_code != 200:
                raise KeysUnavailable(f"jwks_uri answered {response.status_code}")
            body = bytearray()
            for chunk in response.iter_bytes():
                body.extend(chunk)
                if len(body) > MAX_JWKS_BYTES:
                    raise KeysUnavailable("the JWKS is too large")
            cache_control = response.headers.get("cache-control")
        jwks = public_jwks(httpx.Response(200, content=bytes(body)).json())
    except (httpx.HTTPError, ValueError, ValidationFailed) as error:
        raise KeysUnavailable(str(error)) from error
    now = time.monotonic()
    return _Cached(
        keys=KeySet.import_key_set(jwks),  # type: ignore[arg-type]
        kids=frozenset(str(k["kid"]) for k in jwks["keys"] if "kid" in k),
        fresh_until=now + _max_age(cache_control),
        fetched_at=now,
    )


def _from_uri(uri: str, kid: str | None) -> KeySet:
    now = time.monotonic()
    with _lock:
        cached = _cache.get(uri)
    stale = cached is None or cached.fresh_until < now
    unknown_kid = cached is not None and kid is not None and kid not in cached.kids
    if stale or (unknown_kid and cached is not None and now - cached.fetched_at > REFETCH_INTERVAL):
        try:
            fetched = _fetch(uri)
        except KeysUnavailable:
            if cached is None:
                raise
            return cached.keys  # the keys we had still serve the kids they know
        with _lock:
            _cache[uri] = fetched
        return fetched.keys
    assert cached is not None
    return cached.keys


def keys_of(client: RelyingParty, kid: str | None = None) -> KeySet:
    """The client's public keys, to verify a JWT whose header names `kid`."""
    if client.jwks is not None:
        return KeySet.import_key_set(client.jwks)  # type: ignore[arg-type]
    if client.jwks_uri is not None:
        return _from_uri(client.jwks_uri, kid)
    raise KeysUnavailable("the client registered no keys")


def forget(uri: str) -> None:
    """Drop a cached JWKS (tests; an admin changing a client's keys)."""
    with _lock:
        _cache.pop(uri, None)
