"""Imports of question files, run as jobs (web: background; CLI: progress bar).

One import takes one or more files, reads each with :func:`lms.questions.formats.read_file`
(format detected from content unless named), decides each file's bank (one bank chosen for all
of them, or the bank each file names in its header) and hands everything to
:func:`lms.questions.services.import_files`: all-or-nothing across the files.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from lms.i18n import gettext as _
from lms.jobs.services import JobContext, job
from lms.org.models import Employee
from lms.questions import services
from lms.questions.formats import ParsedFile, read_file
from lms.questions.models import QuestionBank
from lms.questions.types import TypeRegistry
from lms.sheets import ImportResult, Problem

#: Bank codes as docs/question-bank-format.md defines them (they also appear in URLs).
BANK_CODE = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
#: Codes that would collide with the pages under ``/banks/``.
RESERVED_CODES = frozenset({"import"})


def bank_code_problem(code: str) -> str | None:
    """Why ``code`` cannot name a bank, or None when it can."""
    if not BANK_CODE.fullmatch(code):
        return _(
            "A bank code is 1 to 64 lower-case letters, digits and hyphens, "
            "starting with a letter or digit: %(code)s",
            code=code,
        )
    if code in RESERVED_CODES:
        return _("The bank code %(code)s is reserved.", code=code)
    return None


@dataclass(frozen=True)
class BankChoice:
    """Where the questions go: the bank ``code`` for every file (created, titled ``title``,
    when missing), or with an empty code the bank each file names."""

    code: str = ""
    title: str = ""


def read_files(
    files: Sequence[tuple[str, bytes]], format_name: str | None = None
) -> list[ParsedFile]:
    """Read each ``(name, bytes)`` file, in the format named or else the one detected."""
    return [read_file(data, name, format_name) for name, data in files]


def _file_bank(db: Session, parsed: ParsedFile, choice: BankChoice) -> QuestionBank | None:
    """The bank a file goes into, created or updated from the file's header; None (with an
    error added to the file) when there is none."""
    if choice.code:
        return services.get_or_create_bank(db, choice.code, title=choice.title)
    named = parsed.bank or {}
    code = str(named.get("code") or "").strip()
    if not code:
        parsed.error(
            None,
            _(
                "The file names no bank: choose a bank to import it into "
                "(--bank CODE on the command line)."
            ),
        )
        return None
    problem = bank_code_problem(code)
    if problem:
        parsed.error(None, problem)
        return None
    return services.get_or_create_bank(
        db,
        code,
        title=str(named.get("title") or "").strip()[:200],
        programme=str(named.get("programme") or "").strip()[:64],
        description=str(named.get("description") or "").strip(),
    )


def import_parsed(
    db: Session,
    files: Sequence[ParsedFile],
    *,
    bank: BankChoice,
    types: TypeRegistry,
    actor: Employee | None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Import read files into their banks, in ``db`` (not committed: the caller commits, or
    rolls back a dry run or a result with errors). Banks are created or updated on the way."""
    if bank.code and (problem := bank_code_problem(bank.code)):
        return ImportResult(errors=[Problem("--bank", None, None, problem)])
    pairs: list[tuple[ParsedFile, QuestionBank]] = []
    for parsed in files:
        # An unreadable file may not even have a header: its own errors say enough.
        target = None if parsed.errors else _file_bank(db, parsed, bank)
        if target is not None:
            pairs.append((parsed, target))
    if len(pairs) < len(files):
        # Still validate every question, so that one run reports every problem at once.
        result = ImportResult()
        for parsed in files:
            services.validate(parsed, types)
            result.errors.extend(parsed.errors)
            result.warnings.extend(parsed.warnings)
        return result
    return services.import_files(db, pairs, types=types, actor=actor, progress=progress)


@job("questions.import")
def import_job(
    ctx: JobContext,
    *,
    files: list[dict[str, str]],
    bank_code: str = "",
    bank_title: str = "",
    format: str | None = None,
    dry_run: bool = False,
    delete: bool = False,
) -> dict[str, Any]:
    """Import stored files (``[{"file": name, "path": path}]``); rolled back when there are
    errors or for a dry run. ``delete`` removes the files afterwards (web uploads; never files
    named on the command line)."""
    loaded: list[tuple[str, bytes]] = []
    try:
        for entry in files:
            loaded.append((entry["file"], Path(entry["path"]).read_bytes()))
    finally:
        if delete:
            for entry in files:
                with contextlib.suppress(OSError):
                    Path(entry["path"]).unlink()
    parsed = read_files(loaded, format)
    result = import_parsed(
        ctx.db,
        parsed,
        bank=BankChoice(bank_code, bank_title),
        types=ctx.app.extensions["lms"].question_types,
        actor=ctx.actor,
        progress=lambda done, total: ctx.progress(done, total),
    )
    if dry_run or not result.ok:
        ctx.db.rollback()
    return {"files": [name for name, _data in loaded], "dry_run": dry_run, **result.as_dict()}
