from __future__ import annotations

from dataclasses import dataclass

from eid.core.audit import Actor
from eid.core.database import unit_of_work
from eid.identity.clients import create_client
from tests.identity.factories import TestHolder, make_holder

ADMIN = Actor(kind="officer", id="admin-1", role="admin")
REDIRECT = "http://127.0.0.1:9/callback"


@dataclass
class RelyingPartyFixture:
    client_id: str
    client_secret: str
    scopes: list[str]


def register(
    scopes: list[str],
    *,
    name: str = "Example Bank",
    post_logout_redirect_uris: list[str] | None = None,
) -> RelyingPartyFixture:
    with unit_of_work() as db:
        client_id, secret = create_client(
            db,
            name=name,
            redirect_uris=[REDIRECT],
            scopes=scopes,
            purpose="open a bank account (KYC)",
            actor=ADMIN,
            post_logout_redirect_uris=post_logout_redirect_uris,
        )
    return RelyingPartyFixture(client_id, secret, scopes)


def holder(**kwargs: object) -> TestHolder:
    with unit_of_work() as db:
        return make_holder(db, **kwargs)  # type: ignore[arg-type]
