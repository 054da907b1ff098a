"""`eid demo` as a newcomer runs it: from any folder, and never into the real outbox."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eid.bootstrap import shared_data_dir
from eid.cli import app

runner = CliRunner()


def test_demo_runs_from_another_folder_and_leaves_the_real_outbox_alone(
    admin_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # not the checkout: the shared images are found all the same
    found = shared_data_dir(beside_package=True)
    assert found is not None and (found / "faces" / "labels.csv").exists()
    # A fresh install: its own data folder, a database server it may create a scratch one on,
    # an SMS gateway configured (the demo must not call it either).
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("EID_")}
    env |= {
        "EID_DATABASE_URL": admin_url,
        "EID_DATA_DIR": str(data),
        "EID_SMS_GATEWAY_URL": "http://127.0.0.1:9/never",
    }
    eid = Path(sys.executable).parent / "eid"
    done = subprocess.run(
        [str(eid), "demo", "--applicants", "1"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "A day at office" in done.stdout
    assert not (data / "outbox").exists()


def test_demo_without_images_says_what_to_pass(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--data", str(tmp_path / "nothing")])
    assert result.exit_code == 2
    assert "--data" in result.output and "faces" in result.output
