"""The 1:N decision: the face search shortlists, fingerprints confirm."""

from __future__ import annotations

import pytest

from eid.biometrics.thresholds import FACE_ALONE_DUPLICATE_THRESHOLD
from eid.verification.service import duplicate_reason

FACE_1TO1 = 0.363


@pytest.mark.parametrize(
    ("face", "compared", "matched", "held"),
    [
        (0.95, [2, 7], [2], "fingerprints match another identity and so does the face"),
        (0.10, [2, 7], [7], "fingerprints match another identity"),  # face missed it, finger not
        (0.44, [2, 7], [], None),  # a stranger above the 1:1 cut: fingerprints refute it
        (FACE_ALONE_DUPLICATE_THRESHOLD, [2, 7], [], "strongly, but the fingerprints do not"),
        (0.44, [], [], "no fingerprint can confirm or refute it"),
        (0.30, [], [], None),
        (None, [], [], None),  # the candidate has no face on file
    ],
)
def test_duplicate_reason(
    face: float | None, compared: list[int], matched: list[int], held: str | None
) -> None:
    reason = duplicate_reason(
        face_score=face,
        face_threshold=FACE_1TO1 if face is not None else None,
        fingers_compared=compared,
        fingers_matched=matched,
    )
    if held is None:
        assert reason is None
    else:
        assert reason is not None and held in reason
