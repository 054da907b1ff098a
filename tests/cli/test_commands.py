"""The command line as an operator uses it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from eid.cli import app
from eid.core.database import unit_of_work
from eid.registry.service import ReferenceRegistry

runner = CliRunner()


def test_registry_add_reads_the_design_format_with_images(
    committed: Engine, shared_data: Path, tmp_path: Path
) -> None:
    person = {
        "full_name": "NGUYEN VAN A",
        "date_of_birth": "1990-01-31",
        "sex": "M",
        "nationality": "KOR",
        "passport": {
            "number": "M12345678",
            "type": "P",
            "issuing_state": "KOR",
            "issue_date": "2021-05-01",
            "expiry_date": "2031-04-30",
        },
        "residence_card": {"number": "TT1234567", "kind": "TRC", "expiry_date": "2027-12-31"},
        "portrait": str(shared_data / "faces" / "df01_deepface_img20.jpg"),
        "fingerprints": {"2": str(shared_data / "fingerprints" / "pyfnprint_003_1.png")},
    }
    file = tmp_path / "person.json"
    file.write_text(json.dumps(person))
    result = runner.invoke(app, ["registry", "add", str(file)])
    assert result.exit_code == 0, result.output
    ref = json.loads(result.output)["person_ref"]
    with unit_of_work() as session:
        on_file = ReferenceRegistry(session).biometrics_on_file(ref)
    assert on_file.portrait is not None and set(on_file.fingerprints) == {2}

    again = runner.invoke(app, ["registry", "add", str(file)])
    assert again.exit_code != 0 and "REGISTRY_DUPLICATE" in repr(again.exception.code)  # type: ignore[union-attr]


def test_registry_add_finds_relative_images_next_to_the_file_or_in_the_working_directory(
    committed: Engine, shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "faces").mkdir()
    (tmp_path / "faces" / "me.jpg").write_bytes(
        (shared_data / "faces" / "df02_deepface_img22.jpg").read_bytes()
    )
    monkeypatch.chdir(shared_data)  # "fingerprints/..." resolves from here, not from tmp_path
    person = {
        "full_name": "TANAKA YUKI",
        "date_of_birth": "1988-03-02",
        "sex": "F",
        "nationality": "JPN",
        "passport": {
            "number": "TR7654321",
            "type": "P",
            "issuing_state": "JPN",
            "issue_date": "2022-01-10",
            "expiry_date": "2032-01-09",
        },
        "residence_card": {"number": "TT7654321", "kind": "TRC", "expiry_date": "2028-06-30"},
        "portrait": "faces/me.jpg",
        "fingerprints": {"7": "fingerprints/pyfnprint_004_1.png"},
    }
    file = tmp_path / "person.json"
    file.write_text(json.dumps(person))
    result = runner.invoke(app, ["registry", "add", str(file)])
    assert result.exit_code == 0, result.output
    with unit_of_work() as session:
        on_file = ReferenceRegistry(session).biometrics_on_file(
            json.loads(result.output)["person_ref"]
        )
    assert on_file.portrait is not None and set(on_file.fingerprints) == {7}
    person["portrait"] = "faces/nobody.jpg"
    person["passport"]["number"] = "TR7654322"  # type: ignore[index]
    file.write_text(json.dumps(person))
    missing = runner.invoke(app, ["registry", "add", str(file)])
    assert missing.exit_code != 0 and "IMAGE_NOT_FOUND" in repr(missing.exception.code)  # type: ignore[union-attr]


def test_officer_create_prints_the_totp_secret(committed: Engine) -> None:
    result = runner.invoke(
        app,
        [
            "officer",
            "create",
            "--username",
            "mai.sup",
            "--password",
            "a-long-password-1!",
            "--office",
            "HN-01",
            "--role",
            "supervisor",
        ],
    )
    assert result.exit_code == 0, result.output
    made = json.loads(result.output)
    assert made["role"] == "supervisor" and len(made["totp_secret"]) >= 16


def test_registry_seed_and_event(committed: Engine, shared_data: Path) -> None:
    result = runner.invoke(app, ["registry", "seed", "--count", "12", "--data", str(shared_data)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["seeded"] == 12 and summary["with_biometrics"] >= 3
    passport = summary["examples"][0]
    event = runner.invoke(app, ["registry", "event", "--passport", passport, "--kind", "exit"])
    assert event.exit_code == 0, event.output


@pytest.mark.parametrize(
    ("locale", "message"),
    [
        ("vi_VN.UTF-8", "mật khẩu của cán bộ phải có ít nhất 8 ký tự"),
        ("C.UTF-8", "officer passwords have at least 8 characters"),
    ],
)
def test_errors_print_their_code_and_a_message_in_the_operators_locale(
    committed: Engine,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    locale: str,
    message: str,
) -> None:
    from eid.cli import main

    for name in ("LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", locale)
    arguments = ["--username", "lan.officer", "--password", "short", "--office", "HN-01"]
    monkeypatch.setattr("sys.argv", ["eid", "officer", "create", *arguments, "--role", "officer"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 1
    assert capsys.readouterr().err.strip() == f"error WEAK_PASSWORD: {message}"
