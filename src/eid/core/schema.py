"""Build and check the schema: Alembic migrations are the only way tables come to be."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from alembic import command
from alembic.config import Config

import eid

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def import_all_models() -> None:
    """Every domain keeps its tables in `<domain>/models.py`; load them all for metadata."""
    for module in pkgutil.iter_modules(eid.__path__):
        if module.ispkg:
            try:
                importlib.import_module(f"eid.{module.name}.models")
            except ModuleNotFoundError as exc:
                if exc.name != f"eid.{module.name}.models":
                    raise
    importlib.import_module("eid.core.audit")
    importlib.import_module("eid.core.jobs")


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str) -> None:
    command.upgrade(alembic_config(url), "head")
