"""Alembic environment: runs on the LMS app's own engine, with the LMS's own version table.

Run through ``lms init`` (or ``lms.migrate.upgrade(app)``), which passes the app in
``config.attributes["lms_app"]``. For ``alembic`` itself, ``LMS_DATABASE_URL`` names the database.
"""

from __future__ import annotations

from alembic import context

import lms.models  # noqa: F401  (every model, so that autogenerate sees all tables)
from lms.db import Base
from lms.migrate import COMPARE_OPTIONS

config = context.config
target_metadata = Base.metadata


def render_item(type_, obj, autogen_context):
    """Write UTC timestamps as plain ``sa.DateTime()``, so migrations import nothing from lms."""
    from lms.db import UTCDateTime

    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime()"
    return False


def run_migrations(connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=sqlite,
        render_item=render_item,
        **COMPARE_OPTIONS,
    )
    if sqlite:
        # Batch mode rebuilds a table by copy, drop and rename, which foreign keys would refuse.
        # The pragma is a no-op inside a transaction, so it goes to the driver before BEGIN.
        _sqlite_foreign_keys(connection, on=False)
    try:
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                # building an index over millions of rows may take longer than a request may
                context.execute("SET LOCAL statement_timeout = 0")
            context.run_migrations()
        if sqlite:
            problems = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
            if problems:
                raise RuntimeError(f"foreign key violations after migrating: {problems}")
    finally:
        if sqlite:
            connection.rollback()  # nothing is left to roll back: it only ends the check's BEGIN
            _sqlite_foreign_keys(connection, on=True)


def _sqlite_foreign_keys(connection, *, on: bool) -> None:
    connection.connection.driver_connection.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


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
        literal_binds=True,
        **COMPARE_OPTIONS,
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    with engine().connect() as connection:
        run_migrations(connection)
