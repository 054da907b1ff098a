"""What identity needs from outside: a 1:1 face check for binding a new device."""

from __future__ import annotations

from typing import Protocol


class FaceMatcher(Protocol):
    def matches(self, probe_image: bytes, reference_image: bytes) -> bool: ...


class HasFaceMatcher(Protocol):
    """What the rebind request is handed (`eid.wiring.Ports`)."""

    @property
    def face_matcher(self) -> FaceMatcher: ...
