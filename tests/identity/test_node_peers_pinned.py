"""The relying-party libraries of tests/identity/test_oidc_node_peers.py are pinned exactly, and
by a lock file with integrity hashes (read without Node, so it runs everywhere)."""

from __future__ import annotations

import json
import re
from pathlib import Path

NODE_DIR = Path(__file__).resolve().parents[1] / "peers" / "node"


def test_the_libraries_are_pinned_by_the_lock_file() -> None:
    manifest = json.loads((NODE_DIR / "package.json").read_text())
    lock = json.loads((NODE_DIR / "package-lock.json").read_text())
    majors = {"openid-client": "6.", "oauth4webapi": "3."}
    for package, major in majors.items():
        wanted = manifest["dependencies"][package]
        assert re.fullmatch(r"\d+\.\d+\.\d+", wanted), f"{package} not pinned exactly: {wanted}"
        locked = lock["packages"][f"node_modules/{package}"]
        assert locked["version"] == wanted and wanted.startswith(major)
        assert locked["integrity"].startswith("sha512-")
