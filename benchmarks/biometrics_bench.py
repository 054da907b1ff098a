"""Biometrics benchmark: enrolment time and 1:N face search latency / mate recall.

    .venv/bin/python benchmarks/biometrics_bench.py [--quick] [--data DIR]

Gallery = fillers + the real SFace embeddings of the shared faces. Fillers are drawn from a
Gaussian fitted to those real embeddings (mean + Ledoit-Wolf-shrunk covariance, then L2-normalised),
so they sit where real faces sit instead of being uniform noise on the sphere. The model for a
probe's gallery is fitted on the *other* half of the people (two folds), never on the probe's own
photos; the output compares filler-vs-probe scores with real different-person scores. Probes are real:
each shared photo and six altered copies of it (mirror, darker, brighter, blurred, downscaled,
JPEG q40); a probe's mates are the *other* photos of the same person, and the probe's own source
photo is excluded from its results. Mate recall@k = share of (probe, mate) pairs whose mate is in
the top k. Baseline = plain float32 NumPy scan (matrix-vector product + argpartition) over the same
matrix; index = FaceIndex(strategy="pq").
"""

from __future__ import annotations

import argparse
import csv
import gc
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from eid.biometrics import BiometricEngine, FaceIndex
from eid.biometrics.face import parse_face_template
from eid.biometrics.index import top_k
from eid.biometrics.thresholds import SFACE_PUBLISHED_COSINE_THRESHOLD as FACE_1TO1
from eid.biometrics.thresholds import face_alone_duplicate_threshold
from eid.core.errors import BiometricError

F32 = npt.NDArray[np.float32]
DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
K = 10


ALTERATIONS = ["original", "mirror", "darker", "brighter", "blurred", "downscaled", "jpeg-q40"]


def altered_copies(image: npt.NDArray[np.uint8]) -> list[npt.NDArray[np.uint8]]:
    small = cv2.resize(image, None, fx=0.6, fy=0.6, interpolation=cv2.INTER_AREA)
    _, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 40])
    return [
        cv2.flip(image, 1),
        cv2.convertScaleAbs(image, alpha=0.7),
        cv2.convertScaleAbs(image, alpha=1.3),
        cv2.GaussianBlur(image, (0, 0), 1.5),
        small,
        cv2.imdecode(jpeg, cv2.IMREAD_COLOR),
    ]


def encode(image: npt.NDArray[np.uint8]) -> bytes:
    ok, png = cv2.imencode(".png", image)
    assert ok
    return png.tobytes()


