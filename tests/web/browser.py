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
        reported = self.page.evaluate("window.__cspViolations || []")
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
