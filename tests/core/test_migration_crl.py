"""Migration 0023 names the issuing certificate of every card issued before it, from the card's
`wallet.credential_issued` audit event, so a revoked certificate's cards can be counted."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable

from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Engine

from eid.core.schema import alembic_config


def test_existing_cards_get_the_kid_of_their_audit_event(
    database_at: Callable[[str], tuple[str, Engine]],
) -> None:
    url, engine = database_at("0022_vci_authz")
    signed, legacy = uuid.uuid4(), uuid.uuid4()
    with engine.begin() as conn:
        for card, index in ((signed, 1), (legacy, 2)):
            conn.execute(
                text(
                    "INSERT INTO wallet_credentials (id, account_id, format, status_list, "
                    "status_index, revoked_status, expires_at) VALUES (:id, :account, "
                    "'dc+sd-jwt', 'l1', :index, 0, :expires)"
                ),
                {
                    "id": card,
                    "account": uuid.uuid4(),
                    "index": index,
                    "expires": dt.datetime.now(dt.UTC) + dt.timedelta(days=30),
                },
            )
        for details in (
            {"credential_id": str(signed), "kid": "kid-1", "format": "dc+sd-jwt"},
            {"credential_id": str(legacy), "format": "eddsa+sd-jwt"},
        ):
            conn.execute(
                text(
                    "INSERT INTO audit_events (actor_kind, actor_id, action, subject_type, "
                    "subject_id, details) VALUES ('holder', 'h', 'wallet.credential_issued', "
                    "'account', 'a', CAST(:details AS jsonb))"
                ),
                {"details": json.dumps(details)},
            )
    command.upgrade(alembic_config(url), "head")
    with engine.connect() as conn:
        kids = dict(conn.execute(text("SELECT id, signer_kid FROM wallet_credentials")).all())
    assert kids == {signed: "kid-1", legacy: None}
