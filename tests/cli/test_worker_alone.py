"""`eid worker` runs in a process of its own: it must know every table its jobs flush, not only
those the task modules happen to import (inside `eid serve` the routers import the rest).

Found by benchmarks/fault_run.py: a lone `eid worker` failed every verification job with
NoReferencedTableError (`applications.office_code` references `offices`, a staff model), so
applications submitted to a server without an embedded worker stayed `captured` for good."""

from __future__ import annotations

import subprocess
import sys


def test_a_lone_worker_process_resolves_every_foreign_key() -> None:
    # A fresh interpreter, as `eid worker` starts: in this test process the app has already
    # imported every model, which would hide the gap.
    code = (
        "from eid.worker import load_tasks; load_tasks()\n"
        "from eid.core.database import Base\n"
        "tables = Base.metadata.sorted_tables  # what a flush orders its rows by\n"
        "assert 'offices' in {t.name for t in tables}\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
