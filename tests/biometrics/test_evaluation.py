from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from eid.biometrics import BiometricEngine, evaluate, main_bio_eval
from eid.biometrics.error_rates import (
    equal_error_rate,
    false_match_rate,
    false_non_match_rate,
    threshold_at_fmr,
)

FACES = [
    ("df00_deepface_img1.jpg", "df00"),
    ("df00_deepface_img2.jpg", "df00"),
    ("fr_obama_facerec_obama.jpg", "obama"),
    ("fr_obama_facerec_obama2.jpg", "obama"),
]
PRINTS = [
    ("pyfnprint_010_1.png", "f010"),
    ("pyfnprint_010_3.png", "f010"),
    ("pyfnprint_013_1.png", "f013"),
    ("pyfnprint_013_2.png", "f013"),
]


def labelled_copy(source: Path, target: Path, rows: list[tuple[str, str]], column: str) -> Path:
    target.mkdir()
    with (target / "labels.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", column, "source"])
        for name, label in rows:
            shutil.copy(source / name, target / name)
            writer.writerow([name, label, "shared"])
    return target


def test_rates_on_known_scores() -> None:
    genuine = np.array([0.9, 0.8, 0.7, 0.2])
    impostor = np.array([0.1, 0.2, 0.3, 0.75] + [0.0] * 96)
    cut = threshold_at_fmr(impostor, 1e-2)
    # One false match in 100 is allowed (0.75); the next impostor (0.3) must be refused.
    assert 0.3 < cut < 0.31
    assert false_match_rate(impostor, cut) == 0.01
    assert false_non_match_rate(genuine, cut) == 0.25
    assert threshold_at_fmr(impostor, 1e-3) > 0.75  # no false match allowed at all
    # Rates cross between 0.2 (FMR 3%, FNMR 0) and 0.3 (FMR 1%, FNMR 25%).
    assert equal_error_rate(genuine, impostor) == pytest.approx(0.015)


def test_evaluation_on_a_small_labelled_set(
    bio_data: Path, bio_engine: BiometricEngine, tmp_path: Path
) -> None:
    faces = labelled_copy(bio_data / "faces", tmp_path / "faces", FACES, "identity")
    prints = labelled_copy(bio_data / "fingerprints", tmp_path / "prints", PRINTS, "finger")
    plot = tmp_path / "det.png"
    result = evaluate(faces, prints, engine=bio_engine, plot=plot)
    for modality in ("face", "fingerprint"):
        report = result[modality]
        for key in (
            "fte",
            "eer",
            "fnmr_at_fmr_1e-2",
            "fnmr_at_fmr_1e-3",
            "genuine_pairs",
            "impostor_pairs",
        ):
            assert key in report
        assert (report["genuine_pairs"], report["impostor_pairs"]) == (2, 4)
        assert report["fte"] == 0.0
        assert report["eer"] == 0.0  # these two people and fingers separate cleanly
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_command_prints_table_and_writes_json(
    bio_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    faces = labelled_copy(bio_data / "faces", tmp_path / "faces", FACES, "identity")
    out = tmp_path / "eval.json"
    assert main_bio_eval(faces, None, out, None) == 0
    table = capsys.readouterr().out
    assert "genuine pairs" in table and "FNMR @ FMR 1e-3" in table
    saved = json.loads(out.read_text())
    assert saved["face"]["genuine_pairs"] == 2
    assert "fingerprint" not in saved


def test_command_without_folders_is_a_usage_error() -> None:
    assert main_bio_eval(None, None, None, None) == 2
