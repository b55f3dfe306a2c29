"""Alembic, driven from the app: the LMS keeps its history in its own version table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask

VERSION_TABLE = "lms_alembic_version"
TABLE_PREFIX = "lms_"


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic's filter: only the LMS's own tables. A shared database may hold the host's tables
    too, and autogenerate must neither drop them nor report them as drift."""
    if type_ == "table":
        return bool(name) and name.startswith(TABLE_PREFIX) and name != VERSION_TABLE
    return True


#: How the models are compared with the database, by autogenerate and by :func:`schema_drift`.
COMPARE_OPTIONS: dict[str, Any] = {
    "version_table": VERSION_TABLE,
    "include_name": include_name,
    "compare_type": True,
}


def shipped_dir(name: str) -> Path:
    """A folder shipped beside the package (``migrations``, ``question_banks``, ``certificates``):
    inside the wheel under ``lms/_shipped/``, or at the top of a source checkout."""
    package = Path(__file__).resolve().parent
    for candidate in (package / "_shipped" / name, package.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"shipped folder {name!r} not found beside {package}")


def alembic_config(app: Flask) -> Config:
    config = Config()
    config.set_main_option("script_location", str(shipped_dir("migrations")))
    config.set_main_option("version_table", VERSION_TABLE)
    config.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(slug)s_%%(rev)s")
    config.attributes["lms_app"] = app
    return config


def upgrade(app: Flask, revision: str = "head") -> None:
    """Bring the LMS's tables to ``revision`` (default: the newest)."""
    with app.app_context():
        command.upgrade(alembic_config(app), revision)


def downgrade(app: Flask, revision: str) -> None:
    """Take the LMS's tables back to ``revision`` (``base``: none left; other tables stay)."""
    with app.app_context():
        command.downgrade(alembic_config(app), revision)


def current_revision(app: Flask) -> str | None:
    with app.extensions["lms"].db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def head_revision(app: Flask) -> str | None:
    return ScriptDirectory.from_config(alembic_config(app)).get_current_head()


def schema_drift(app: Flask) -> list[Any]:
    """Differences between the database's LMS tables and the models (empty: none).

    The same comparison as ``alembic revision --autogenerate``, with the same table filter, so
    that a non-empty answer is exactly what the next migration would have to contain.
    """
    from alembic.autogenerate import compare_metadata

    import lms.models  # noqa: F401  (every model, so that the metadata is complete)
    from lms.db import Base

    with app.extensions["lms"].db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts=COMPARE_OPTIONS)
        return compare_metadata(context, Base.metadata)
