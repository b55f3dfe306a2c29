"""Helpers for the org tests: sample files, building CSV files, running imports, counting rows."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from lms.org import services
from lms.org.models import Employee, EmployeeMove, Post, Unit
from lms.sheets import ImportResult, read_table

FILES = Path(__file__).parent / "files"


def csv_bytes(rows: list[list[Any]], encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


@pytest.fixture
def files() -> Path:
    """The folder of sample files (units.csv, employees.csv, employees_bad.csv)."""
    return FILES


@pytest.fixture
def import_units(app: Any, db: Any) -> Callable[..., ImportResult]:
    """``import_units(rows_or_bytes, file="units.csv")`` runs the units import in ``db`` and
    commits when it succeeded."""

    def run(data: list[list[Any]] | bytes, file: str = "units.csv") -> ImportResult:
        raw = data if isinstance(data, bytes) else csv_bytes(data)
        table = read_table(raw, file, services.UNIT_COLUMNS)
        with app.app_context():
            result = services.import_units(db, table, actor=None)
        if result.ok:
            db.commit()
        else:
            db.rollback()
        return result

    return run


@pytest.fixture
def import_employees(app: Any, db: Any) -> Callable[..., ImportResult]:
    """``import_employees(rows_or_bytes, file=..., actor=None, effective_on=None)`` runs the
    employees import in ``db`` and commits when it succeeded."""

    def run(
        data: list[list[Any]] | bytes,
        file: str = "employees.csv",
        actor: Employee | None = None,
        **kwargs: Any,
    ) -> ImportResult:
        raw = data if isinstance(data, bytes) else csv_bytes(data)
        table = read_table(raw, file, services.EMPLOYEE_COLUMNS)
        with app.app_context():
            result = services.import_employees(db, table, actor=actor, **kwargs)
        if result.ok:
            db.commit()
        else:
            db.rollback()
        return result

    return run


@pytest.fixture
def sample_units(
    import_units: Callable[..., ImportResult],
    units_by_code: Callable[[], dict[str, Unit]],
    files: Path,
) -> dict[str, Unit]:
    """The sample tree of units.csv (龙城供电局 and 6 units below it), by code."""
    result = import_units((files / "units.csv").read_bytes())
    assert result.ok, result.errors
    return units_by_code()


@pytest.fixture
def units_by_code(db: Any) -> Callable[[], dict[str, Unit]]:
    def load() -> dict[str, Unit]:
        db.expire_all()
        return {u.code: u for u in db.scalars(sa.select(Unit))}

    return load


@pytest.fixture
def counts(db: Any) -> Callable[[], dict[str, int]]:
    """``counts()``: rows in the org tables, to show that a failed import changed nothing."""

    def count() -> dict[str, int]:
        from lms.audit.models import AuditEntry

        db.rollback()
        return {
            model.__tablename__: db.scalar(sa.select(sa.func.count()).select_from(model))
            for model in (Unit, Employee, Post, EmployeeMove, AuditEntry)
        }

    return count


@pytest.fixture
def snapshot(db: Any) -> Callable[[], list[tuple[Any, ...]]]:
    """``snapshot()``: every employee's fields, to compare before and after an import."""

    def take() -> list[tuple[Any, ...]]:
        db.rollback()
        table = Employee.__table__
        columns = [c for c in table.c if c.name not in ("updated_at",)]
        return [tuple(r) for r in db.execute(sa.select(*columns).order_by(table.c.emp_no))]

    return take
