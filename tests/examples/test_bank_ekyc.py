"""Issue 11, item 5: the sample bank (examples/bank-ekyc, panva's OpenID-certified
`openid-client` 6.9 pinned by its own lock file) started the way its README says, with one
command (`examples/bank-ekyc/run`), against the live server: it makes its key, registers itself
through `eid client create`, and serves. Then a real browser (Debian's Chromium, Playwright) is a
Level-2 holder opening an account: the bank's home page, eid's login (password + passcode) and
consent, the bank's form pre-filled with the holder's verified claims, the application sent, and
RP-initiated logout through eid's end_session_endpoint, which ends the eid session too.

The bank runs on `http://localhost:<port>`, eid on `http://127.0.0.1:<port>`: two sites, as a
bank and eid are, so the bank's session cookie (SameSite=Lax) must survive eid's redirects.

FAPI 2.0 (PAR + private_key_jwt + DPoP) is the bank's default profile; the basic profile
(client_secret_basic + PKCE) is its option for a relying party that is not a bank."""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from eid.core.database import unit_of_work
from eid.identity.models import RelyingParty
from tests.identity.factories import PASSCODE, PASSWORD
from tests.identity.oidc_fixtures import holder
from tests.web.axe import PHONE, axe_scan, screenshot
from tests.web.browser import watch_csp

BANK = Path(__file__).resolve().parents[2] / "examples" / "bank-ekyc"
EID_CLI = Path(sys.executable).parent / "eid"


def _bank_missing() -> str | None:
    if shutil.which("node") is None:
        return "Node.js is not on this machine: the sample bank cannot run"
    if not (BANK / "node_modules" / "openid-client" / "package.json").exists():
        return (
            "the sample bank's openid-client is not installed: "
            "`npm ci --prefix examples/bank-ekyc` (scripts/test does it when npm is on the machine)"
        )
    return None


needs_bank = pytest.mark.skipif(_bank_missing() is not None, reason=_bank_missing() or "")


@contextmanager
def bank(eid: str, state_dir: Path, profile: str) -> Iterator[str]:
    """`examples/bank-ekyc/run` as its README starts it, on a free port; the bank's URL once it
    says it is ready. It registers itself with the `eid` command of this environment (the test
    run's database, through the environment the live server has)."""
    env = {**os.environ, "EID_CLI": str(EID_CLI)}
    command = [str(BANK / "run"), "--eid", eid, "--port", "0", "--state-dir", str(state_dir)]
    log = state_dir / "bank.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [*command, "--profile", profile],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=env,
        )
        lines: queue.Queue[str] = queue.Queue()
        assert process.stdout is not None
        out = process.stdout

        def read() -> None:
            for line in out:
                lines.put(line)
            lines.put("")  # the bank stopped: no need to wait for the timeout

        threading.Thread(target=read, daemon=True).start()
        try:
            try:
                ready = lines.get(timeout=90)
            except queue.Empty:
                ready = ""
            found = re.search(r"open (http://localhost:\d+)/", ready)
            assert found, (ready, process.poll(), log.read_text()[-3000:])
            yield found.group(1)
        finally:
            process.terminate()
            process.wait(timeout=10)


def _registered(client_name: str) -> RelyingParty:
    from sqlalchemy import select

    with unit_of_work() as db:
        found = db.execute(select(RelyingParty).where(RelyingParty.name == client_name)).scalar()
        assert found is not None
        db.expunge(found)
        return found


