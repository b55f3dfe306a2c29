"""The migrations build exactly the models' schema, in their own version table, beside a host's
tables, on SQLite and PostgreSQL (each test on a fresh, empty database of its own)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from lms.cli import lms_commands
from lms.migrate import (
    VERSION_TABLE,
    current_revision,
    downgrade,
    head_revision,
    schema_drift,
    upgrade,
)


@pytest.fixture(scope="session")
def fixtures_module(pytestconfig: pytest.Config) -> Any:
    """tests/conftest.py as pytest loaded it, for its database helpers (a deeper conftest.py
    may hold the name ``conftest`` in ``sys.modules``, so a plain import is unreliable)."""
    path = str(Path(__file__).with_name("conftest.py"))
    for plugin in pytestconfig.pluginmanager.get_plugins():
        if getattr(plugin, "__file__", None) == path:
            return plugin
    raise LookupError(path)


@pytest.fixture(params=("sqlite", "postgresql"))
def empty_url(request: pytest.FixtureRequest, fixtures_module: Any, tmp_path: Any) -> Iterator[str]:
    """The URL of a new, empty database (dropped afterwards), on each backend in turn."""
    wanted = {name.strip() for name in request.config.getoption("--db").split(",")}
    if request.param not in wanted:
        pytest.skip(f"{request.param} not selected with --db")
    if request.param == "sqlite":
        yield "sqlite:///" + str(tmp_path / "fresh.db")
        return
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    url = fixtures_module._create_postgres_database(f"{worker}_fresh")
    yield url
    fixtures_module._drop_postgres_database(url)


@pytest.fixture
def fresh_app(empty_url: str, fixtures_module: Any, tmp_path: Any) -> Iterator[Any]:
    """A standalone app on the empty database (nothing migrated yet)."""
    application = fixtures_module.make_app(empty_url, tmp_path / "instance")
    yield application
    application.extensions["lms"].job_runner.shutdown()
    application.extensions["lms"].db.dispose()


def table_names(app: Any) -> set[str]:
    return set(sa.inspect(app.extensions["lms"].db.engine).get_table_names())


def test_upgrade_builds_the_models_schema(fresh_app):
    """Upgrading an empty database to head leaves no difference between tables and models."""
    upgrade(fresh_app)
    assert schema_drift(fresh_app) == []
    assert current_revision(fresh_app) == head_revision(fresh_app)


def test_every_table_is_prefixed_and_history_has_own_table(fresh_app):
    """All tables start with lms_, and the revision is kept in lms_alembic_version."""
    upgrade(fresh_app)
    names = table_names(fresh_app)
    assert VERSION_TABLE == "lms_alembic_version"
    assert VERSION_TABLE in names
    assert "alembic_version" not in names
    assert all(name.startswith("lms_") for name in names)


def test_upgrading_twice_changes_nothing(fresh_app):
    """A second upgrade to head is a no-op: same revision, same tables, still no drift."""
    upgrade(fresh_app)
    before = (current_revision(fresh_app), table_names(fresh_app))
    upgrade(fresh_app)
    assert (current_revision(fresh_app), table_names(fresh_app)) == before
    assert schema_drift(fresh_app) == []


def test_lms_init_upgrades_a_fresh_database(fresh_app):
    """`lms init` brings an empty database to head and says which revision it is at."""
    assert current_revision(fresh_app) is None
    result = fresh_app.test_cli_runner().invoke(lms_commands, ["init"])
    assert result.exit_code == 0, result.output
    head = head_revision(fresh_app)
    assert head in result.output
    assert current_revision(fresh_app) == head
    assert schema_drift(fresh_app) == []


def test_drift_is_detected(fresh_app):
    """The drift check is not vacuous: a table dropped behind Alembic's back is reported."""
    upgrade(fresh_app)
    with fresh_app.extensions["lms"].db.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE lms_login_failure")
    assert any(
        diff[0] == "add_table" and diff[1].name == "lms_login_failure"
        for diff in schema_drift(fresh_app)
    )


def test_host_table_is_ignored_and_untouched(fresh_app):
    """A host's own table in the same database survives upgrade and downgrade, with its rows,
    and is not reported as drift."""
    engine = fresh_app.extensions["lms"].db.engine
    host = sa.MetaData()
    orders = sa.Table(
        "orders",
        host,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("what", sa.String(50)),
    )
    host.create_all(engine)
    with engine.begin() as connection:
        connection.execute(orders.insert(), [{"what": "meters"}, {"what": "cables"}])

    upgrade(fresh_app)
    assert schema_drift(fresh_app) == []
    assert "orders" in table_names(fresh_app)
    downgrade(fresh_app, "base")  # the downgrade drops the LMS's tables only
    assert table_names(fresh_app) == {"orders", VERSION_TABLE}
    with engine.connect() as connection:
        assert connection.execute(sa.select(orders.c.what).order_by("id")).scalars().all() == [
            "meters",
            "cables",
        ]
    assert sa.inspect(engine).get_columns("orders")[1]["name"] == "what"


@pytest.mark.parametrize("empty_url", ["sqlite"], indirect=True)
def test_sqlite_foreign_keys_are_on_after_migrating(fresh_app):
    """Migrations switch SQLite's foreign keys off for batch table rebuilds, then on again."""
    upgrade(fresh_app)
    engine = fresh_app.extensions["lms"].db.engine
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
