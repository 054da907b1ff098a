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

Face alone as a duplicate (1:N, fingerprints compared and not matching): 0.60. On the shared set
the highest different-person score is 0.44 (1,234 pairs) and the lowest same-person score 0.50
(92 pairs, median 0.78). In the 1:N benchmark's galleries (1M fillers drawn to score like real
strangers, 364 real probes: 3.6e8 pairs) no filler reaches 0.60 (highest 0.58; 14 above 0.55).
Synthetic fillers say little about the real far tail, so this is a conservative cut for holding an
application, never for clearing one: below it the fingerprints decide.
"""

from __future__ import annotations

SFACE_PUBLISHED_COSINE_THRESHOLD = 0.363
FACE_THRESHOLDS_BY_TARGET_FMR: dict[float, float] = {1e-3: SFACE_PUBLISHED_COSINE_THRESHOLD}

BOZORTH3_NIST_THRESHOLD = 40.0

FACE_ALONE_DUPLICATE_THRESHOLD = 0.60


def face_threshold_for(target_fmr: float) -> float:
    for target, threshold in FACE_THRESHOLDS_BY_TARGET_FMR.items():
        if abs(target - target_fmr) <= 1e-12:
            return threshold
    known = ", ".join(f"{target:g}" for target in FACE_THRESHOLDS_BY_TARGET_FMR)
    raise ValueError(
        f"No face threshold is documented for a target FMR of {target_fmr:g} (known: {known}); "
        "pass face_threshold= measured on a large enough impostor set."
    )
