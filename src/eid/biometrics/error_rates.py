"""Error rates from genuine and impostor score sets (higher score = more alike)."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

Scores = npt.NDArray[np.float64]


def false_match_rate(impostor: Scores, threshold: float) -> float:
    return float(np.mean(impostor >= threshold)) if impostor.size else math.nan


def false_non_match_rate(genuine: Scores, threshold: float) -> float:
    return float(np.mean(genuine < threshold)) if genuine.size else math.nan


def threshold_at_fmr(impostor: Scores, target: float) -> float:
    """The lowest threshold whose measured FMR does not exceed `target`."""
    if impostor.size == 0:
        return math.nan
    ordered = np.sort(impostor)[::-1]
    allowed = math.floor(target * impostor.size)
    if allowed >= impostor.size:
        return -math.inf
    # Just above the first impostor score we are not allowed to accept.
    return float(np.nextafter(ordered[allowed], math.inf))


def det_points(genuine: Scores, impostor: Scores) -> tuple[Scores, Scores, Scores]:
    """(thresholds, FMR, FNMR) at every distinct score."""
    thresholds = np.unique(np.concatenate([genuine, impostor]))
    impostor_sorted = np.sort(impostor)
    genuine_sorted = np.sort(genuine)
    fmr = 1.0 - np.searchsorted(impostor_sorted, thresholds, side="left") / max(1, impostor.size)
    fnmr = np.searchsorted(genuine_sorted, thresholds, side="left") / max(1, genuine.size)
    return thresholds, fmr.astype(np.float64), fnmr.astype(np.float64)


def equal_error_rate(genuine: Scores, impostor: Scores) -> float:
    if genuine.size == 0 or impostor.size == 0:
        return math.nan
    _, fmr, fnmr = det_points(genuine, impostor)
    crossing = int(np.argmin(np.abs(fmr - fnmr)))
    return float((fmr[crossing] + fnmr[crossing]) / 2)


def summary(scores: Scores) -> dict[str, float]:
    if scores.size == 0:
        return {"count": 0.0}
    p5, p50, p95 = np.percentile(scores, [5, 50, 95])
    return {
        "count": float(scores.size),
        "min": float(scores.min()),
        "p5": float(p5),
        "median": float(p50),
        "p95": float(p95),
        "max": float(scores.max()),
        "mean": float(scores.mean()),
    }