def _open_an_account(page: Any, bank_url: str, eid: str, shots: str) -> str:
    """The holder's story in the browser, from the bank's home page to its "done" page; the
    application's reference."""
    who = holder(language="vi")
    page.set_viewport_size(PHONE)
    page.goto(f"{bank_url}/")
    # The browser's locale is vi-VN: the bank's own pages are in Vietnamese.
    assert page.inner_text("h1") == "Mở tài khoản bằng e-ID của bạn"
    assert not axe_scan(page), axe_scan(page)
    screenshot(page, f"{shots}-1-home")
    page.click("#start")
    # eid's login page, in Vietnamese too (the bank passed ui_locales).
    page.wait_for_selector("input[name=eid_number]")
    assert page.url.startswith(f"{eid}/oauth2/login")
    assert page.locator("html").get_attribute("lang") == "vi"
    page.fill("input[name=eid_number]", who.eid_number)
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=passcode]", PASSCODE)
    screenshot(page, f"{shots}-2-login")
    page.click("form:has(input[name=eid_number]) button[type=submit]")
    page.wait_for_selector("button[name=decision][value=allow]")
    assert "Example Bank (bank-ekyc sample)" in page.inner_text("body")
    screenshot(page, f"{shots}-2-consent")
    page.click("button[name=decision][value=allow]")

    # Back at the bank: the form, pre-filled with what eid verified, read-only.
    page.wait_for_selector("form#application")
    assert page.url == f"{bank_url}/account"
    verified = {
        "name": "NGUYEN VAN A",
        "birthdate": "1990-01-31",
        "nationality": "KOR",
        "residence_card_number": "TT1234567",
        "residence_card_kind": "TRC",
        "residence_card_expiry": "2030-12-31",
        "phone_number": "+84901234567",
        "email": "a@example.com",
    }
    for field, value in verified.items():
        assert page.input_value(f"#{field}") == value, field
        assert page.get_attribute(f"#{field}", "readonly") is not None, field
    assert not axe_scan(page), axe_scan(page)
    screenshot(page, f"{shots}-3-form")

    # What the e-ID does not share, the customer types; nothing goes without the confirmation.
    page.fill("#passport_number", "M12345678")
    page.fill("#address", "12 Tràng Tiền, Hoàn Kiếm, Hà Nội")
    page.evaluate("document.querySelector('#confirm').removeAttribute('required')")
    page.click("#submit")
    page.wait_for_selector(".problem")
    assert page.input_value("#address") == "12 Tràng Tiền, Hoàn Kiếm, Hà Nội"  # kept
    page.check("#confirm")
    page.click("#submit")
    page.wait_for_selector("#reference")
    assert page.url == f"{bank_url}/done"
    assert "NGUYEN VAN A" in page.inner_text("main")
    assert not axe_scan(page), axe_scan(page)
    screenshot(page, f"{shots}-4-done")
    return page.inner_text("#reference")


def _sign_out(page: Any, bank_url: str, shots: str) -> None:
    """The bank's "sign out" ends the bank's session and, through eid's end_session_endpoint,
    eid's: the next login asks for the password again."""
    page.click("#sign-out")
    page.wait_for_url(f"{bank_url}/signed-out?*")
    assert page.inner_text("h1") == "Bạn đã đăng xuất"
    screenshot(page, f"{shots}-5-signed-out")
    page.goto(f"{bank_url}/account")
    assert page.url == f"{bank_url}/"  # the bank's session is gone
    page.click("#start")
    page.wait_for_selector("input[name=eid_number]")  # and eid's: login again, no consent page


def _assert_bank_cookie(page: Any, bank_url: str) -> None:
    cookies = {c["name"]: c for c in page.context.cookies(bank_url)}
    session = cookies["bank_session"]
    assert session["httpOnly"] is True and session["sameSite"] == "Lax"
    assert "bank_session" not in page.evaluate("document.cookie")


@needs_bank
def test_sample_bank_opens_an_account_with_the_basic_profile(
    live: str, page: Any, tmp_path: Path
) -> None:
    csp = watch_csp(page)
    with bank(live, tmp_path, "basic") as bank_url:
        rp = _registered("Example Bank (bank-ekyc sample)")
        assert rp.redirect_uris == [f"{bank_url}/callback"]
        assert rp.post_logout_redirect_uris == [f"{bank_url}/signed-out"]
        reference = _open_an_account(page, bank_url, live, "bank-basic")
        log = (tmp_path / "bank.log").read_text()
        assert "token_type=bearer" in log.lower() and "NGUYEN" not in log
        assert re.fullmatch(r"EB-[0-9A-F]{8}", reference)
        _assert_bank_cookie(page, bank_url)
        _sign_out(page, bank_url, "bank-basic")
        # The bank's pages and eid's ran under their policies without one refusal.
        csp.assert_clean()
        # The registration holds a client secret: the owner's alone.
        registration = next(tmp_path.glob("registration-*.json"))
        assert registration.stat().st_mode & 0o077 == 0


