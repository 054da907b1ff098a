"""1:N duplicate search over issued identities' face templates, in memory.

The default is an exact float32 scan: one matrix-vector product over a contiguous, preallocated,
growable matrix. It finds the true mate whenever the mate is the best-scoring entry (recall 1.0
by construction) and at 1M templates costs about 30-55 ms per query on the 2-core machine, which
is far inside the budget of an enrolment desk (hundreds of searches a day).

`strategy="projected"` is the faster option, measured by `benchmarks/biometrics_bench.py`: a scan
over a PCA projection of the templates (32 of 128 dimensions, fitted on the stored templates
themselves) picks a wide shortlist, and the shortlist is re-ranked with the exact float32 scores.
Returned scores are always exact cosine similarities, comparable to `compare_faces`; what can
differ from the exact scan is only whether a true mate survives the shortlist. Use it only where
the benchmark shows mate recall of 0.999 or better on data like yours.

PostgreSQL remains the system of record: the integrator rebuilds this index from stored templates
at start-up and mirrors adds and removals.
"""

from __future__ import annotations

import threading
from typing import Literal

import numpy as np
import numpy.typing as npt

from eid.biometrics.face import EMBEDDING_DIM, parse_face_template

Matrix = npt.NDArray[np.float32]
Strategy = Literal["exact", "projected"]


def top_k(scores: npt.NDArray[np.float32], k: int) -> npt.NDArray[np.intp]:
    """Indices of the k highest scores, best first."""
    if k >= scores.shape[0]:
        return np.argsort(-scores, kind="stable")
    part = np.argpartition(-scores, k - 1)[:k]
    return part[np.argsort(-scores[part], kind="stable")]


def shortlist(scores: npt.NDArray[np.float32], size: int) -> npt.NDArray[np.intp]:
    """At least `size` indices of the highest scores, in no order.

    A full argpartition of 1M scores costs ~5 ms; instead a cut is estimated from a strided sample
    and only the entries above it are kept, falling back to argpartition if the cut was too high.
    """
    n = scores.shape[0]
    if size >= n:
        return np.arange(n)
    stride = max(1, n // 20_000)
    sample = scores[::stride]
    # Aim for twice the wanted size, so a sample that misjudges the tail still leaves enough.
    wanted_in_sample = min(sample.shape[0] - 1, max(1, (2 * size) // stride))
    cut = np.partition(sample, sample.shape[0] - 1 - wanted_in_sample)[
        sample.shape[0] - 1 - wanted_in_sample
    ]
    chosen = np.flatnonzero(scores >= cut)
    if chosen.shape[0] >= size:
        return chosen
    return np.argpartition(-scores, size - 1)[:size]


class FaceIndex:
    """Thread-safe: one lock guards the matrix; searches are short and serialised with writes."""

    def __init__(
        self,
        *,
        strategy: Strategy = "exact",
        initial_capacity: int = 1024,
        projected_dims: int = 32,
        shortlist_size: int = 2000,
        projection_min_size: int = 50_000,
    ) -> None:
        if strategy not in ("exact", "projected"):
            raise ValueError(f"unknown strategy {strategy!r}")
        self.strategy: Strategy = strategy
        self._lock = threading.Lock()
        self._vectors: Matrix = np.zeros((max(1, initial_capacity), EMBEDDING_DIM), np.float32)
        self._keys: list[str] = []
        self._rows: dict[str, int] = {}
        self._projected_dims = projected_dims
        self._shortlist_size = shortlist_size
        self._projection_min_size = projection_min_size
        # Projection state: basis (dim x p), mean, projected rows (capacity x p), size at fit.
        self._basis: Matrix | None = None
        self._mean: Matrix | None = None
        self._projected: Matrix | None = None
        self._fitted_at = 0

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
                self._append_block(keys, vectors)
                return
            for key, vector in zip(keys, vectors, strict=True):
                row = self._rows.get(key)
                if row is None:
                    row = len(self._keys)
                    self._ensure_capacity(row + 1)
                    self._keys.append(key)
                    self._rows[key] = row
                self._vectors[row] = vector
                if self._projected is not None and self._basis is not None:
                    assert self._mean is not None
                    self._projected[row] = (vector - self._mean) @ self._basis
            self._maybe_fit_projection()

    def remove(self, key: str) -> None:
        with self._lock:
            row = self._rows.pop(key, None)
            if row is None:
                return
            # Move the last row into the hole so the live rows stay contiguous.
            last = len(self._keys) - 1
            if row != last:
                moved = self._keys[last]
                self._keys[row] = moved
                self._rows[moved] = row
                self._vectors[row] = self._vectors[last]
                if self._projected is not None:
                    self._projected[row] = self._projected[last]
            self._keys.pop()

    def search(self, template: bytes, k: int = 10) -> list[tuple[str, float]]:
        return self.search_vector(parse_face_template(template), k)

    def search_vector(self, query: Matrix, k: int = 10) -> list[tuple[str, float]]:
        if k <= 0:
            return []
        with self._lock:
            n = len(self._keys)
            if n == 0:
                return []
            if self._projected is None or self._basis is None or self.strategy == "exact":
                scores = self._vectors[:n] @ query
                best = top_k(scores, k)
                return [(self._keys[i], float(scores[i])) for i in best]
            candidates = shortlist(
                self._projected[:n] @ (query @ self._basis), max(self._shortlist_size, k)
            )
            exact = self._vectors[candidates] @ query
            best = top_k(exact, k)
            return [(self._keys[candidates[i]], float(exact[i])) for i in best]

    def _append_block(self, keys: list[str], vectors: Matrix) -> None:
        start = len(self._keys)
        self._ensure_capacity(start + len(keys))
        self._vectors[start : start + len(keys)] = vectors
        self._keys.extend(keys)
        self._rows.update(zip(keys, range(start, start + len(keys)), strict=True))
        if self._projected is not None and self._basis is not None and self._mean is not None:
            self._projected[start : start + len(keys)] = (vectors - self._mean) @ self._basis
        self._maybe_fit_projection()

    def _ensure_capacity(self, needed: int) -> None:
        capacity = self._vectors.shape[0]
        if needed <= capacity:
            return
        # Doubling keeps appends amortised O(1) and the matrix one contiguous block.
        new_capacity = max(needed, 2 * capacity)
        grown = np.zeros((new_capacity, EMBEDDING_DIM), np.float32)
        grown[:capacity] = self._vectors
        self._vectors = grown
        if self._projected is not None:
            projected = np.zeros((new_capacity, self._projected.shape[1]), np.float32)
            projected[:capacity] = self._projected
            self._projected = projected

    def _maybe_fit_projection(self) -> None:
        n = len(self._keys)
        if self.strategy != "projected" or n < self._projection_min_size:
            return
        # Refit when the collection has doubled: the basis follows the data at O(1) amortised cost.
        if self._basis is not None and n < 2 * self._fitted_at:
            return
        stored = self._vectors[:n]
        step = max(1, n // 200_000)
        sample = stored[::step].astype(np.float64)
        mean = sample.mean(axis=0)
        covariance = np.cov(sample - mean, rowvar=False)
        _, eigenvectors = np.linalg.eigh(covariance)
        basis = np.ascontiguousarray(eigenvectors[:, ::-1][:, : self._projected_dims], np.float32)
        self._mean = mean.astype(np.float32)
        self._basis = basis
        projected = np.zeros((self._vectors.shape[0], basis.shape[1]), np.float32)
        projected[:n] = (stored - self._mean) @ basis
        self._projected = projected
        self._fitted_at = n
