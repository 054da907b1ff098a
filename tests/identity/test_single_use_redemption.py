"""A code or a refresh token is redeemed once, even by simultaneous requests (issue 11, Speed:
"without giving up the durable single-use redemption").

Real HTTP against the live app (its own uvicorn server), each request from its own thread and
keep-alive connection, all released together by a barrier: exactly one gets tokens, the others
`invalid_grant`; the database holds exactly one token row bought by the code, or one new pair for
the refresh token."""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import Engine, func, select

from eid.core.audit import AuditEvent
from eid.core.crypto import hash_token
from eid.core.database import unit_of_work
from eid.identity.models import AuthorizationCode, OAuthToken
from tests.identity.factories import PASSCODE, PASSWORD
from tests.identity.live_server import browser_authorize, query_of
from tests.identity.oidc_fixtures import REDIRECT, RelyingPartyFixture, holder, register

pytestmark = pytest.mark.usefixtures("server")


def _code(server: str, rp: RelyingPartyFixture) -> tuple[str, str, Any]:
    """A real code from the browser flow: (code, verifier, account id). The signing key is made
    first, as a server's start makes it (`bootstrap.require_keys`): the hot path only signs
    with a key that exists, and these tests are about the hot path."""
    from eid.identity import keys

    with unit_of_work() as db:
        keys.active_key(db)
    who = holder()
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    params = {
        "response_type": "code",
        "client_id": rp.client_id,
        "redirect_uri": REDIRECT,
        "scope": "openid",
        "state": "s",
        "code_challenge": challenge.rstrip(b"=").decode(),
        "code_challenge_method": "S256",
    }
    response = browser_authorize(
        server, "/oauth2/authorize?" + urlencode(params), who.eid_number, PASSWORD, PASSCODE
    )
    return query_of(response)["code"], verifier, who.account_id


def _all_at_once(server: str, n: int, data: dict[str, str], auth: tuple[str, str]) -> list[Any]:
    """`n` identical token requests, released together; their responses."""
    barrier = threading.Barrier(n)
    answers: list[Any] = [None] * n

    def one(i: int) -> None:
        with httpx.Client(base_url=server, timeout=60) as client:
            client.get("/healthz")  # the connection is open before the barrier
            barrier.wait()
            answers[i] = client.post("/oauth2/token", auth=auth, data=data)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return answers


def _one_winner(answers: list[Any]) -> dict[str, Any]:
    won = [r for r in answers if r.status_code == 200]
    lost = [r for r in answers if r.status_code != 200]
    assert len(won) == 1, [(r.status_code, r.text[:200]) for r in answers]
    for r in lost:
        assert r.status_code == 400, r.text
        assert r.json()["error"] == "invalid_grant", r.text
    body: dict[str, Any] = won[0].json()
    return body


@pytest.mark.parametrize("n", [2, 8])
def test_simultaneous_redemptions_of_one_code_give_tokens_once(server: str, n: int) -> None:
    rp = register(["openid"])
    code, verifier, account_id = _code(server, rp)
    answers = _all_at_once(
        server,
        n,
        {
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": verifier,
            "redirect_uri": REDIRECT,
        },
        (rp.client_id, rp.client_secret),
    )
    body = _one_winner(answers)
    assert body["id_token"] and body["refresh_token"]
    with unit_of_work() as db:
        bought = db.scalar(
            select(func.count())
            .select_from(OAuthToken)
            .where(OAuthToken.origin_code_hash == hash_token(code))
        )
        used = db.scalar(
            select(AuthorizationCode.used_at).where(AuthorizationCode.code_hash == hash_token(code))
        )
        replays = db.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.action == "oidc.code_replayed",
                AuditEvent.subject_id == str(account_id),
            )
        )
    assert bought == 1
    assert used is not None
    # Each loser is a replay of a used code (RFC 6749 §4.1.2): recorded, and what the code
    # bought is revoked.
    assert replays == n - 1


@pytest.mark.parametrize("n", [2, 8])
def test_simultaneous_refreshes_of_one_token_rotate_once(server: str, n: int) -> None:
    rp = register(["openid"])
    code, verifier, account_id = _code(server, rp)
    auth = (rp.client_id, rp.client_secret)
    first = httpx.post(
        f"{server}/oauth2/token",
        auth=auth,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": verifier,
            "redirect_uri": REDIRECT,
        },
    )
    assert first.status_code == 200, first.text
    refresh = first.json()["refresh_token"]
    answers = _all_at_once(
        server, n, {"grant_type": "refresh_token", "refresh_token": refresh}, auth
    )
    body = _one_winner(answers)
    assert body["refresh_token"] != refresh
    with unit_of_work() as db:
        rows = db.scalar(
            select(func.count())
            .select_from(OAuthToken)
            .where(OAuthToken.client_id == rp.client_id, OAuthToken.account_id == account_id)
        )
        new_pair = db.scalar(
            select(func.count())
            .select_from(OAuthToken)
            .where(OAuthToken.refresh_token_hash == hash_token(body["refresh_token"]))
        )
    assert rows == 2  # the first pair and exactly one rotation of it
    assert new_pair == 1
    # The losers presented a rotated refresh token: the family is ended, the new pair with it.
    again = httpx.post(
        f"{server}/oauth2/token",
        auth=auth,
        data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
    )
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_a_code_is_consumed_with_its_tokens_in_one_commit(server: str) -> None:
    """The fast path and the full grant agree: a redeemed code is used, once, durably."""
    rp = register(["openid"])
    code, verifier, _ = _code(server, rp)
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "code_verifier": verifier,
        "redirect_uri": REDIRECT,
    }
    auth = (rp.client_id, rp.client_secret)
    assert httpx.post(f"{server}/oauth2/token", auth=auth, data=data).status_code == 200
    again = httpx.post(f"{server}/oauth2/token", auth=auth, data=data)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def _basic(rp: RelyingPartyFixture) -> dict[str, str]:
    pair = f"{rp.client_id}:{rp.client_secret}".encode()
    return {"authorization": "Basic " + base64.b64encode(pair).decode()}