@needs_bank
def test_sample_bank_says_so_when_the_holder_declines(live: str, page: Any, tmp_path: Path) -> None:
    who = holder()
    with bank(live, tmp_path, "basic") as bank_url:
        page.goto(f"{bank_url}/?lang=en")
        page.click("#start")
        page.fill("input[name=eid_number]", who.eid_number)
        page.fill("input[name=password]", PASSWORD)
        page.fill("input[name=passcode]", PASSCODE)
        page.click("form:has(input[name=eid_number]) button[type=submit]")
        page.click("button[name=decision][value=deny]")
        page.wait_for_selector("#error-code")
        assert page.inner_text("#error-code") == "access_denied"
        assert "did not allow" in page.inner_text("#error-message")
        # A replayed callback finds no login to finish.
        page.go_back()
        page.goto(f"{bank_url}/callback?code=x&state=y")
        assert page.inner_text("#error-code") == "session_expired"


@needs_bank
def test_sample_bank_opens_an_account_with_fapi2(live: str, page: Any, tmp_path: Path) -> None:
    discovery = httpx.get(f"{live}/.well-known/openid-configuration").json()
    assert discovery["pushed_authorization_request_endpoint"] == f"{live}/oauth2/par"
    assert "private_key_jwt" in discovery["token_endpoint_auth_methods_supported"]
    csp = watch_csp(page)
    authorize: list[str] = []
    page.on(
        "request",
        lambda r: authorize.append(r.url) if r.url.startswith(f"{live}/oauth2/authorize") else None,
    )
    with bank(live, tmp_path, "fapi2") as bank_url:
        _open_an_account(page, bank_url, live, "bank-fapi2")
        _sign_out(page, bank_url, "bank-fapi2")
        csp.assert_clean()
    # The request was pushed (PAR): the browser carried only its reference, not its parameters.
    query = parse_qs(urlsplit(authorize[0]).query)
    assert set(query) == {"client_id", "request_uri"}, query
    # The tokens were DPoP-bound (the bank logs how, never who, signed in).
    log = (tmp_path / "bank.log").read_text()
    assert "token_type=dpop" in log.lower() and "NGUYEN" not in log
    # The key was made on first run: its private half the owner's alone, only its public half
    # registered.
    assert (tmp_path / "bank-key.private.jwk.json").stat().st_mode & 0o077 == 0
    jwks = json.loads((tmp_path / "bank-jwks.json").read_text())
    assert [sorted(k) for k in jwks["keys"]] == [["alg", "crv", "kid", "kty", "use", "x", "y"]]


@needs_bank
def test_without_a_running_eid_the_bank_says_what_to_do(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(BANK / "run"), "--eid", "http://127.0.0.1:9", "--state-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "start it first (eid serve)" in done.stderr


def test_the_bank_pins_openid_client_by_its_lock_file_and_never_commits_its_key() -> None:
    """Read without Node: the certified library pinned exactly, with an integrity hash, and
    the directory where the bank keeps its private key ignored by git."""
    manifest = json.loads((BANK / "package.json").read_text())
    lock = json.loads((BANK / "package-lock.json").read_text())
    assert manifest["dependencies"] == {"openid-client": "6.9.0"}
    locked = lock["packages"]["node_modules/openid-client"]
    assert locked["version"] == "6.9.0" and locked["integrity"].startswith("sha512-")
    assert ".bank/" in (BANK / ".gitignore").read_text().splitlines()
