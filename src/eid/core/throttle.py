"""Rate limits for every anonymous or credential endpoint, and the one lockout backoff rule.

How to protect an endpoint (also one added later): name a `Policy` here and put its dependency
on the route,

    @router.post("/things", dependencies=[Depends(throttle.limit(throttle.THINGS,
                                                                  key_field="eid_number"))])

`limit` counts the caller's IP (`client_ip`: the socket peer, or `X-Forwarded-For` only when the
peer is one of `EID_TRUSTED_PROXIES`) and, when the policy has a per-key limit, the value the
request names (a body field, form field or path parameter: the e-ID number, username,
application id). The key is counted whether or not it exists, so the 429 says nothing about
which accounts exist. Over a limit the answer is 429 `TOO_MANY_REQUESTS` with `Retry-After`.

Counting: GCRA (a token bucket kept as one timestamp, the "theoretical arrival time") in the
UNLOGGED table `throttle_buckets`, one row per key and one upsert per check, so every server
process shares the limits. UNLOGGED: no WAL for a counter updated on every request; a crash of
PostgreSQL empties it, which only refills every bucket. The check runs on its own short
transaction: it counts even when the request's own transaction is rolled back. Rows whose time
has passed are the same as no row and are pruned now and then.

Lockouts (wrong passwords, codes) are a different thing: they count failures of one account in
that account's row, kept by the refusal (`EidError.keep_writes`), and `lockout_wait` gives the
wait after the n-th failure: exponential, capped, reset on success, never permanent.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from fastapi import Request
from sqlalchemy import Connection, DateTime, String, text
from sqlalchemy.orm import Mapped, mapped_column
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException

from eid.core import clock
from eid.core.database import Base, get_engine
from eid.core.errors import EidError
from eid.core.settings import get_settings
from eid.i18n import N_


class ThrottleBucket(Base):
    __tablename__ = "throttle_buckets"
    __table_args__ = {"prefixes": ["UNLOGGED"]}

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    # GCRA's theoretical arrival time: the bucket is full again at this instant.
    tat: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class TooManyRequests(EidError):
    code = "TOO_MANY_REQUESTS"
    status = 429

    def __init__(self, retry_after: int, **kwargs: Any) -> None:
        super().__init__(
            N_("too many requests; try again in %(seconds)s s"),
            params={"seconds": retry_after},
            details={"retry_after": retry_after},
            **kwargs,
        )
        self.retry_after = retry_after


@dataclass(frozen=True)
class Limit:
    count: int
    period: dt.timedelta

    @property
    def interval(self) -> dt.timedelta:
        return self.period / self.count


@dataclass(frozen=True)
class Policy:
    name: str
    per_ip: Limit
    per_key: Limit | None = None


_MINUTE = dt.timedelta(minutes=1)
_HOUR = dt.timedelta(hours=1)

# Per-IP limits leave room for a shared address (an office, a carrier's NAT); per-key limits are
# what protects one account, and are far below what guessing a code or password would need.
# The holder's login page (/oauth2/login) and the API login share HOLDER_LOGIN, so both count
# against the same e-ID number.
OFFICER_LOGIN = Policy("officer-login", Limit(20, _MINUTE), Limit(10, 15 * _MINUTE))
HOLDER_LOGIN = Policy("holder-login", Limit(30, _MINUTE), Limit(10, 15 * _MINUTE))
ACTIVATION = Policy("activation", Limit(10, _MINUTE), Limit(10, _HOUR))
ACTIVATION_CODE_REQUEST = Policy(
    "activation-code-request", Limit(5, _MINUTE), Limit(3, dt.timedelta(days=1))
)
CHALLENGE = Policy("challenge", Limit(30, _MINUTE), Limit(10, _MINUTE))
REBIND = Policy("rebind", Limit(10, _MINUTE), Limit(5, _HOUR))
PHONE_CODE_SEND = Policy("phone-code-send", Limit(30, _MINUTE), Limit(5, _HOUR))
PHONE_CODE_CONFIRM = Policy("phone-code-confirm", Limit(30, _MINUTE), Limit(10, 10 * _MINUTE))
OIDC = Policy("oidc", Limit(120, _MINUTE))
VERIFIER = Policy("verifier", Limit(60, _MINUTE))
PUBLIC_READ = Policy("public-read", Limit(120, _MINUTE))
# Public documents every relying party, wallet and verifier fetches (discovery, keys, the card's
# metadata, root certificate and status list): cacheable, so an honest client needs few; the
# limit keeps one address from making the server sign status lists all day.
PUBLIC_DOCUMENT = Policy("public-document", Limit(600, _MINUTE))

_ALLOW = text(
    """
    INSERT INTO throttle_buckets AS b (key, tat) VALUES (:key, :now + :interval)
    ON CONFLICT (key) DO UPDATE SET tat = greatest(b.tat, :now) + :interval
        WHERE greatest(b.tat, :now) + :interval <= :now + :period
    RETURNING tat
    """
)
_PRUNE_ONE_IN = 256


def _bucket_key(policy: Policy, kind: str, value: str) -> str:
    # Account keys (e-ID numbers, usernames) are stored hashed: the table holds no identifiers.
    digest = hashlib.sha256(value.encode()).hexdigest()[:40]
    return f"{policy.name}:{kind}:{digest}"


def _take(conn: Any, key: str, limit: Limit, now: dt.datetime) -> int:
    """One token from the bucket, or the seconds until one is free (0 when taken)."""
    taken = conn.execute(
        _ALLOW, {"key": key, "now": now, "interval": limit.interval, "period": limit.period}
    ).first()
    if taken is not None:
        return 0
    tat = conn.execute(text("SELECT tat FROM throttle_buckets WHERE key = :key"), {"key": key})
    wait = tat.scalar_one() + limit.interval - limit.period - now
    return max(1, int(wait.total_seconds() + 0.999))


def hit(policy: Policy, ip: str, key: str | None = None, *, conn: Connection | None = None) -> None:
    """Count one request; raise `TooManyRequests` when the IP or the key is over its limit.

    The IP is counted first; a request the IP limit refuses does not use up the key's budget.
    `conn`: a connection in autocommit (the token endpoint's own, before its work), each upsert
    then commits by itself; otherwise a short transaction of its own."""
    now = clock.now()
    if conn is not None:
        _hit(conn, policy, ip, key, now)
        return
    with get_engine().begin() as own:
        _hit(own, policy, ip, key, now)


def _hit(conn: Connection, policy: Policy, ip: str, key: str | None, now: dt.datetime) -> None:
    wait = _take(conn, _bucket_key(policy, "ip", ip), policy.per_ip, now)
    if not wait and key is not None and policy.per_key is not None:
        wait = _take(conn, _bucket_key(policy, "key", key.strip()), policy.per_key, now)
    if secrets.randbelow(_PRUNE_ONE_IN) == 0:
        conn.execute(text("DELETE FROM throttle_buckets WHERE tat < :now"), {"now": now})
    if wait:
        raise TooManyRequests(wait)


async def _request_field(request: Request, name: str) -> str | None:
    """A field of the JSON or form body (read once; FastAPI and the endpoint reuse it)."""
    content_type = request.headers.get("content-type", "")
    try:
        if content_type.startswith("application/json"):
            data = await request.json()
        elif content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            data = await request.form()
        else:
            return None
    except (ValueError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    except (HTTPException, MultiPartException):
        # A form that does not parse (no boundary): the route answers its own 422 for the body.
        return None
    value = data.get(name) if hasattr(data, "get") else None
    return value if isinstance(value, str) else None


def limit(
    policy: Policy, *, key_field: str | None = None, key_path: str | None = None
) -> Callable[[Request], Awaitable[None]]:
    """The FastAPI dependency enforcing `policy` (see the module's docstring)."""

    async def dependency(request: Request) -> None:
        key: str | None = None
        if key_field is not None:
            key = await _request_field(request, key_field)
        elif key_path is not None:
            key = str(request.path_params.get(key_path, "")) or None
        await run_in_threadpool(hit, policy, client_ip(request), key)

    dependency.__name__ = f"throttle_{policy.name.replace('-', '_')}"
    dependency.throttle_policy = policy  # type: ignore[attr-defined]  # found by the route test
    return dependency


def limit_in_handler(policy: Policy) -> Callable[[Request], Awaitable[None]]:
    """The mark of a route that counts `policy` itself: its handler calls
    `hit(policy, client_ip(request))` first thing in the worker thread that does its work (the
    token endpoint: one thread hop per request instead of two). The dependency does nothing."""

    async def dependency(request: Request) -> None:
        return None

    dependency.__name__ = f"throttle_{policy.name.replace('-', '_')}_in_handler"
    dependency.throttle_policy = policy  # type: ignore[attr-defined]  # found by the route test
    return dependency


@lru_cache(maxsize=8)
def _trusted(spec: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(part.strip()) for part in spec.split(",") if part.strip())


def _is_trusted(address: str, trusted: tuple[Any, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def client_ip(request: Request) -> str:
    """The socket peer; behind a trusted proxy, the nearest address in `X-Forwarded-For` that
    is not itself a trusted proxy (anything further left could be written by the client)."""
    peer = request.client.host if request.client else "unknown"
    trusted = _trusted(get_settings().trusted_proxies)
    if not trusted or not _is_trusted(peer, trusted):
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            break  # a malformed hop: trust nothing further left
        if not _is_trusted(hop, trusted):
            return hop
        peer = hop
    return peer


def lockout_wait(
    failures: int, *, free: int = 5, first: dt.timedelta = _MINUTE, cap: dt.timedelta
) -> dt.timedelta | None:
    """The wait after the `failures`-th failure in a row: none for the first `free - 1`, then
    `first`, doubling with each further failure, at most `cap`. Success resets the count."""
    over = failures - free
    if over < 0:
        return None
    wait: dt.timedelta = min(first * (2 ** min(over, 30)), cap)
    return wait
