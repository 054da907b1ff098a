"""What every browser test of a page checks besides its story: the page ran under its
Content-Security-Policy without a single refusal, and no script can read the session."""

from __future__ import annotations

from typing import Any

# Registered before any page script runs, in every document the page loads (Playwright injects
# it through the DevTools protocol, so the policy does not apply to it).
_LISTEN = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
});
"""


class CspWatch:
    def __init__(self, page: Any) -> None:
        self.page = page
        self.console: list[str] = []
        page.add_init_script(_LISTEN)
        page.on("console", self._console)

    def _console(self, message: Any) -> None:
        # Chromium reports each refusal on the console ("Refused to ... Content Security Policy").
        if "Content Security Policy" in message.text:
            self.console.append(message.text)

    def assert_clean(self) -> None:
        reported = None
        for _ in range(3):
            try:
                reported = self.page.evaluate("window.__cspViolations || []")
                break
            except Exception as error:  # Playwright's Error, if a redirect is under way
                if "context was destroyed" not in str(error):
                    raise
                # The page is navigating (a redirect to the relying party): ask the next one.
                self.page.wait_for_load_state()
        assert reported is not None, "the page never settled"
        assert not reported, reported
        assert not self.console, self.console


def watch_csp(page: Any) -> CspWatch:
    return CspWatch(page)


def assert_session_unreadable(page: Any, cookie_name: str = "eid_officer") -> None:
    """The officer's session cookie exists, HttpOnly and SameSite=Strict, and neither
    `document.cookie` nor Web Storage shows it to the page's scripts."""
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies[cookie_name]
    assert session["httpOnly"] is True and session["sameSite"] == "Strict"
    visible = page.evaluate("document.cookie")
    assert cookie_name not in visible and session["value"] not in visible
    stored = page.evaluate(
        "JSON.stringify([Object.entries(sessionStorage), Object.entries(localStorage)])"
    )
    assert session["value"] not in stored and stored == "[[],[]]", stored


def add_virtual_authenticator(page: Any, *, user_verified: bool = True) -> str:
    """Chromium's virtual authenticator (CDP `WebAuthn`) in this page's browser: a platform
    authenticator with resident keys and user verification, answering at once. Returns its id
    (for `WebAuthn.getCredentials` and friends through `page.virtual_authenticator_cdp`).

    WebAuthn refuses an IP address as relying party: the page must be on `http://localhost:...`
    (the `live_localhost` fixture serves the live server there, with `EID_ISSUER` to match)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": user_verified,
                "automaticPresenceSimulation": True,
            }
        },
    )
    page.virtual_authenticator_cdp = cdp  # kept alive with the page: the authenticator lives in it
    return str(added["authenticatorId"])


def virtual_credentials(page: Any, authenticator_id: str) -> list[dict[str, Any]]:
    """The passkeys the virtual authenticator holds (id, rpId, userHandle, signCount...)."""
    cdp = page.virtual_authenticator_cdp
    found = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})
    return list(found["credentials"])
