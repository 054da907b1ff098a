"""Scripts, styles and icons of the pages, served by the app itself (no CDN)."""

from __future__ import annotations

import os

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope


class StaticAssets(StaticFiles):
    """Pages link every asset as `/static/<path>?v=<digest of its bytes>` (`static_url`), so a
    cached copy can live for a year: a changed file gets a new URL."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response
