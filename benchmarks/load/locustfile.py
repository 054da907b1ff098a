"""Locust users for `benchmarks/load/run_load.py` (which seeds the database, starts the servers
and writes the setup this file reads from EID_LOAD_SETUP).

- `OfficeClerk`: an officer at one of the offices creating TK01 applications and reading them
  back (the officer console's polling).
- `EkycLogin`: a relying party's user logging in with an activated e-ID: the whole OpenID
  Connect authorization-code flow with PKCE (authorize, the login page's password + passcode,
  consent, token, userinfo), named as one login besides its steps.
- `Probe`: GET /healthz, the baseline of the same run.

Which run: EID_LOAD_STEP = baseline | clerks | peak; rates from EID_LOAD_* (see run_load.py).
"""

from __future__ import annotations

import base64
import hashlib
import html
import itertools
import json
import os
import random
import re
import secrets
import time
from urllib.parse import parse_qs, urlencode, urlsplit

from locust import HttpUser, between, constant_throughput, events, task

SETUP = json.loads(open(os.environ["EID_LOAD_SETUP"]).read())  # noqa: SIM115
STEP = os.environ.get("EID_LOAD_STEP", "clerks")
# Applications per second per office clerk in the peak step (run_load.py computes it).
CLERK_RATE = float(os.environ.get("EID_LOAD_CLERK_RATE", "0"))
LOGIN_RATE = float(os.environ.get("EID_LOAD_LOGIN_RATE", "1"))  # logins/s per ekyc user
_enrolled = itertools.count(int(os.environ.get("EID_LOAD_PASSPORT_OFFSET", "0")))
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def _tk01() -> dict[str, object]:
    """TK01 of a person run_load.py put into the reference registry, each enrolled once (a
    second open application for a person is rightly refused 409); each step its own range."""
    i = next(_enrolled)
    return {
        "full_name": "LOAD TEST PERSON",
        "date_of_birth": "1988-03-14",
        "sex": "F",
        "nationality": "KOR",
        "passport": {
            "number": SETUP["passports"][i],
            "type": "P",
            "issuing_state": "KOR",
            "issue_date": "2024-01-10",
            "expiry_date": "2033-01-09",
        },
        "residence_card": {
            "number": f"TT{7_000_000 + i:07d}",
            "kind": "TRC",
            "expiry_date": "2028-12-31",
        },
        "address": "12 Trang Tien, Ha Noi",
        "phone": "+84912345678",
        "language": "en",
    }


def _client_address() -> dict[str, str]:
    """Each simulated user comes from its own address, as a proxy would name it (run_load.py
    trusts the loopback proxy): the per-IP rate limits see many clients, not one."""
    a, b, c = (random.randrange(1, 255) for _ in range(3))
    return {"X-Forwarded-For": f"10.{a}.{b}.{c}"}


class OfficeClerk(HttpUser):
    """Creates an application now and then, and reads its applications back more often."""

    weight = 1 if STEP in ("clerks", "peak") else 0
    wait_time = between(1, 3) if STEP == "clerks" else constant_throughput(1.0)

    def on_start(self) -> None:
        token = random.choice(SETUP["officer_tokens"])
        self.headers = {"Authorization": f"Bearer {token}", **_client_address()}
        self.mine: list[str] = []
        # Offices open at different moments: the first application comes after a random wait.
        self.next_create = time.monotonic() + (
            random.expovariate(CLERK_RATE) if CLERK_RATE else 0.0
        )

    def _create(self) -> None:
        with self.client.post(
            "/api/v1/applications",
            json=_tk01(),
            headers=self.headers,
            name="POST /api/v1/applications",
            catch_response=True,
        ) as r:
            if r.status_code == 201:
                self.mine.append(r.json()["id"])
                r.success()
            else:
                r.failure(f"{r.status_code} {r.text[:120]}")

    @task
    def work(self) -> None:
        if STEP == "peak":
            # The office's own rate of new applications; in between, the console polls.
            now = time.monotonic()
            if now >= self.next_create:
                self.next_create = now + random.expovariate(CLERK_RATE)
                self._create()
                return
        elif not self.mine or random.random() < 0.2:
            self._create()
            return
        if self.mine:
            app_id = random.choice(self.mine[-20:])
            with self.client.get(
                f"/api/v1/applications/{app_id}",
                headers=self.headers,
                name="GET /api/v1/applications/{id}",
                catch_response=True,
            ) as r:
                if r.status_code == 200:
                    r.success()
                else:
                    r.failure(f"{r.status_code} {r.text[:120]}")


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


