"""Security headers on every response, and the one way a page response is built.

The Content-Security-Policy allows nothing inline: every script and style is a static file of
this origin (`/static/...`), so an injected `<script>` or `style=` would not run even if some
text escaped the templates' autoescape. A page that needs more says so through `csp()`.
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from eid.core.settings import get_settings
from eid.web.templating import LANGUAGE_COOKIE, chosen_language

CSP_HEADER = "Content-Security-Policy"


def csp(*, img_src: Iterable[str] = (), form_action: Iterable[str] = ()) -> str:
    """The policy of every response; `img_src` and `form_action` add sources to those two."""
    parts = ["default-src 'self'"]
    images = list(img_src)
    if images:
        parts.append("img-src 'self' " + " ".join(images))
    parts += [
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action " + " ".join(["'self'", *form_action]),
    ]
    return "; ".join(parts)


DEFAULT_CSP = csp()
# One year, the preload lists' minimum; subdomains too, as every eid host is https-only.
HSTS = "max-age=31536000; includeSubDomains"


class SecurityHeaders:
    """Pure ASGI (no BaseHTTPMiddleware), so streamed bodies and background work are untouched.
    A response that set its own policy (a page needing `blob:` images, or a form posting on to
    a relying party) keeps it; every other response gets the default."""

    def __init__(
        self, app: ASGIApp, *, production: bool, without_policy: tuple[str, ...] = ()
    ) -> None:
        self.app = app
        self.production = production
        self.without_policy = frozenset(without_policy)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        policy = scope["path"] not in self.without_policy

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[tuple[bytes, bytes]] = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                if not policy:
                    present.add(b"content-security-policy")
                wanted = [
                    (b"content-security-policy", DEFAULT_CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    # Older browsers that ignore frame-ancestors.
                    (b"x-frame-options", b"DENY"),
                ]
                if self.production:
                    wanted.append((b"strict-transport-security", HSTS.encode()))
                headers += [(name, value) for name, value in wanted if name not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install_security_headers(app: FastAPI) -> None:
    production = get_settings().env == "production"
    # FastAPI's /docs and /redoc load their scripts from a CDN and inline: a developer's tools,
    # not eid's pages, so in development they go without the policy (every other header stays).
    tools = (app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url)
    without_policy = () if production else tuple(path for path in tools if path)
    app.add_middleware(SecurityHeaders, production=production, without_policy=without_policy)


def page_response(
    request: Request, html: str, *, status_code: int = 200, policy: str | None = None
) -> HTMLResponse:
    """A page: never cached (pages may show who is signed in), its own policy if it needs one,
    and the language picked on it (`?lang=`) remembered for the next pages."""
    response = HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-store"})
    if policy is not None:
        response.headers[CSP_HEADER] = policy
    picked = request.query_params.get("lang")
    if picked is not None and picked == chosen_language(request):
        response.set_cookie(
            LANGUAGE_COOKIE,
            picked,
            max_age=365 * 24 * 3600,
            httponly=True,
            samesite="lax",
            secure=get_settings().env == "production",
        )
    return response
