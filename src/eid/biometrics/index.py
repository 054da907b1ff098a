"""1:N duplicate search over issued identities' face templates, in memory.

Default, `strategy="exact"`: one float32 matrix-vector product over a contiguous, preallocated,
growable matrix, then a partial sort. It finds the true mate whenever the mate scores in the top
k (recall 1.0 relative to the model) and costs 12-48 ms per query at 1M templates (p50, on
different 2-core machines of this workplace): inside an enrolment desk's budget, not the 10 ms bar.

`strategy="pq"` is the fast option measured by `benchmarks/biometrics_bench.py`. Above
`approx_min_size` templates each one also gets a product-quantisation code: 64 sub-vectors of two
dimensions, each replaced by the nearest of 16 centroids learnt from the gallery (4 bits each, 32
bytes per identity instead of 512). faiss's "fast scan" keeps each sub-quantiser's 16 query
distances in a SIMD register and scores 32 codes per instruction, so ranking 1M identities by
estimated cosine costs about 1 ms on one core. A shortlist of the best 2,000 estimates is then
re-ranked with exact float32 scores: returned scores are always exact cosine similarities,
comparable to `compare_faces`; only whether a true mate survives the shortlist can differ from the
exact scan. On the benchmark's 1M gallery (both folds, 1,288 probe-mate pairs) every mate that the
exact scan puts in its top 50 ranks 75th or better by estimate, so the 2,000-entry shortlist leaves
a margin of 26; it costs 0.3 ms more than a 1,000-entry one.

Measured and rejected on the same benchmark (1M, one core):
- 256-bit sign-random-projection codes ranked by Hamming distance (this module's previous
  strategy): the worst mate ranked 973rd, so the shortlist had to be 4,000 and the query cost
  p50 6 ms / p99 11-13 ms, about half in the Hamming scan and half gathering 4,700 rows.
- PQ with 32 sub-quantisers (16 bytes): 0.2 ms faster, but the worst mate ranked 844th.
- A PCA projection to 32 or 64 float dimensions: with fillers fitted on people other than the
  probes, its 1,000-entry shortlist kept only 16% (32-d) and 92% (64-d) of the mates: new people
  do not live in the old people's principal subspace. PQ keeps all 128 dimensions.
- Graph indexes (HNSW in faiss, hnswlib, usearch, pgvector): 30-90% recall in the issue's trial.

Adds and removals stay O(1). Appended rows are encoded by the next search; a replaced row, or a
row that a removal refilled, keeps its old code and joins a small `stale` set that every search
re-ranks exactly, so it can never be missed. The codes are rebuilt (same codebooks) when stale and
dead rows pass 1% of the gallery, and the codebooks are re-learnt when the gallery has doubled
(about 3 s at 1M, paid once by the search that finds it doubled, and at start-up).

PostgreSQL remains the system of record: the integrator rebuilds this index from stored templates
at start-up and mirrors adds and removals.
"""

from __future__ import annotations

import threading
from typing import Any, Literal

import faiss
import numpy as np
import numpy.typing as npt

from eid.biometrics.face import EMBEDDING_DIM, parse_face_template

Matrix = npt.NDArray[np.float32]
Strategy = Literal["exact", "pq"]
PQ_SUBQUANTISERS = 64  # 2 dimensions each
PQ_BITS = 4  # 16 centroids per sub-quantiser: what fast scan's in-register tables hold
_TRAINING_ROWS = 100_000  # codebooks learnt on a strided sample of at most this many rows


def top_k(scores: npt.NDArray[np.float32], k: int) -> npt.NDArray[np.intp]:
    """Indices of the k highest scores, best first."""
    if k >= scores.shape[0]:
        return np.argsort(-scores, kind="stable")
    part = np.argpartition(-scores, k - 1)[:k]
    return part[np.argsort(-scores[part], kind="stable")]


