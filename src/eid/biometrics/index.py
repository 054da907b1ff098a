"""1:N duplicate search over issued identities' face templates, in memory.

Default, `strategy="exact"`: one float32 matrix-vector product over a contiguous, preallocated,
growable matrix, then a partial sort. It finds the true mate whenever the mate scores in the top
k (recall 1.0 relative to the model) and costs about 30 ms per query at 1M templates on the
2-core machine when it is quiet: far inside an enrolment desk's budget.

`strategy="binary"` is the faster option measured by `benchmarks/biometrics_bench.py`. Each
template also gets a 256-bit code: signs of the template minus the gallery mean, projected on two
fixed random orthonormal bases (32 bytes instead of 512). A query ranks everyone by Hamming
distance between codes (the angle estimate of sign-random-projection hashing), keeps a wide
shortlist and re-ranks it with exact float32 scores. Returned scores are always exact cosine
similarities, comparable to `compare_faces`; only whether a true mate survives the shortlist can
differ from the exact scan. On the benchmark's 1M gallery the worst mate that the exact scan
finds ranks 973rd by Hamming distance (with 128-bit codes: 19,414th, hence 256 bits), so the
default 4,000-entry shortlist leaves a margin of four.

Rejected: a PCA projection to 32 or 64 float dimensions. With fillers fitted on people other than
the probes, its 1,000-entry shortlist kept only 16% (32-d) and 92% (64-d) of the mates: new people
do not live in the old people's principal subspace.

PostgreSQL remains the system of record: the integrator rebuilds this index from stored templates
at start-up and mirrors adds and removals.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from eid.biometrics.face import EMBEDDING_DIM, parse_face_template

Matrix = npt.NDArray[np.float32]
Strategy = Literal["exact", "binary"]
_ROTATION_SEED = 19794  # fixed, so codes are reproducible across restarts
CODE_WORDS = 4  # 256 bits
# Rows per block of the Hamming scan: a block's temporaries (1 MiB of words) stay in L2, which
# alone makes the scan ~2x faster than whole-array NumPy passes; blocks also spread over cores.
_BLOCK_ROWS = 131_072


def top_k(scores: npt.NDArray[np.float32], k: int) -> npt.NDArray[np.intp]:
    """Indices of the k highest scores, best first."""
    if k >= scores.shape[0]:
        return np.argsort(-scores, kind="stable")
    part = np.argpartition(-scores, k - 1)[:k]
    return part[np.argsort(-scores[part], kind="stable")]


def estimate_cut(sample: npt.NDArray[np.uint16], stride: int, size: int) -> int:
    """The Hamming distance under which about `size` of all rows fall, read from every
    `stride`-th row's distance. Distances are small integers, so ties at the cut are common."""
    ordered = np.sort(sample)
    return int(ordered[min(ordered.shape[0] - 1, size // stride)])


def popcount(words: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint8]:
    """Set bits per 64-bit word."""
    if hasattr(np, "bitwise_count"):  # NumPy 2: one vectorised instruction per word
        return np.asarray(np.bitwise_count(words), dtype=np.uint8)
    as_bytes = words.view(np.uint8).reshape(-1, 8)
    return np.asarray(_BYTE_POPCOUNT[as_bytes].sum(axis=1), dtype=np.uint8)


_BYTE_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def hamming(codes: npt.NDArray[np.uint64], code: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint16]:
    """Distances from one code to word-major `codes` (CODE_WORDS x rows)."""
    distances = popcount(codes[0] ^ code[0]).astype(np.uint16)
    for word in range(1, CODE_WORDS):
        distances += popcount(codes[word] ^ code[word])
    return distances


def _pack_signs(centred: Matrix, rotation: Matrix) -> npt.NDArray[np.uint64]:
    """(n, 128) float -> (CODE_WORDS, n) uint64 codes, word-major so each scan is contiguous."""
    bits = np.packbits((centred @ rotation) > 0, axis=1)
    words = np.ascontiguousarray(bits).view(">u8").astype(np.uint64)
    return np.ascontiguousarray(words.T)


class FaceIndex:
    """Thread-safe: one lock guards the arrays; searches are short and serialised with writes."""

    def __init__(
        self,
        *,
        strategy: Strategy = "exact",
        initial_capacity: int = 1024,
        shortlist_size: int = 4000,
        binary_min_size: int = 250_000,
    ) -> None:
        if strategy not in ("exact", "binary"):
            raise ValueError(f"unknown strategy {strategy!r}")
        self.strategy: Strategy = strategy
        self._lock = threading.Lock()
        self._vectors: Matrix = np.zeros((max(1, initial_capacity), EMBEDDING_DIM), np.float32)
        self._keys: list[str] = []
        self._rows: dict[str, int] = {}
        self._shortlist_size = shortlist_size
        # Below this size the exact scan is as fast as codes + shortlist (measured at 100k).
        self._binary_min_size = binary_min_size
        rng = np.random.default_rng(_ROTATION_SEED)
        bases = [
            np.linalg.qr(rng.standard_normal((EMBEDDING_DIM, EMBEDDING_DIM)))[0]
            for _ in range(CODE_WORDS * 64 // EMBEDDING_DIM)
        ]
        self._rotation: Matrix = np.concatenate(bases, axis=1).astype(np.float32)
        self._mean: Matrix | None = None
        self._codes: npt.NDArray[np.uint64] | None = None
        self._fitted_at = 0
        self._pool: ThreadPoolExecutor | None = None
        # faiss's SIMD Hamming range search mirrors the codes when faiss is installed: it scans
        # 1M codes in ~3.5 ms against ~10 ms for the blocked NumPy scan (measured here).
        self._mirror: Any = None
        self._mirrored = 0
        self._mirror_dirty = True
        self._sample: tuple[Any, int] = (None, 1)
        self._sampled_at = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._keys)

    def add(self, key: str, template: bytes) -> None:
        """Add or replace the template stored under `key`."""
        self.add_vectors([key], parse_face_template(template)[None, :])

    def add_vectors(self, keys: list[str], vectors: Matrix) -> None:
        """Bulk load of already-parsed, L2-normalised embeddings (start-up rebuild, benchmarks)."""
        if vectors.shape != (len(keys), EMBEDDING_DIM):
            raise ValueError(f"expected {len(keys)} x {EMBEDDING_DIM} vectors, got {vectors.shape}")
        with self._lock:
            if len(set(keys)) == len(keys) and not any(key in self._rows for key in keys):
                start = len(self._keys)
                self._ensure_capacity(start + len(keys))
                self._keys.extend(keys)
                self._rows.update(zip(keys, range(start, start + len(keys)), strict=True))
                rows = np.arange(start, start + len(keys))
            else:
                rows = np.array([self._row_for(key) for key in keys], dtype=np.intp)
                self._mirror_dirty = True  # a replaced row changes a mirrored code
            self._vectors[rows] = vectors
            if self._codes is not None and self._mean is not None:
                self._codes[:, rows] = _pack_signs(vectors - self._mean, self._rotation)
            self._maybe_fit_codes()

    def _row_for(self, key: str) -> int:
        row = self._rows.get(key)
        if row is None:
            row = len(self._keys)
            self._ensure_capacity(row + 1)
            self._keys.append(key)
            self._rows[key] = row
        return row

    def remove(self, key: str) -> None:
        with self._lock:
            row = self._rows.pop(key, None)
            if row is None:
                return
            self._mirror_dirty = True
            # Move the last row into the hole so the live rows stay contiguous.
            last = len(self._keys) - 1
            if row != last:
                moved = self._keys[last]
                self._keys[row] = moved
                self._rows[moved] = row
                self._vectors[row] = self._vectors[last]
                if self._codes is not None:
                    self._codes[:, row] = self._codes[:, last]
            self._keys.pop()

    def search(self, template: bytes, k: int = 10) -> list[tuple[str, float]]:
        """The k best-scoring stored identities, best first, with exact cosine scores."""
        return self.search_vector(parse_face_template(template), k)

    def search_vector(self, query: Matrix, k: int = 10) -> list[tuple[str, float]]:
        if k <= 0:
            return []
        with self._lock:
            n = len(self._keys)
            if n == 0:
                return []
            if self.strategy == "exact" or self._codes is None or self._mean is None:
                scores = self._vectors[:n] @ query
                best = top_k(scores, k)
                return [(self._keys[i], float(scores[i])) for i in best]
            code = _pack_signs((query - self._mean)[None, :], self._rotation)[:, 0]
            candidates = self._shortlist(code, n, max(self._shortlist_size, k))
            # Elementwise, not BLAS: a few thousand rows are too few to pay for BLAS's threads,
            # whose wake-ups showed up as tail latency.
            exact = np.einsum("ij,j->i", self._vectors[candidates], query)
            best = top_k(exact, k)
            return [(self._keys[candidates[i]], float(exact[i])) for i in best]

    def _shortlist(self, code: npt.NDArray[np.uint64], n: int, size: int) -> npt.NDArray[np.intp]:
        """About `size` rows nearest to `code` by Hamming distance, in no order.

        Sorting 1M distances would cost more than computing them, so the cut comes from a strided
        sample first; then each block computes its distances and keeps the rows under the cut,
        plus the rows at the cut, which fill up the shortlist only as far as needed.
        """
        codes = self._codes
        assert codes is not None
        if size >= n:
            return np.arange(n)
        mirror = self._faiss_mirror(n)
        if mirror is not None:
            query = np.ascontiguousarray(code[None, :]).view(np.uint8)
            sample, stride = self._sample
            # The cut from a fixed strided sample (a few new rows do not move its estimate),
            # aimed 15% past `size`: a cut that falls short costs a second scan, and without
            # the margin one query in ten fell short (measured at 1M: p99 12.7 ms).
            wanted = int(size * 1.15) // stride + 1
            near, _ = sample.search(query, max(1, min(sample.ntotal, wanted)))
            cut = int(near[0, -1])
            for _ in range(3):
                _, _, found = mirror.range_search(query, cut + 1)  # distance <= cut
                if found.shape[0] >= size:
                    return np.asarray(found, dtype=np.intp)
                cut += 2
            _, nearest = mirror.search(query, size)
            return np.asarray(nearest[0], dtype=np.intp)
        stride = max(1, n // 32_768)
        sample = hamming(codes[:, :n:stride], code)
        cut = estimate_cut(sample, stride, size)
        distances = np.empty(n, np.uint16)

        def scan_block(start: int) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
            stop = min(n, start + _BLOCK_ROWS)
            block = distances[start:stop]
            block[:] = hamming(codes[:, start:stop], code)
            return start + np.flatnonzero(block < cut), start + np.flatnonzero(block == cut)

        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                max_workers=min(4, os.cpu_count() or 1), thread_name_prefix="face-index"
            )
        # NumPy releases the GIL inside these loops, so blocks really run in parallel.
        parts = list(self._pool.map(scan_block, range(0, n, _BLOCK_ROWS)))
        below = np.concatenate([under for under, _ in parts])
        if below.shape[0] < size:
            tied = np.concatenate([at for _, at in parts])[: size - below.shape[0]]
            below = np.concatenate([below, tied])
        if below.shape[0] < size:
            # The sample put the cut too low: fall back to an exact partial sort.
            return np.argpartition(distances, size - 1)[:size]
        return below

    def _faiss_mirror(self, n: int) -> Any:
        """faiss's IndexBinaryFlat holding rows [0, n) of the codes, or None without faiss."""
        try:
            import faiss
        except ImportError:
            return None
        # One OpenMP thread: two spin-waiting threads on two cores fought NumPy's BLAS threads of
        # the re-rank and tripled the p99 (measured: 14 ms with one thread, 98 ms with two).
        faiss.omp_set_num_threads(1)
        codes = self._codes
        assert codes is not None
        if self._mirror is None or self._mirror_dirty or self._mirrored > n:
            self._mirror = faiss.IndexBinaryFlat(CODE_WORDS * 64)
            self._mirrored = 0
            self._mirror_dirty = False
            self._sampled_at = 0
        if self._mirrored < n:
            rows = np.ascontiguousarray(codes[:, self._mirrored : n].T).view(np.uint8)
            self._mirror.add(rows)
            self._mirrored = n
        if n > 1.1 * self._sampled_at:
            stride = max(1, n // 32_768)
            sample = faiss.IndexBinaryFlat(CODE_WORDS * 64)
            sample.add(np.ascontiguousarray(codes[:, :n:stride].T).view(np.uint8))
            self._sample = (sample, stride)
            self._sampled_at = n
        return self._mirror

    def _ensure_capacity(self, needed: int) -> None:
        capacity = self._vectors.shape[0]
        if needed <= capacity:
            return
        # Doubling keeps appends amortised O(1) and the matrix one contiguous block.
        new_capacity = max(needed, 2 * capacity)
        grown = np.zeros((new_capacity, EMBEDDING_DIM), np.float32)
        grown[:capacity] = self._vectors
        self._vectors = grown
        if self._codes is not None:
            codes = np.zeros((CODE_WORDS, new_capacity), np.uint64)
            codes[:, :capacity] = self._codes
            self._codes = codes

    def _maybe_fit_codes(self) -> None:
        n = len(self._keys)
        if self.strategy != "binary" or n < self._binary_min_size:
            return
        # Re-centre when the collection has doubled: the mean follows the data at O(1) amortised
        # cost, and centring is what makes the sign bits informative (all faces share a mean).
        if self._codes is not None and n < 2 * self._fitted_at:
            return
        stored = self._vectors[:n]
        self._mean = stored[:: max(1, n // 200_000)].mean(axis=0).astype(np.float32)
        codes = np.zeros((CODE_WORDS, self._vectors.shape[0]), np.uint64)
        for start in range(0, n, 100_000):
            stop = min(n, start + 100_000)
            codes[:, start:stop] = _pack_signs(stored[start:stop] - self._mean, self._rotation)
        self._codes = codes
        self._fitted_at = n
        self._mirror_dirty = True
