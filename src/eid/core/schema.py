"""Build and check the schema: Alembic migrations are the only way tables come to be."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from alembic import command
from alembic.config import Config

import eid

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def import_domain_modules(module: str) -> None:
    """Import `eid.<domain>.<module>` for every domain package that has one."""
    for package in pkgutil.iter_modules(eid.__path__):
        if package.ispkg:
            name = f"eid.{package.name}.{module}"
            try:
                importlib.import_module(name)
            except ModuleNotFoundError as exc:
                if exc.name != name:
                    raise


def import_all_models() -> None:
    """Every domain keeps its tables in `<domain>/models.py`; load them all for metadata."""
    import_domain_modules("models")
    importlib.import_module("eid.core.audit")
    importlib.import_module("eid.core.jobs")
    importlib.import_module("eid.core.throttle")


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, *, app_role: str | None = None) -> None:
    """Migrate as the owner at `url`; then `app_role` gets the application's grants (see
    eid.core.roles), in the same transaction, on every run: a table a later migration adds
    is covered as soon as it exists."""
    cfg = alembic_config(url)
    cfg.attributes["app_role"] = app_role
    command.upgrade(cfg, "head")
