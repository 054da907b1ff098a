"""The real application (`create_app()`) served by uvicorn in a thread, on a free port."""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qs, urlsplit

import httpx
import uvicorn

from eid.app import create_app
from eid.core.settings import get_settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve() -> Iterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    previous = os.environ.get("EID_ISSUER")
    os.environ["EID_ISSUER"] = base
    get_settings.cache_clear()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        if previous is None:
            os.environ.pop("EID_ISSUER", None)
        else:
            os.environ["EID_ISSUER"] = previous
        get_settings.cache_clear()


_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def browser_authorize(
    base: str,
    authorize_url: str,
    eid_number: str,
    password: str,
    passcode: str,
    *,
    decision: str = "allow",
) -> httpx.Response:
    """What the holder's browser does: log in, read the consent page, decide. Returns the
    final response (a redirect to the relying party, or an error page)."""
    import html

    with httpx.Client(base_url=base, follow_redirects=False, timeout=30) as browser:
        response = browser.get(authorize_url)
        if response.status_code == 303 and "/oauth2/login" in response.headers["location"]:
            next_url = parse_qs(urlsplit(response.headers["location"]).query)["next"][0]
            response = browser.post(
                "/oauth2/login",
                data={
                    "eid_number": eid_number,
                    "password": password,
                    "passcode": passcode,
                    "next": next_url,
                },
            )
            if response.status_code != 303:
                return response
            response = browser.get(response.headers["location"])
        if response.status_code != 200:
            return response
        fields = {k: html.unescape(v) for k, v in _HIDDEN.findall(response.text)}
        fields["decision"] = decision
        return browser.post("/oauth2/authorize", data=fields)


def query_of(response: httpx.Response) -> dict[str, str]:
    location = response.headers["location"]
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
