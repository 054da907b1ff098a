from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from eid.biometrics import BiometricEngine, FaceIndex
from eid.biometrics.face import parse_face_template, serialize_face_template
from tests.biometrics.conftest import face_bytes

REFERENCE, PROBE = "fr_obama_facerec_obama.jpg", "fr_obama_facerec_obama2.jpg"
OTHERS = ["df00_deepface_img1.jpg", "fr_biden_facerec_biden2.jpg", "df04_deepface_img30.jpg"]


def fillers(count: int, around: npt.NDArray[np.float32], seed: int = 1) -> npt.NDArray[np.float32]:
    """Unit vectors clustered around the real embeddings' mean, as real faces are, so they score
    like other people (cosine about 0.1-0.3) rather than like random noise (about 0)."""
    rng = np.random.default_rng(seed)
    centre = around.mean(axis=0)
    raw = centre + rng.standard_normal((count, around.shape[1])).astype(np.float32) * 0.08
    return (raw / np.linalg.norm(raw, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def real(bio_data: Path, bio_engine: BiometricEngine) -> dict[str, bytes]:
    names = [REFERENCE, PROBE, *OTHERS]
    return {name: bio_engine.face_template(face_bytes(bio_data, name)) for name in names}


@pytest.mark.parametrize(
    "index",
    [
        FaceIndex(),
        # A shortlist of 200 out of 4,004: 95% of the gallery is never scored exactly.
        FaceIndex(strategy="pq", approx_min_size=1000, shortlist_size=200),
    ],
    ids=["exact", "pq"],
)
def test_true_mate_is_found_among_thousands(
    real: dict[str, bytes], bio_engine: BiometricEngine, index: FaceIndex
) -> None:
    vectors = np.stack([parse_face_template(t) for t in real.values()])
    index.add_vectors([f"filler-{i}" for i in range(4000)], fillers(4000, vectors))
    index.add("obama", real[REFERENCE])
    for name in OTHERS:
        index.add(name, real[name])
    assert len(index) == 4000 + 1 + len(OTHERS)

    results = index.search(real[PROBE], k=5)
    assert results[0][0] == "obama"
    assert [score for _, score in results] == sorted((s for _, s in results), reverse=True)
    # Scores mean the same as a 1:1 comparison.
    direct = bio_engine.compare_faces(real[PROBE], real[REFERENCE]).score
    assert results[0][1] == pytest.approx(direct, abs=1e-5)


def test_pq_strategy_with_a_full_shortlist_equals_the_exact_scan(
    real: dict[str, bytes],
) -> None:
    vectors = np.stack([parse_face_template(t) for t in real.values()])
    exact = FaceIndex()
    pq = FaceIndex(strategy="pq", approx_min_size=1000, shortlist_size=4000)
    for index in (exact, pq):
        index.add_vectors([f"filler-{i}" for i in range(3000)], fillers(3000, vectors))
        index.add("obama", real[REFERENCE])
    # A shortlist as large as the gallery must give exactly the exact scan's answer.
    got, want = pq.search(real[PROBE], k=10), exact.search(real[PROBE], k=10)
    assert [key for key, _ in got] == [key for key, _ in want]
    # Same cosines; the last bit may differ (the re-rank sums without BLAS).
    assert [score for _, score in got] == pytest.approx([score for _, score in want], abs=1e-6)


def test_pq_codes_never_hide_a_moved_or_replaced_row(real: dict[str, bytes]) -> None:
    """After the codes are built, a removal moves the last row into the hole and a re-enrolment
    replaces a vector: both rows keep an old code until the rebuild, and must still be found."""
    vectors = np.stack([parse_face_template(t) for t in real.values()])
    index = FaceIndex(strategy="pq", approx_min_size=1000, shortlist_size=20)
    index.add_vectors([f"filler-{i}" for i in range(3000)], fillers(3000, vectors))
    index.add("obama", real[REFERENCE])
    assert index.search(real[PROBE], k=1)[0][0] == "obama"  # builds the codes
    index.remove("filler-7")  # "obama", the last row, moves into row 7 under filler-7's code
    assert index.search(real[PROBE], k=1)[0][0] == "obama"
    index.add("filler-9", real[REFERENCE])  # re-enrolment: row 9's code is filler-9's old one
    index.remove("obama")
    assert index.search(real[PROBE], k=1)[0][0] == "filler-9"
    assert "obama" not in {key for key, _ in index.search(real[PROBE], k=50)}
    for i in range(10, 2000):  # enough churn to rebuild the codes: same answers after
        index.remove(f"filler-{i}")
    assert index.search(real[PROBE], k=1)[0][0] == "filler-9"
    assert len(index.search(real[PROBE], k=5000)) == len(index) == 1009


def test_remove_and_replace(real: dict[str, bytes]) -> None:
    index = FaceIndex(initial_capacity=2)
    index.add("obama", real[REFERENCE])
    index.add("a", real[OTHERS[0]])
    index.add("b", real[OTHERS[1]])
    index.remove("obama")
    index.remove("not-there")
    assert len(index) == 2
    assert "obama" not in {key for key, _ in index.search(real[PROBE], k=10)}
    index.add("a", real[REFERENCE])  # re-enrolment replaces, never duplicates
    assert len(index) == 2
    assert index.search(real[PROBE], k=1)[0][0] == "a"


def test_empty_index_and_k_larger_than_size(real: dict[str, bytes]) -> None:
    index = FaceIndex()
    assert index.search(real[PROBE]) == []
    index.add("only", real[REFERENCE])
    assert [key for key, _ in index.search(real[PROBE], k=10)] == ["only"]


def test_concurrent_adds_are_all_kept(real: dict[str, bytes]) -> None:
    index = FaceIndex(initial_capacity=1)
    template = serialize_face_template(parse_face_template(real[REFERENCE]))

    def enrol(worker: int) -> None:
        for i in range(200):
            index.add(f"{worker}-{i}", template)

    threads = [threading.Thread(target=enrol, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(index) == 800
    assert len(index.search(real[PROBE], k=1000)) == 800
