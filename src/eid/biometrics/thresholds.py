"""Decision thresholds, each tied to where it came from.

Face (SFace cosine similarity). The OpenCV Zoo model card publishes 0.363 as SFace's operating
threshold (chosen on LFW, where it is the accuracy-optimal cut; the card gives no FMR). We adopt it
for a target FMR of 1e-3, the usual figure for supervised 1:1 verification. On the shared set
(52 photos, 14 people, 1,234 impostor pairs) 3 impostor pairs reach 0.363 (FMR 2.4e-3, with a 95%
interval of roughly 0.5e-3..7e-3) and no genuine pair falls below it: consistent with, but far too
small to confirm, 1e-3. We have no data to place thresholds for stricter targets (1e-4 and below),
so the engine refuses those targets unless the caller states a threshold measured on a large
enough set. Nothing here was fitted to the shared set.

Fingerprint (bozorth3 score, an integer with no upper bound). NIST's NBIS guide states that a score
above 40 generally indicates a true match; we use 40. On the shared prints (8,196 impostor pairs)
3 impostor pairs reach 40 (the highest scores 41), and 5.8% of the 450 genuine pairs fall below
it; again a check that the published value is sane here, not a fit.

Face alone as a duplicate (1:N, where fingerprints were compared and none matched): a cut that
grows with the gallery. A search holds an applicant wrongly when any of N strangers scores above
the cut, which happens with probability about N x FMR(cut); we take the lowest cut that keeps that
at 1% or less, so a small gallery catches every duplicate it safely can and a national one stays
specific. FMR(cut) on the right-hand tail, per pair:
    0.363  2.4e-3   shared set, real different people (3 of 1,234 pairs)
    0.45   4.7e-5   \
    0.50   1.05e-6   } the 1:N benchmark's fillers (drawn to score like real strangers: median
    0.55   4.3e-8    } 0.149 / p99 0.335 vs real 0.140 / 0.316) against 364 real probes,
    0.60   8.2e-9   /  3.64e8 pairs; the worst fold; none above 0.60 (95% bound: 3 / 3.64e8)
so 0.363 up to 4 identities, 0.45 to 212, 0.50 to 9,500, 0.55 to 232,000, 0.60 above (to 1.2M
within budget; we have no data for a higher cut). Same-person scores on the shared set: lowest
0.50, median 0.78 (92 pairs). Synthetic fillers say little about the real far tail: these cuts hold
an application for a supervisor, never clear one.
"""

from __future__ import annotations

SFACE_PUBLISHED_COSINE_THRESHOLD = 0.363
FACE_THRESHOLDS_BY_TARGET_FMR: dict[float, float] = {1e-3: SFACE_PUBLISHED_COSINE_THRESHOLD}

BOZORTH3_NIST_THRESHOLD = 40.0

FACE_ALONE_FALSE_HOLD_BUDGET = 0.01  # expected wrong holds per search from face alone
FACE_IMPOSTOR_TAIL: tuple[tuple[float, float], ...] = (  # (cut, FMR per pair), see above
    (SFACE_PUBLISHED_COSINE_THRESHOLD, 2.4e-3),
    (0.45, 4.7e-5),
    (0.50, 1.05e-6),
    (0.55, 4.3e-8),
    (0.60, 8.2e-9),
)
FACE_ALONE_DUPLICATE_THRESHOLD = FACE_IMPOSTOR_TAIL[-1][0]  # the national-scale cut


def face_alone_duplicate_threshold(gallery_size: int) -> float:
    """The lowest face cut whose expected wrong holds over `gallery_size` strangers stay within
    the budget; the highest measured cut beyond that."""
    for cut, fmr in FACE_IMPOSTOR_TAIL:
        if max(1, gallery_size) * fmr <= FACE_ALONE_FALSE_HOLD_BUDGET:
            return cut
    return FACE_ALONE_DUPLICATE_THRESHOLD


def face_threshold_for(target_fmr: float) -> float:
    for target, threshold in FACE_THRESHOLDS_BY_TARGET_FMR.items():
        if abs(target - target_fmr) <= 1e-12:
            return threshold
    known = ", ".join(f"{target:g}" for target in FACE_THRESHOLDS_BY_TARGET_FMR)
    raise ValueError(
        f"No face threshold is documented for a target FMR of {target_fmr:g} (known: {known}); "
        "pass face_threshold= measured on a large enough impostor set."
    )
