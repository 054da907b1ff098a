"""Signing keys (issue 11, item 4): the JWKS is published from the first start, a rotation
publishes the next key before it signs, and the JWKS and discovery say how long to cache them."""

from __future__ import annotations

import datetime as dt
import json
import re
import threading

import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from eid.cli import app as cli
from eid.core import clock
from eid.core.audit import Actor
from eid.core.database import unit_of_work
from eid.identity import keys
from eid.identity.models import OidcSigningKey

ADMIN = Actor(kind="officer", id="admin-1", role="admin")


def _kids(jwks: dict[str, object]) -> set[str]:
    return {k["kid"] for k in jwks["keys"]}  # type: ignore[attr-defined, index]


def _max_age(header: str) -> int:
    found = re.fullmatch(r"public, max-age=(\d+)", header)
    assert found, header
    return int(found.group(1))


def test_jwks_is_published_from_the_first_start_before_any_token(api: TestClient) -> None:
    with unit_of_work() as db:
        assert db.execute(select(func.count()).select_from(OidcSigningKey)).scalar_one() == 0
    published = api.get("/oauth2/jwks")
    assert published.status_code == 200
    assert len(published.json()["keys"]) == 1
    assert all("d" not in k for k in published.json()["keys"])
    keys.forget_active_key()
    with unit_of_work() as db:
        assert keys.active_key(db)[0] in _kids(published.json())  # the key that will sign


def test_first_key_is_made_once_by_two_processes_starting_together(committed: Engine) -> None:
    start = threading.Barrier(2)
    made: list[str] = []

    def starting_process() -> None:
        with unit_of_work() as db:
            start.wait()
            made.append(keys.ensure_signing_key(db).kid)

    threads = [threading.Thread(target=starting_process) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(made) == 2 and made[0] == made[1]
    with unit_of_work() as db:
        assert db.execute(select(func.count()).select_from(OidcSigningKey)).scalar_one() == 1


def test_jwks_and_discovery_carry_a_public_max_age_shorter_than_the_next_key_lead(
    api: TestClient,
) -> None:
    jwks_age = _max_age(api.get("/oauth2/jwks").headers["cache-control"])
    discovery_age = _max_age(api.get("/.well-known/openid-configuration").headers["cache-control"])
    assert jwks_age == discovery_age == keys.JWKS_MAX_AGE
    assert dt.timedelta(seconds=jwks_age) < keys.NEXT_KEY_LEAD


def test_rotation_publishes_the_next_key_before_it_signs(db: Session) -> None:
    keys.forget_active_key()
    old_kid, _ = keys.active_key(db)
    new = keys.rotate(db, actor=ADMIN)
    assert _kids(keys.published_jwks(db)) == {old_kid, new.kid}
    keys.forget_active_key()
    assert keys.active_key(db)[0] == old_kid  # published, not signing
    clock.shift(keys.NEXT_KEY_LEAD + dt.timedelta(seconds=1))
    keys.forget_active_key()
    assert keys.active_key(db)[0] == new.kid
    assert _kids(keys.published_jwks(db)) == {old_kid, new.kid}  # old tokens still checkable
    clock.shift(keys.PUBLISH_AFTER_RETIRE)
    assert _kids(keys.published_jwks(db)) == {new.kid}
    keys.forget_active_key()


def test_a_verifier_caching_the_jwks_for_its_max_age_never_meets_an_unknown_kid(
    db: Session,
) -> None:
    """Minute by minute over three hours with two rotations: a verifier refetches the JWKS only
    when its cached copy is `max-age` old; every id_token signed meanwhile has a known `kid`,
    and still verifies until it expires."""
    keys.forget_active_key()
    keys.active_key(db)
    cached, fetched_at = keys.published_jwks(db), clock.now()
    tokens: list[tuple[str, dt.datetime]] = []
    for minute in range(180):
        if minute in (20, 95):
            keys.rotate(db, actor=ADMIN)
        if clock.now() - fetched_at >= dt.timedelta(seconds=keys.JWKS_MAX_AGE):
            cached, fetched_at = keys.published_jwks(db), clock.now()
        keys.forget_active_key()
        kid, key = keys.active_key(db)
        assert kid in _kids(cached), f"minute {minute}: unknown kid"
        token = jwt.encode({"alg": keys.ALG, "kid": kid}, {"sub": "s"}, key)
        assert jwt.decode(token, key).header["kid"] == kid
        tokens.append((kid, clock.now()))
        live = {signer for signer, at in tokens if clock.now() - at < keys.ID_TOKEN_TTL}
        assert live <= _kids(keys.published_jwks(db)), f"minute {minute}: retired too early"
        clock.shift(dt.timedelta(minutes=1))
    keys.forget_active_key()


def test_next_key_signs_early_only_after_the_jwks_max_age(db: Session) -> None:
    keys.forget_active_key()
    old_kid, _ = keys.active_key(db)
    new = keys.rotate(db, actor=ADMIN)
    with pytest.raises(keys.NextKeyTooNew):
        keys.activate_next(db, actor=ADMIN)
    clock.shift(dt.timedelta(seconds=keys.JWKS_MAX_AGE + 1))
    keys.activate_next(db, actor=ADMIN)
    keys.forget_active_key()
    assert keys.active_key(db)[0] == new.kid
    assert old_kid in _kids(keys.published_jwks(db))
    keys.forget_active_key()


def test_cli_rotate_key_publishes_then_activates(committed: Engine) -> None:
    runner = CliRunner()
    with unit_of_work() as db:
        first = keys.ensure_signing_key(db).kid
    rotated = runner.invoke(cli, ["oidc", "rotate-key"])
    assert rotated.exit_code == 0, rotated.output
    answer = json.loads(rotated.output)
    assert dt.datetime.fromisoformat(answer["signs_from"]) > clock.now() + dt.timedelta(
        seconds=keys.JWKS_MAX_AGE
    )
    keys.forget_active_key()
    with unit_of_work() as db:
        assert keys.active_key(db)[0] == first
        assert _kids(keys.published_jwks(db)) == {first, answer["kid"]}
    too_soon = runner.invoke(cli, ["oidc", "rotate-key", "--activate"])
    assert isinstance(too_soon.exception, keys.NextKeyTooNew)
    assert too_soon.exception.code == "NEXT_KEY_TOO_NEW"
    clock.shift(dt.timedelta(seconds=keys.JWKS_MAX_AGE + 1))
    activated = runner.invoke(cli, ["oidc", "rotate-key", "--activate"])
    assert activated.exit_code == 0, activated.output
    keys.forget_active_key()
    with unit_of_work() as db:
        assert keys.active_key(db)[0] == answer["kid"]
    keys.forget_active_key()