def real_embeddings(engine: BiometricEngine, faces: Path) -> tuple[F32, list[str], F32, list[int]]:
    """(gallery embeddings, their identities, probe embeddings, probe -> source photo row).

    A photo without a usable face is left out (counted); so is an altered copy of one."""
    with (faces / "labels.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    gallery, identities, probes, sources = [], [], [], []
    skipped = {"photos": 0, "altered copies": 0}
    for row in rows:
        data = (faces / row["file"]).read_bytes()
        try:
            template = parse_face_template(engine.face_template(data))
        except BiometricError:
            skipped["photos"] += 1
            continue
        row_number = len(gallery)
        gallery.append(template)
        identities.append(row["identity"])
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        for variant in [image, *altered_copies(image)]:
            try:
                probes.append(parse_face_template(engine.face_template(encode(variant))))
            except BiometricError:
                skipped["altered copies"] += 1
                continue
            sources.append(row_number)
    if any(skipped.values()):
        print("left out, no usable face: " + ", ".join(f"{v} {k}" for k, v in skipped.items()))
    return np.stack(gallery), identities, np.stack(probes), sources


def ledoit_wolf(samples: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Shrunk covariance (Ledoit & Wolf 2004): 52 samples cannot fill a 128-d covariance alone."""
    n, d = samples.shape
    centred = samples - samples.mean(axis=0)
    sample_cov = centred.T @ centred / n
    mu = np.trace(sample_cov) / d
    target = mu * np.eye(d)
    delta = np.sum((sample_cov - target) ** 2) / d
    beta = sum(np.sum((np.outer(x, x) - sample_cov) ** 2) for x in centred) / (n * n * d)
    shrinkage = min(1.0, beta / delta)
    return np.asarray(shrinkage * target + (1 - shrinkage) * sample_cov)


def fillers(real: F32, count: int, seed: int = 7) -> F32:
    rng = np.random.default_rng(seed)
    mean = real.astype(np.float64).mean(axis=0)
    chol = np.linalg.cholesky(ledoit_wolf(real.astype(np.float64)))
    out = np.empty((count, real.shape[1]), np.float32)
    for start in range(0, count, 100_000):
        stop = min(count, start + 100_000)
        block = mean + rng.standard_normal((stop - start, real.shape[1])) @ chol.T
        out[start:stop] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def percentile_ms(times: list[float], q: float) -> float:
    return float(np.percentile(np.array(times) * 1e3, q))


def first_files(folder: Path, count: int, column: str) -> list[Path]:
    """The first `count` files of one identity or finger in a labels.csv folder."""
    with (folder / "labels.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    first = rows[0][column]
    return [folder / row["file"] for row in rows if row[column] == first][:count]


def enrolment_time(engine: BiometricEngine, data: Path, repeats: int = 5) -> tuple[float, float]:
    """(first call incl. model loading, median of later calls), seconds, portrait + 2 fingers."""
    portrait = first_files(data / "faces", 1, "identity")[0].read_bytes()
    fingers = [p.read_bytes() for p in first_files(data / "fingerprints", 2, "finger")]

    def enrol() -> float:
        start = time.perf_counter()
        engine.portrait_quality(portrait)
        engine.face_template(portrait)
        for position, finger in zip((2, 7), fingers, strict=True):
            engine.fingerprint_capture(finger, position)
        return time.perf_counter() - start

    first = enrol()
    return first, statistics.median(enrol() for _ in range(repeats))


def identity_folds(identities: list[str]) -> list[set[str]]:
    """Two halves of the people. Fillers for probes of one half are fitted on the other half:
    fitted on the probes' own photos they would sit unrealistically close to those probes."""
    people = sorted(set(identities))
    return [set(people[0::2]), set(people[1::2])]


def run_fold(
    size: int, fold: set[str], real: F32, identities: list[str], probes: F32, sources: list[int]
) -> dict[str, Any]:
    model_rows = [i for i, who in enumerate(identities) if who not in fold]
    filler = fillers(real[model_rows], size - real.shape[0])
    gallery = np.ascontiguousarray(np.concatenate([filler, real]))
    del filler
    offset = size - real.shape[0]  # gallery row of real embedding i is offset + i
    keys = [f"f{i}" for i in range(offset)] + [f"r{i}" for i in range(real.shape[0])]
    index = FaceIndex(strategy="pq")
    index.add_vectors(keys, gallery)
    # Start-up, not a query: the first search learns the PQ codebooks and encodes the gallery
    # (about 3 s at 1M), as the server does once when it loads the gallery.
    index.search_vector(gallery[0], K)

    base_times: list[float] = []
    index_times: list[float] = []
    mates_total = mates_base = mates_index = mates_both = 0
    filler_scores: list[float] = []
    exact_misses: list[str] = []
    strangers_held = {"face_only": 0, "face_alone": 0}
    face_alone = face_alone_duplicate_threshold(size)
    sample = gallery[: offset : max(1, offset // 5_000)]
    for number, (probe, source) in enumerate(zip(probes, sources, strict=True)):
        if identities[source] not in fold:
            continue
        mates = {
            f"r{i}" for i, who in enumerate(identities) if who == identities[source] and i != source
        }
        own = f"r{source}"  # the probe's own photo is in the gallery: leave it out of the ranks
        start = time.perf_counter()
        scores = gallery @ probe
        best = top_k(scores, K + 1)
        base_times.append(time.perf_counter() - start)
        base_top = [keys[int(row)] for row in best if keys[int(row)] != own][:K]
        start = time.perf_counter()
        found = index.search_vector(probe, K + 1)
        index_times.append(time.perf_counter() - start)
        index_top = [key for key, _ in found if key != own][:K]
        mates_total += len(mates)
        mates_base += len(mates & set(base_top))
        mates_index += len(mates & set(index_top))
        mates_both += len(mates & set(index_top) & set(base_top))
        # Would a stranger in the shortlist hold this applicant? Under a face-only rule (1:1
        # threshold), and under verification's rule when fingerprints refute (the face-alone cut
        # for this gallery size).
        strangers = [score for key, score in found[: K + 1] if key != own and key not in mates]
        strangers_held["face_only"] += any(s >= FACE_1TO1 for s in strangers)
        strangers_held["face_alone"] += any(s >= face_alone for s in strangers)
        exact_misses += [ALTERATIONS[number % len(ALTERATIONS)]] * len(mates - set(base_top))
        filler_scores.extend((sample @ probe).tolist())
    del index, gallery
    gc.collect()
    return {
        "base_times": base_times,
        "index_times": index_times,
        "mates_total": mates_total,
        "mates_base": mates_base,
        "mates_index": mates_index,
        "mates_both": mates_both,
        "filler_scores": filler_scores,
        "exact_misses": exact_misses,
        "strangers_held": strangers_held,
    }


def run_size(
    size: int, real: F32, identities: list[str], probes: F32, sources: list[int]
) -> dict[str, Any]:
    base: list[float] = []
    index: list[float] = []
    fillers_seen: list[float] = []
    misses: list[str] = []
    held = {"face_only": 0, "face_alone": 0}
    total = found_base = found_index = found_both = 0
    for fold in identity_folds(identities):
        part = run_fold(size, fold, real, identities, probes, sources)
        base += part["base_times"]
        index += part["index_times"]
        fillers_seen += part["filler_scores"]
        misses += part["exact_misses"]
        for rule, n in part["strangers_held"].items():
            held[rule] += n
        total += part["mates_total"]
        found_base += part["mates_base"]
        found_index += part["mates_index"]
        found_both += part["mates_both"]
    by_alteration = {name: misses.count(name) for name in ALTERATIONS if name in misses}
    return {
        "held_face_only": held["face_only"] / max(1, len(base)),
        "held_face_alone": held["face_alone"] / max(1, len(base)),
        "face_alone_cut": face_alone_duplicate_threshold(size),
        "exact_misses": ", ".join(f"{n} {name}" for name, n in by_alteration.items()) or "none",
        "base_p50": percentile_ms(base, 50),
        "base_p99": percentile_ms(base, 99),
        "index_p50": percentile_ms(index, 50),
        "index_p99": percentile_ms(index, 99),
        "queries": len(base),
        "mate_pairs": total,
        "base_recall": found_base / total,
        "index_recall": found_index / total,
        "index_recall_vs_exact": found_both / max(1, found_base),
        "filler_median": float(np.median(fillers_seen)),
        "filler_p99": float(np.percentile(fillers_seen, 99)),
    }


def real_impostor_scores(real: F32, identities: list[str]) -> npt.NDArray[np.float32]:
    scores = real @ real.T
    different = np.array([[a != b for b in identities] for a in identities])
    return np.asarray(scores[np.triu(different, 1)], np.float32)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k and 100k only")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    if not (args.data / "faces" / "labels.csv").is_file():
        print(f"shared data not found at {args.data}", file=sys.stderr)
        return 2
    engine = BiometricEngine()
    first, typical = enrolment_time(engine, args.data)
    print("enrolment (portrait quality + face template + 2 fingers, quality + template each):")
    print(f"  first call incl. model load {first * 1e3:.0f} ms; then median {typical * 1e3:.0f} ms")
    real, identities, probes, sources = real_embeddings(engine, args.data / "faces")
    print(
        f"real embeddings {real.shape[0]}, probes {probes.shape[0]} (originals + 6 altered copies)"
    )
    impostor = real_impostor_scores(real, identities)
    print(
        f"real different-person cosine: median {np.median(impostor):.3f}, "
        f"p99 {np.percentile(impostor, 99):.3f} (fillers should look alike: last column)"
    )
    print(f"load average before the searches: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(
        f"mate recall@{K}; 'vs exact' = share of the mates the exact scan finds that the index finds"
    )
    sizes = [10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000]
    print(
        f"{'N':>9} | {'exact p50':>9} {'p99':>8} {'recall':>7} | {'index p50':>9} {'p99':>8} "
        f"{'recall':>7} {'vs exact':>8} | {'p99 ratio':>9} | queries pairs | filler median/p99"
    )
    for size in sizes:
        r = run_size(size, real, identities, probes, sources)
        print(
            f"{size:>9,} | {r['base_p50']:>7.2f}ms {r['base_p99']:>6.2f}ms {r['base_recall']:>7.4f} | "
            f"{r['index_p50']:>7.2f}ms {r['index_p99']:>6.2f}ms {r['index_recall']:>7.4f} "
            f"{r['index_recall_vs_exact']:>8.4f} | {r['base_p99'] / r['index_p99']:>8.1f}x | "
            f"{r['queries']:>7} {r['mate_pairs']:>5} | {r['filler_median']:.3f}/{r['filler_p99']:.3f}"
        )
        print(f"{'':>9}   mates the exact scan misses, by probe alteration: {r['exact_misses']}")
        print(
            f"{'':>9}   queries a stranger in the top {K} would hold: {r['held_face_only']:.1%} "
            f"under a face-only rule (>= {FACE_1TO1}), {r['held_face_alone']:.1%} at face "
            f"alone >= {r['face_alone_cut']} (verification's cut for this size when fingers "
            "refute)"
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
