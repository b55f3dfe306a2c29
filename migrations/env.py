"""Alembic environment: runs on the LMS app's own engine, with the LMS's own version table.

Run through ``lms init`` (or ``lms.migrate.upgrade(app)``), which passes the app in
``config.attributes["lms_app"]``. For ``alembic`` itself, ``LMS_DATABASE_URL`` names the database.
"""

from __future__ import annotations

from alembic import context

import lms.models  # noqa: F401  (every model, so that autogenerate sees all tables)
from lms.db import Base
from lms.migrate import VERSION_TABLE

config = context.config
target_metadata = Base.metadata


def include_name(name, type_, parent_names):
    """Only the LMS's own tables: a shared database may hold the host's tables too."""
    if type_ == "table":
        return name.startswith("lms_") and name != VERSION_TABLE
    return True


def render_item(type_, obj, autogen_context):
    """Write UTC timestamps as plain ``sa.DateTime()``, so migrations import nothing from lms."""
    from lms.db import UTCDateTime

    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime()"
    return False


def run_migrations(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table=VERSION_TABLE,
        include_name=include_name,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def engine():
    app = config.attributes.get("lms_app")
    if app is not None:
        return app.extensions["lms"].db.engine
    import os

    import sqlalchemy as sa

    return sa.create_engine(os.environ["LMS_DATABASE_URL"])


if context.is_offline_mode():
    context.configure(
        url=str(engine().url),
        target_metadata=target_metadata,
        version_table=VERSION_TABLE,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    with engine().connect() as connection:
        run_migrations(connection)
