"""PostgreSQL in production: the pool settings reach the engine, and a runaway statement is
stopped by the server's statement timeout."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from lms.db import Database


def test_pool_settings_reach_the_engine(database_url) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("pool settings are PostgreSQL's")
    database = Database(
        database_url, pool_size=3, max_overflow=4, pool_timeout_s=7, pool_recycle_s=600
    )
    try:
        pool = database.engine.pool
        assert (pool.size(), pool._max_overflow, pool._timeout, pool._recycle) == (3, 4, 7, 600)
    finally:
        database.dispose()


def test_statement_timeout_stops_a_runaway_statement(database_url) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no statement timeout")
    database = Database(database_url, statement_timeout_ms=200)
    try:
        with database.engine.connect() as connection:
            assert connection.exec_driver_sql("SHOW statement_timeout").scalar() == "200ms"
            with pytest.raises(sa.exc.OperationalError, match="statement timeout"):
                connection.exec_driver_sql("SELECT pg_sleep(2)")
    finally:
        database.dispose()


def test_the_app_has_a_statement_timeout_by_default(app, database_url) -> None:
    """LMS_DATABASE_STATEMENT_TIMEOUT_MS (60 s by default) reaches the app's connections (the
    migrations, run by the app fixture on the same engine, lift it for their transaction)."""
    database = app.extensions["lms"].db
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no statement timeout")
    with database.engine.connect() as connection:
        assert connection.exec_driver_sql("SHOW statement_timeout").scalar() == "1min"
