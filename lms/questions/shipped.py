"""The question banks that ship with the product (``question_banks/*.yaml``)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from lms.migrate import shipped_dir
from lms.org.models import Employee
from lms.questions.jobs import BankChoice, import_parsed, read_files
from lms.questions.types import TypeRegistry
from lms.sheets import ImportResult


def shipped_bank_files() -> list[Path]:
    """Every shipped bank file, in name order."""
    return sorted(shipped_dir("question_banks").glob("*.yaml"))


def import_shipped_banks(
    db: Session, *, types: TypeRegistry, actor: Employee | None = None
) -> ImportResult:
    """Import every shipped bank into the bank it names (the same as
    ``lms banks import question_banks/*.yaml``); the caller commits when the result is ok."""
    files = [(path.name, path.read_bytes()) for path in shipped_bank_files()]
    return import_parsed(db, read_files(files), bank=BankChoice(), types=types, actor=actor)
