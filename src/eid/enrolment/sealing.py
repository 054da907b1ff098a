"""The enrolment's sealed captures, for `eid keys reseal` (see eid.core.sealed_blobs)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eid.core.sealed_blobs import register
from eid.enrolment.models import Capture
from eid.enrolment.service import capture_aad


def _aad(part: str) -> Callable[[Any, str], bytes]:
    return lambda row, _: capture_aad(row.application_id, row.kind, row.position, part)


register(Capture.__table__, "image", _aad("image"))  # type: ignore[arg-type]
register(Capture.__table__, "template", _aad("template"))  # type: ignore[arg-type]
