"""The embedded PostgreSQL's list of processes using it forgets processes that died unseen."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from eid.core.database import _forget_dead_users


def test_dead_processes_are_dropped_from_the_embedded_servers_user_list(tmp_path: Path) -> None:
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead = int(gone.stdout)
    listing = tmp_path / ".handle_pids.json"
    listing.write_text(json.dumps([dead, os.getpid()]))
    _forget_dead_users(tmp_path)
    assert json.loads(listing.read_text()) == [os.getpid()]
    listing.write_text("not json")
    _forget_dead_users(tmp_path)  # a damaged list is left to the library, not a crash here
    assert listing.read_text() == "not json"
