from __future__ import annotations

from alembic import command

from eid.core.schema import alembic_config


def test_models_and_migrations_do_not_drift(database_url: str) -> None:
    """`alembic check`: the test database, built by the migrations, matches the models."""
    command.check(alembic_config(database_url))