class EkycLogin(HttpUser):
    """One full eKYC login per task, as a bank's customer does it."""

    weight = 1 if STEP == "peak" else 0
    wait_time = constant_throughput(LOGIN_RATE)

    def on_start(self) -> None:
        self.client.headers.update(_client_address())

    @task
    def login(self) -> None:
        holder = random.choice(SETUP["holders"])
        client_id, secret, redirect = SETUP["client_id"], SETUP["client_secret"], SETUP["redirect"]
        verifier = secrets.token_urlsafe(48)
        query = urlencode(
            {
                "response_type": "code",
                "client_id": client_id,
                "redirect_uri": redirect,
                "scope": "openid ekyc_basic",
                "state": secrets.token_urlsafe(8),
                "nonce": secrets.token_urlsafe(8),
                "code_challenge": _s256(verifier),
                "code_challenge_method": "S256",
            }
        )
        started = time.perf_counter()
        self.client.cookies.clear()  # a new browser each time: the login page every time
        try:
            r = self.client.get(
                f"/oauth2/authorize?{query}", allow_redirects=False, name="GET /oauth2/authorize"
            )
            if r.status_code != 303:
                raise RuntimeError(f"authorize {r.status_code}")
            next_url = parse_qs(urlsplit(r.headers["location"]).query)["next"][0]
            r = self.client.post(
                "/oauth2/login",
                data={
                    "eid_number": holder,
                    "password": SETUP["password"],
                    "passcode": SETUP["passcode"],
                    "next": next_url,
                },
                allow_redirects=False,
                name="POST /oauth2/login",
            )
            if r.status_code != 303:
                raise RuntimeError(f"login {r.status_code}")
            r = self.client.get(
                r.headers["location"], allow_redirects=False, name="GET /oauth2/authorize (consent)"
            )
            if r.status_code != 200:
                raise RuntimeError(f"consent page {r.status_code}")
            fields = {k: html.unescape(v) for k, v in HIDDEN.findall(r.text)}
            fields["decision"] = "allow"
            r = self.client.post(
                "/oauth2/authorize",
                data=fields,
                allow_redirects=False,
                name="POST /oauth2/authorize",
            )
            code = parse_qs(urlsplit(r.headers.get("location", "")).query).get("code", [""])[0]
            if r.status_code != 302 or not code:
                raise RuntimeError(f"consent {r.status_code}")
            r = self.client.post(
                "/oauth2/token",
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": redirect,
                    "code_verifier": verifier,
                },
                auth=(client_id, secret),
                name="POST /oauth2/token",
            )
            if r.status_code != 200:
                raise RuntimeError(f"token {r.status_code}")
            access = r.json()["access_token"]
            r = self.client.get(
                "/oauth2/userinfo",
                headers={"Authorization": f"Bearer {access}"},
                name="GET /oauth2/userinfo",
            )
            if r.status_code != 200:
                raise RuntimeError(f"userinfo {r.status_code}")
            error = None
        except (RuntimeError, KeyError, ValueError) as exc:
            error = exc
        events.request.fire(
            request_type="FLOW",
            name="eKYC login (6 requests)",
            response_time=(time.perf_counter() - started) * 1000,
            response_length=0,
            exception=error,
            context={},
        )


class Probe(HttpUser):
    weight = 1 if STEP == "baseline" else 0
    wait_time = constant_throughput(1000)

    @task
    def healthz(self) -> None:
        self.client.get("/healthz", name="GET /healthz")
