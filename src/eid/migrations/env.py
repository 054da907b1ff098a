from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from eid.core.database import Base
from eid.core.schema import import_all_models

import_all_models()
target_metadata = Base.metadata


def run_migrations_online() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    assert url
    engine = create_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
            app_role = context.config.attributes.get("app_role")
            if app_role and not context.is_offline_mode():
                from eid.core.roles import apply_grants

                apply_grants(connection, app_role)
    engine.dispose()


run_migrations_online()
