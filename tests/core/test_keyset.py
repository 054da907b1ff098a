"""Production's keys: every one listed, all checked before the server starts, none ever made
except by the operator's `eid keys init`."""

from __future__ import annotations

import ast
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

import eid
from eid.bootstrap import require_keys
from eid.cli import app
from eid.core.crypto import get_keystore
from eid.core.database import unit_of_work
from eid.core.errors import EidError
from eid.core.keyset import KEYS, file_of
from eid.core.settings import get_settings
from eid.identity import keys as oidc_keys

runner = CliRunner()
SOURCE = Path(eid.__file__).parent


def _key_names_asked_for() -> dict[str, str]:
    """Every literal key name passed to a key store's `secret()`, `signing_key()`,
    `signing_ring()` or `keyring()`, directly or through a module-level constant (of any
    module: the keyring names are imported), with where it is asked for. Migrations are left
    out: a downgrade may read a retired key the running system no longer needs."""
    trees = {
        path: ast.parse(path.read_text())
        for path in SOURCE.rglob("*.py")
        if "migrations" not in path.parts
    }
    constants = {
        target.id: node.value.value
        for tree in trees.values()
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    found: dict[str, str] = {}
    for path, tree in trees.items():
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("secret", "signing_key", "signing_ring", "keyring")
                and node.args
            ):
                arg = node.args[0]
                where = f"{path.relative_to(SOURCE)}:{node.lineno}"
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    found[arg.value] = where
                elif isinstance(arg, ast.Name) and arg.id in constants:
                    found[constants[arg.id]] = where
    return found


def test_every_key_the_code_asks_for_is_listed_and_checked_at_start() -> None:
    asked = _key_names_asked_for()
    listed = {spec.name for spec in KEYS if spec.kind != "data"}
    unlisted = {name: where for name, where in asked.items() if name not in listed}
    assert not unlisted, f"add these to eid.core.keyset.KEYS: {unlisted}"
    assert listed <= set(asked), f"listed but never used: {listed - set(asked)}"
    # At least the ones the issue names: signing of requests, decisions, the wallet, the audit.
    assert {"immigration", "eid-authority", "wallet-issuer", "audit-checkpoint"} <= listed
    assert {"personal-data", "blind-index"} <= listed  # the sealed personal data's keyrings


def test_keys_init_makes_every_key_once_and_check_names_each_missing_one(tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    empty = runner.invoke(app, ["keys", "check", "--dir", str(folder)])
    assert empty.exit_code == 1
    for spec in KEYS:
        assert spec.name in empty.output

    made = runner.invoke(app, ["keys", "init", "--dir", str(folder)])
    assert made.exit_code == 0, made.output
    assert '"made": [' in made.output and all(spec.name in made.output for spec in KEYS)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    contents = {}
    for spec in KEYS:
        path = folder / file_of(spec)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        contents[spec.name] = path.read_bytes()

    assert runner.invoke(app, ["keys", "check", "--dir", str(folder)]).exit_code == 0
    (folder / "wallet-issuer.keyring.json").unlink()
    (folder / "phone-otp.secret").write_bytes(b"short")
    broken = runner.invoke(app, ["keys", "check", "--dir", str(folder)])
    assert broken.exit_code == 1
    assert "wallet-issuer (signing: KEY_MISSING)" in broken.output
    assert "phone-otp (secret: KEY_INVALID)" in broken.output
    assert "audit-checkpoint" not in broken.output.split('"problems"')[1]

    # A second init makes only what is missing, refuses what is broken, replaces nothing: a
    # new data key would leave everything sealed under the old one unreadable.
    (folder / "phone-otp.secret").write_bytes(contents["phone-otp"])
    again = runner.invoke(app, ["keys", "init", "--dir", str(folder)])
    assert again.exit_code == 0, again.output
    assert '"made": [\n    "wallet-issuer"\n  ]' in again.output
    for spec in KEYS:
        if spec.name != "wallet-issuer":
            assert (folder / file_of(spec)).read_bytes() == contents[spec.name]


@pytest.fixture
def production(
    committed: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """This process in production mode with an empty key folder (the test database's app role)."""
    folder = tmp_path / "prod-keys"
    with monkeypatch.context() as env:
        env.setenv("EID_ENV", "production")
        env.setenv("EID_KEYS_DIR", str(folder))
        env.setenv("EID_ISSUER", "https://eid.example.gov.vn")
        env.setenv("EID_SMTP_HOST", "127.0.0.1")
        env.setenv("EID_SMS_GATEWAY_URL", "http://127.0.0.1:9/sms")
        get_settings.cache_clear()
        get_keystore.cache_clear()
        oidc_keys.forget_active_key()
        try:
            yield folder
        finally:
            get_settings.cache_clear()
            get_keystore.cache_clear()
            oidc_keys.forget_active_key()


def test_production_refuses_to_start_naming_every_missing_key(production: Path) -> None:
    with pytest.raises(EidError) as refused:
        require_keys(get_settings())
    assert refused.value.code == "KEYS_MISSING"
    for spec in KEYS:
        assert spec.name in str(refused.value)
    assert not production.exists()  # nothing was made behind the operator's back

    runner.invoke(app, ["keys", "init", "--dir", str(production)])
    with pytest.raises(EidError) as no_oidc:
        require_keys(get_settings())
    assert "oidc-signing (none active in the database: run eid oidc rotate-key)" in str(
        no_oidc.value
    )
    assert "wallet-issuer" not in str(no_oidc.value)
    with unit_of_work() as session, pytest.raises(EidError) as lazily:
        oidc_keys.active_key(session)  # a request would not make one either
    assert lazily.value.code == "KEY_MISSING"

    assert runner.invoke(app, ["oidc", "rotate-key"]).exit_code == 0
    require_keys(get_settings())  # starts

    # The database's OIDC key was sealed with this folder's data key: another folder, even a
    # complete one, cannot open it, and the server says so rather than failing at each login.
    shutil.rmtree(production)
    runner.invoke(app, ["keys", "init", "--dir", str(production)])
    get_keystore.cache_clear()
    oidc_keys.forget_active_key()
    with pytest.raises(EidError) as other_folder:
        require_keys(get_settings())
    assert "oidc-signing (does not unseal with this data key" in str(other_folder.value)


def test_eid_serve_in_production_exits_with_the_missing_keys(
    committed: Engine, database_url: str, tmp_path: Path
) -> None:
    """As an operator starts it: the process ends at once with the error, never listening."""
    env = {
        **os.environ,
        "EID_ENV": "production",
        "EID_DATABASE_URL": database_url,
        "EID_KEYS_DIR": str(tmp_path / "empty"),
        "EID_ISSUER": "https://eid.example.gov.vn",
        "EID_SMTP_HOST": "127.0.0.1",
        "EID_SMS_GATEWAY_URL": "http://127.0.0.1:9/sms",
        "LANG": "en_US.UTF-8",
    }
    env.pop("EID_MIGRATION_DATABASE_URL", None)  # production's server holds the app role only
    done = subprocess.run(
        [sys.executable, "-m", "eid.cli", "serve", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    assert "error KEYS_MISSING" in done.stderr
    assert "wallet-issuer" in done.stderr and "eid keys init --dir" in done.stderr
