"""The accessibility harness of the holder app's browser tests: axe-core from the PyPI package
`axe-playwright-python` (its bundled `axe.min.js`, no CDN), the app's pages found in the app's
own routes, and the phone the tests look through.

axe is put into the page through the DevTools protocol (`page.evaluate`), which the page's
Content-Security-Policy does not govern: `add_script_tag` would insert an inline `<script>`, which
the policy refuses (see `test_axe_cannot_come_in_as_an_inline_script`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from starlette.responses import HTMLResponse

from eid.core.limits import api_routes

PHONE = {"width": 390, "height": 844}
SHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
BLOCKING = ("serious", "critical")
# Values for the path parameters of pages, so that every page can be visited.
PATH_EXAMPLES = {"lang": "en", "token": "A" * 44}


@cache
def axe_source() -> str:
    import axe_playwright_python

    return (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text("utf-8")


@dataclass(frozen=True)
class Violation:
    rule: str
    impact: str
    help: str
    targets: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.impact} {self.rule}: {self.help} at {', '.join(self.targets[:5])}"


def axe_scan(page: Any, *, impacts: tuple[str, ...] = BLOCKING) -> list[Violation]:
    """axe-core's violations on the page as it is now (WCAG 2.x A/AA and best practices), those
    of the given impacts."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source())
    result = page.evaluate(
        "async () => { const r = await axe.run(document, {resultTypes: ['violations']});"
        " return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " targets: v.nodes.map(n => n.target.join(' '))})); }"
    )
    return [
        Violation(v["id"], v["impact"] or "", v["help"], tuple(v["targets"]))
        for v in result
        if (v["impact"] or "") in impacts
    ]


def app_pages(
    app: FastAPI, prefix: str = "/app", examples: dict[str, str] | None = None
) -> list[str]:
    """Every GET route under `prefix` that renders HTML, its path parameters filled in from
    `PATH_EXAMPLES` updated with `examples` (a parameter without an example fails, loudly)."""
    values = {**PATH_EXAMPLES, **(examples or {})}
    found = []
    for route, template, methods in api_routes(app):
        if "GET" not in methods:
            continue
        if not (template == prefix or template.startswith(prefix + "/")):
            continue
        response_class = getattr(route.response_class, "value", route.response_class)
        if not (isinstance(response_class, type) and issubclass(response_class, HTMLResponse)):
            continue
        params = re.findall(r"{(\w+)(?::\w+)?}", template)
        missing = [p for p in params if p not in values]
        assert not missing, f"no example for {missing} of {template}: add it to PATH_EXAMPLES"
        path = template
        for name in params:
            path = re.sub(r"\{" + name + r"(?::\w+)?\}", values[name], path)
        found.append(path)
    return sorted(set(found))


def screenshot(page: Any, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
