"""The duplicate gallery: issued identities' templates in PostgreSQL, mirrored into the
matcher's in-memory 1:N index. One `Gallery` per process, built with its matcher at start."""

from __future__ import annotations

import threading
import uuid
from typing import Protocol

from sqlalchemy.orm import Session

from eid.biometrics.ports import BiometricMatcher
from eid.core.crypto import unseal
from eid.verification import repository

GALLERY_LOCK = 0x6549_4447  # "eIDG": the duplicate gallery's advisory lock


# The one definition of each gallery blob's additional data (sealed and unsealed with these).
def face_aad(application_id: uuid.UUID) -> bytes:
    return f"gallery:face:{application_id}".encode()


def fingers_aad(application_id: uuid.UUID) -> bytes:
    return f"gallery:fingers:{application_id}".encode()


class Gallery:
    """The matcher's index and how far into the gallery table it has read."""

    def __init__(self, matcher: BiometricMatcher) -> None:
        self.matcher = matcher
        self._lock = threading.Lock()
        self._indexed_upto = 0

    def sync(self, session: Session, batch: int = 10_000) -> None:
        """Bring the in-memory 1:N index up to date with the gallery table, a bounded batch of
        rows at a time (a national gallery does not fit in one result set)."""
        with self._lock:
            while True:
                rows = repository.face_templates_after(session, self._indexed_upto, batch)
                if not rows:
                    return
                keys: list[str] = []
                faces: list[bytes] = []
                for _, application_id, face, active in rows:
                    # A template already withdrawn (refused, cancelled) never enters; one
                    # withdrawn later stays until restart and is dropped from results by
                    # `active_templates`.
                    if face is not None and active:
                        keys.append(str(application_id))
                        faces.append(unseal(face, aad=face_aad(application_id)))
                self.matcher.index_faces(keys, faces)
                self._indexed_upto = rows[-1][0]

    def warm(self, session: Session) -> int:
        """Load the 1:N index before the first job needs it (worker start-up); returns its size.

        Safe without the gallery lock: rows are inserted under that lock and commit in id
        order, so any snapshot holds a prefix of the ids, which is all the cursor needs."""
        self.sync(session)
        self.matcher.prepare_search()  # a large gallery's codebooks, learnt before the first check
        return self.matcher.indexed()


class HasGallery(Protocol):
    """What the verification job is handed (`eid.wiring.Ports`)."""

    @property
    def gallery(self) -> Gallery: ...
