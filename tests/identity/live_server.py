"""What the holder's browser does against the live server (`live`, tests/conftest.py)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import httpx

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
