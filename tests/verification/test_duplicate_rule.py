"""The 1:N decision: the face search shortlists, fingerprints confirm."""

from __future__ import annotations

import pytest

from eid.biometrics.thresholds import (
    FACE_ALONE_DUPLICATE_THRESHOLD,
    FACE_IMPOSTOR_TAIL,
    face_alone_duplicate_threshold,
)
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


def test_face_alone_cut_grows_with_the_gallery() -> None:
    sizes = [1, 4, 5, 212, 213, 9_500, 10_000, 232_000, 250_000, 1_000_000, 50_000_000]
    cuts = [face_alone_duplicate_threshold(n) for n in sizes]
    assert cuts == [0.363, 0.363, 0.45, 0.45, 0.50, 0.50, 0.55, 0.55, 0.60, 0.60, 0.60]
    assert cuts == sorted(cuts) and cuts[-1] == FACE_ALONE_DUPLICATE_THRESHOLD
    # Within its range each cut keeps the expected wrong holds per search at 1% or less.
    for n, cut in zip(sizes[:-1], cuts[:-1], strict=True):
        assert n * dict(FACE_IMPOSTOR_TAIL)[cut] <= 0.01


def test_a_small_gallery_holds_a_face_that_a_national_one_clears() -> None:
    """0.52 with fingers refuting: held among 1,000 identities, cleared among 1M."""
    for size, held in ((1_000, True), (1_000_000, False)):
        reason = duplicate_reason(
            face_score=0.52,
            face_threshold=FACE_1TO1,
            fingers_compared=[2, 7],
            fingers_matched=[],
            face_alone_threshold=face_alone_duplicate_threshold(size),
        )
        assert (reason is not None) is held
