"""Regenerate the initial migration from the models (pre-release only: no database is deployed).

Usage: python scripts/regen_migration.py  (needs the local PostgreSQL at 127.0.0.1:5432)
"""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine, text

from eid.core.schema import MIGRATIONS, alembic_config

SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"

versions = MIGRATIONS / "versions"
for old in versions.glob("*.py"):
    old.unlink()
name = f"eid_regen_{secrets.token_hex(3)}"
admin = create_engine(SERVER, isolation_level="AUTOCOMMIT")
with admin.connect() as c:
    c.execute(text(f'CREATE DATABASE "{name}"'))
try:
    url = SERVER.rsplit("/", 1)[0] + "/" + name
    command.revision(
        alembic_config(url), message="initial schema", autogenerate=True, rev_id="0001"
    )
    path = next(versions.glob("0001_*.py"))
    body = path.read_text()
    body = body.replace(
        "from alembic import op\n",
        "from alembic import op\n\nfrom eid.core.audit import APPEND_ONLY_SQL\n",
    )
    body = re.sub(
        r"(    # ### end Alembic commands ###\n)",
        r"\1    op.execute(APPEND_ONLY_SQL)\n",
        body,
        count=1,
    )
    path.write_text(body.replace("Revises: \n", "Revises:\n"))
    ruff = Path(sys.executable).parent / "ruff"
    subprocess.run([str(ruff), "check", "--fix", "--quiet", str(path)], check=False)
    subprocess.run([str(ruff), "format", "--quiet", str(path)], check=True)
    print("wrote", path)
finally:
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