def test_the_hot_path_answers_a_plain_grant_and_declines_the_rest(server: str) -> None:
    """`token_grants` answers the plain code grant itself (a broken statement would fall back
    to the full grant unnoticed: tests pass, the speed is gone), with the claims the full grant
    gives; anything else it leaves untouched for the full grant."""
    from joserfc import jwt
    from joserfc.jwk import KeySet

    from eid.identity import keys, token_grants

    rp = register(["openid"])
    code, verifier, _ = _code(server, rp)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "code_verifier": verifier,
        "redirect_uri": REDIRECT,
    }
    wrong = {**form, "code_verifier": secrets.token_urlsafe(48)}
    with unit_of_work() as db:
        assert token_grants.fast_token(db, _basic(rp), wrong) is None
        assert token_grants.fast_token(db, {**_basic(rp), "dpop": "x"}, form) is None
        unspent = db.scalar(
            select(AuthorizationCode.used_at).where(AuthorizationCode.code_hash == hash_token(code))
        )
        assert unspent is None  # declining wrote nothing
        body = token_grants.fast_token(db, _basic(rp), form)
        assert body is not None
        published = keys.published_jwks(db)
    assert body["token_type"] == "Bearer"
    assert set(body) == {
        "token_type",
        "access_token",
        "expires_in",
        "refresh_token",
        "scope",
        "id_token",
    }
    claims = jwt.decode(body["id_token"], KeySet.import_key_set(published), ["ES256"]).claims
    assert set(claims) == {"iss", "aud", "iat", "exp", "auth_time", "acr", "amr", "at_hash", "sub"}
    assert claims["aud"] == rp.client_id
    refreshed = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    with unit_of_work() as db:
        assert token_grants.fast_token(db, _basic(rp), {**refreshed, "scope": "openid"}) is None
        rotated = token_grants.fast_token(db, _basic(rp), refreshed)
    assert rotated is not None and rotated["refresh_token"] != body["refresh_token"]


def test_simultaneous_first_grants_on_a_fresh_database_make_one_key(
    server: str, owner_engine: Engine
) -> None:
    """No signing key yet (a database nobody started a server on): the hot path declines, and
    the full grant makes the first key under its advisory lock: six codes redeemed at once all
    get tokens, signed by the one key."""
    from eid.identity import keys
    from eid.identity.models import OidcSigningKey

    rp = register(["openid"])
    codes = [_code(server, rp) for _ in range(6)]
    with owner_engine.begin() as conn:  # the application's role may not delete keys
        conn.execute(OidcSigningKey.__table__.delete())
    keys.forget_active_key()
    barrier = threading.Barrier(len(codes))
    answers: list[Any] = [None] * len(codes)

    def redeem(i: int, code: str, verifier: str) -> None:
        with httpx.Client(base_url=server, timeout=60) as client:
            client.get("/healthz")
            barrier.wait()
            answers[i] = client.post(
                "/oauth2/token",
                auth=(rp.client_id, rp.client_secret),
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "code_verifier": verifier,
                    "redirect_uri": REDIRECT,
                },
            )

    threads = [
        threading.Thread(target=redeem, args=(i, code, verifier))
        for i, (code, verifier, _) in enumerate(codes)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert [r.status_code for r in answers] == [200] * len(codes), [r.text[:80] for r in answers]
    with unit_of_work() as db:
        assert db.scalar(select(func.count()).select_from(OidcSigningKey)) == 1


def test_the_hot_path_never_spends_a_dpop_bound_code_or_refresh_token(server: str) -> None:
    """RFC 9449 §10: a code pushed with a DPoP key, and tokens bound to one, are spent only with a
    proof of that key: the hot path (no proof) declines them and writes nothing; the full grant
    then refuses them (`invalid_grant`)."""
    from sqlalchemy import update

    from eid.identity import token_grants

    rp = register(["openid"])
    code, verifier, _ = _code(server, rp)
    with unit_of_work() as db:
        db.execute(
            update(AuthorizationCode)
            .where(AuthorizationCode.code_hash == hash_token(code))
            .values(dpop_jkt="k" * 43)
        )
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "code_verifier": verifier,
        "redirect_uri": REDIRECT,
    }
    with unit_of_work() as db:
        assert token_grants.fast_token(db, _basic(rp), form) is None
    answer = httpx.post(f"{server}/oauth2/token", auth=(rp.client_id, rp.client_secret), data=form)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant", answer.text

    other, other_verifier, _ = _code(server, rp)
    body = httpx.post(
        f"{server}/oauth2/token",
        auth=(rp.client_id, rp.client_secret),
        data={**form, "code": other, "code_verifier": other_verifier},
    ).json()
    with unit_of_work() as db:
        db.execute(
            update(OAuthToken)
            .where(OAuthToken.refresh_token_hash == hash_token(body["refresh_token"]))
            .values(dpop_jkt="k" * 43)
        )
        refreshed = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
        assert token_grants.fast_token(db, _basic(rp), refreshed) is None