class FaceIndex:
    """Thread-safe: one lock guards the arrays; searches are short and serialised with writes."""

    def __init__(
        self,
        *,
        strategy: Strategy = "exact",
        initial_capacity: int = 1024,
        shortlist_size: int = 2000,
        approx_min_size: int = 100_000,
    ) -> None:
        if strategy not in ("exact", "pq"):
            raise ValueError(f"unknown strategy {strategy!r}")
        self.strategy: Strategy = strategy
        self._lock = threading.Lock()
        self._vectors: Matrix = np.zeros((max(1, initial_capacity), EMBEDDING_DIM), np.float32)
        self._keys: list[str] = []
        self._rows: dict[str, int] = {}
        self._shortlist_size = shortlist_size
        # Below this size the exact scan costs a few ms and needs no codebooks.
        self._approx_min_size = max(approx_min_size, 16 * 39)  # k-means wants 39 rows a centroid
        self._pq: Any = None  # faiss.IndexPQFastScan coding rows [0, ntotal), label = row
        self._trained_at = 0
        self._stale: set[int] = set()  # rows whose code no longer describes their vector

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
            self._vectors[rows] = vectors
            if self._pq is not None:
                coded = int(self._pq.ntotal)
                self._stale.update(int(row) for row in rows if row < coded)

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
            # Move the last row into the hole so the live rows stay contiguous. Rows at or past
            # the new length are dead: searches drop them from the shortlist.
            last = len(self._keys) - 1
            if row != last:
                moved = self._keys[last]
                self._keys[row] = moved
                self._rows[moved] = row
                self._vectors[row] = self._vectors[last]
                if self._pq is not None and row < self._pq.ntotal:
                    self._stale.add(row)
            self._keys.pop()
            self._stale.discard(last)

    def prepare(self) -> None:
        """Learn the codebooks and encode now (start-up), not in the first search."""
        with self._lock:
            self._quantiser(len(self._keys))

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
            pq = self._quantiser(n)
            if pq is None:
                scores = self._vectors[:n] @ query
                best = top_k(scores, k)
                return [(self._keys[i], float(scores[i])) for i in best]
            wanted = min(int(pq.ntotal), max(self._shortlist_size, k))
            _, labels = pq.search(np.ascontiguousarray(query[None, :], dtype=np.float32), wanted)
            found = labels[0]
            candidates = found[(found >= 0) & (found < n)]
            if self._stale:
                stale = np.fromiter(self._stale, dtype=np.int64, count=len(self._stale))
                candidates = np.union1d(candidates, stale[stale < n])
            # Elementwise, not BLAS: a thousand rows are too few to pay for BLAS's threads,
            # whose wake-ups showed up as tail latency.
            exact = np.einsum("ij,j->i", self._vectors[candidates], query)
            best = top_k(exact, k)
            return [(self._keys[int(candidates[i])], float(exact[i])) for i in best]

    def _quantiser(self, n: int) -> Any:
        """The PQ index, brought up to date with rows [0, n), or None while the exact scan is
        the strategy. Called under the lock."""
        if self.strategy != "pq" or n < self._approx_min_size:
            return None
        # One OpenMP thread: spin-waiting threads on two cores fought the re-rank and the web
        # server for the CPU and multiplied the tail latency (measured with the Hamming scan).
        faiss.omp_set_num_threads(1)
        if self._pq is None or n >= 2 * self._trained_at:
            # Codebooks follow the data: re-learnt whenever the gallery has doubled (O(1)
            # amortised), so early enrolments do not define the centroids for a national gallery.
            pq = faiss.IndexPQFastScan(
                EMBEDDING_DIM, PQ_SUBQUANTISERS, PQ_BITS, faiss.METRIC_INNER_PRODUCT
            )
            pq.train(np.ascontiguousarray(self._vectors[: n : max(1, n // _TRAINING_ROWS)]))
            self._pq, self._trained_at = pq, n
            self._reencode(n)
        # Stale codes and dead rows (past n after removals) take shortlist places: rebuild the
        # codes before they are 1% of the gallery.
        elif len(self._stale) + max(0, self._pq.ntotal - n) > max(1000, n // 100):
            self._reencode(n)
        pq = self._pq
        if pq.ntotal < n:
            pq.add(np.ascontiguousarray(self._vectors[pq.ntotal : n]))
        return pq

    def _reencode(self, n: int) -> None:
        self._pq.reset()  # keeps the codebooks
        for start in range(0, n, 100_000):
            self._pq.add(np.ascontiguousarray(self._vectors[start : min(n, start + 100_000)]))
        self._stale.clear()

    def _ensure_capacity(self, needed: int) -> None:
        capacity = self._vectors.shape[0]
        if needed <= capacity:
            return
        # Doubling keeps appends amortised O(1) and the matrix one contiguous block.
        new_capacity = max(needed, 2 * capacity)
        grown = np.zeros((new_capacity, EMBEDDING_DIM), np.float32)
        grown[:capacity] = self._vectors
        self._vectors = grown
