"""`eid bio-eval`: failure to enrol, score distributions, FNMR at fixed FMR, EER and a DET plot.

A labelled folder holds images and `labels.csv`: faces with columns file,identity; fingerprints
with file,finger and optionally position (ISO code; 2, right index, when absent: bozorth3 does not
use it). Every unordered pair of successfully enrolled samples is compared once: same label =
genuine, different = impostor.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from eid.biometrics.engine import BiometricEngine
from eid.biometrics.error_rates import (
    det_points,
    equal_error_rate,
    false_match_rate,
    false_non_match_rate,
    summary,
    threshold_at_fmr,
)
from eid.core.errors import BiometricError

TARGET_FMRS = (1e-2, 1e-3)
DEFAULT_FINGER_POSITION = 2


def _labels(folder: Path, label_column: str) -> list[dict[str, str]]:
    path = folder / "labels.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found")
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    missing = [c for c in ("file", label_column) if rows and c not in rows[0]]
    if missing:
        raise ValueError(f"{path} lacks column(s): {', '.join(missing)}")
    return rows


def _pair_scores(
    samples: list[tuple[str, bytes]], compare: Callable[[bytes, bytes], float]
) -> tuple[np.ndarray[Any, np.dtype[np.float64]], np.ndarray[Any, np.dtype[np.float64]]]:
    genuine: list[float] = []
    impostor: list[float] = []
    for (label_a, a), (label_b, b) in itertools.combinations(samples, 2):
        (genuine if label_a == label_b else impostor).append(compare(a, b))
    return np.array(genuine, np.float64), np.array(impostor, np.float64)


def _report(
    attempted: int,
    failures: dict[str, int],
    quality_refusals: int,
    genuine: np.ndarray[Any, np.dtype[np.float64]],
    impostor: np.ndarray[Any, np.dtype[np.float64]],
    threshold: float,
) -> dict[str, Any]:
    failed = sum(failures.values())
    result: dict[str, Any] = {
        "samples": attempted,
        "enrolled": attempted - failed,
        "fte": failed / attempted if attempted else math.nan,
        "failures": failures,
        "quality_refusals": quality_refusals,
        "genuine_pairs": int(genuine.size),
        "impostor_pairs": int(impostor.size),
        "eer": equal_error_rate(genuine, impostor),
        "operating_threshold": threshold,
        "fmr_at_operating_threshold": false_match_rate(impostor, threshold),
        "fnmr_at_operating_threshold": false_non_match_rate(genuine, threshold),
        "genuine_scores": summary(genuine),
        "impostor_scores": summary(impostor),
    }
    for target in TARGET_FMRS:
        cut = threshold_at_fmr(impostor, target)
        result[f"fnmr_at_fmr_{target:.0e}".replace("e-0", "e-")] = false_non_match_rate(
            genuine, cut
        )
        result[f"threshold_at_fmr_{target:.0e}".replace("e-0", "e-")] = cut
        # Fewer impostor pairs than 1/target: the figure is an extrapolation of zero errors.
        result[f"fmr_{target:.0e}_resolvable".replace("e-0", "e-")] = impostor.size * target >= 1
    return result


def evaluate_faces(folder: Path, engine: BiometricEngine) -> tuple[dict[str, Any], Any]:
    rows = _labels(folder, "identity")
    samples: list[tuple[str, bytes]] = []
    failures: dict[str, int] = {}
    quality_refusals = 0
    for row in rows:
        image = (folder / row["file"]).read_bytes()
        try:
            if not engine.portrait_quality(image).acceptable:
                quality_refusals += 1
            samples.append((row["identity"], engine.face_template(image)))
        except BiometricError as exc:
            failures[exc.code] = failures.get(exc.code, 0) + 1
    genuine, impostor = _pair_scores(samples, lambda a, b: engine.compare_faces(a, b).score)
    report = _report(
        len(rows), failures, quality_refusals, genuine, impostor, engine.face_threshold
    )
    return report, (genuine, impostor)


def evaluate_fingerprints(folder: Path, engine: BiometricEngine) -> tuple[dict[str, Any], Any]:
    rows = _labels(folder, "finger")
    samples: list[tuple[str, bytes]] = []
    failures: dict[str, int] = {}
    quality_refusals = 0
    for row in rows:
        image = (folder / row["file"]).read_bytes()
        position = int(row.get("position") or DEFAULT_FINGER_POSITION)
        try:
            quality, template = engine.fingerprint_capture(image, position)
        except BiometricError as exc:
            failures[exc.code] = failures.get(exc.code, 0) + 1
            continue
        quality_refusals += 0 if quality.acceptable else 1
        samples.append((row["finger"], template))
    genuine, impostor = _pair_scores(samples, lambda a, b: engine.compare_fingerprints(a, b).score)
    report = _report(
        len(rows), failures, quality_refusals, genuine, impostor, engine.fingerprint_threshold
    )
    return report, (genuine, impostor)


def _plot(curves: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 5))
    for name, (genuine, impostor) in curves.items():
        if genuine.size == 0 or impostor.size == 0:
            continue
        _, fmr, fnmr = det_points(genuine, impostor)
        # Zero rates cannot sit on log axes; show them at the resolution of the set instead.
        axes.plot(
            np.maximum(fmr, 0.5 / impostor.size),
            np.maximum(fnmr, 0.5 / genuine.size),
            label=f"{name} ({genuine.size} genuine, {impostor.size} impostor pairs)",
            drawstyle="steps",
        )
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("false match rate")
    axes.set_ylabel("false non-match rate")
    axes.set_title("DET (a zero rate is drawn at half a pair)")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def evaluate(
    faces_dir: Path | None,
    fingerprints_dir: Path | None,
    engine: BiometricEngine | None = None,
    plot: Path | None = None,
) -> dict[str, Any]:
    engine = engine or BiometricEngine()
    result: dict[str, Any] = {}
    curves: dict[str, Any] = {}
    if faces_dir is not None:
        result["face"], curves["face"] = evaluate_faces(faces_dir, engine)
    if fingerprints_dir is not None:
        result["fingerprint"], curves["fingerprint"] = evaluate_fingerprints(
            fingerprints_dir, engine
        )
    if plot is not None and curves:
        _plot(curves, plot)
    return result


def _rate(value: Any) -> str:
    return "n/a" if isinstance(value, float) and math.isnan(value) else f"{100 * value:.2f}%"


def format_table(result: dict[str, Any]) -> str:
    names = list(result)
    rows: list[tuple[str, list[str]]] = [
        ("samples (enrolled)", [f"{r['samples']} ({r['enrolled']})" for r in result.values()]),
        ("failure to enrol", [_rate(r["fte"]) for r in result.values()]),
        ("quality refusals", [str(r["quality_refusals"]) for r in result.values()]),
        ("genuine pairs", [str(r["genuine_pairs"]) for r in result.values()]),
        ("impostor pairs", [str(r["impostor_pairs"]) for r in result.values()]),
        ("EER", [_rate(r["eer"]) for r in result.values()]),
    ]
    for key, label in (("1e-2", "FNMR @ FMR 1e-2"), ("1e-3", "FNMR @ FMR 1e-3")):
        cells = []
        for r in result.values():
            cell = _rate(r[f"fnmr_at_fmr_{key}"])
            cells.append(cell if r[f"fmr_{key}_resolvable"] else cell + " (too few pairs)")
        rows.append((label, cells))
    rows += [
        ("operating threshold", [f"{r['operating_threshold']:g}" for r in result.values()]),
        ("FMR @ operating", [_rate(r["fmr_at_operating_threshold"]) for r in result.values()]),
        ("FNMR @ operating", [_rate(r["fnmr_at_operating_threshold"]) for r in result.values()]),
        ("genuine min/median", [_spread(r["genuine_scores"]) for r in result.values()]),
        (
            "impostor median/max",
            [_spread(r["impostor_scores"], low="median", high="max") for r in result.values()],
        ),
    ]
    width = max(len(label) for label, _ in rows) + 2
    column = max([len(name) for name in names] + [len(c) for _, cells in rows for c in cells]) + 2
    lines = ["".ljust(width) + "".join(name.ljust(column) for name in names)]
    lines += [label.ljust(width) + "".join(c.ljust(column) for c in cells) for label, cells in rows]
    return "\n".join(line.rstrip() for line in lines)


def _spread(scores: dict[str, float], low: str = "min", high: str = "median") -> str:
    if not scores.get("count"):
        return "n/a"
    return f"{scores[low]:.3g} / {scores[high]:.3g}"


def main_bio_eval(
    faces: Path | None, fingerprints: Path | None, json_out: Path | None, plot: Path | None
) -> int:
    """Print the evaluation table; 0 on success, 2 when there is nothing to evaluate."""
    if faces is None and fingerprints is None:
        print("Give --faces DIR and/or --fingerprints DIR.", file=sys.stderr)
        return 2
    try:
        result = evaluate(faces, fingerprints, plot=plot)
    except (FileNotFoundError, ValueError) as exc:
        print(f"bio-eval: {exc}", file=sys.stderr)
        return 2
    print(format_table(result))
    if json_out is not None:
        json_out.write_text(json.dumps(_finite(result), indent=2) + "\n")
    if plot is not None:
        print(f"DET curve written to {plot}")
    return 0


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity: an undefined rate or an unbounded threshold becomes null."""
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.bool_ | np.integer):
        return value.item()
    return value
