"""Imports of question files, run as jobs (web: background; CLI: progress bar).

One import takes one or more files, reads each with :func:`lms.questions.formats.read_file`
(format detected from content unless named), decides each file's bank (one bank chosen for all
of them, or the bank each file names in its header) and hands everything to
:func:`lms.questions.services.import_files`: all-or-nothing across the files.
"""

from __future__ import annotations

import contextlib
import copy
import importlib
import json
import os
import re
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from lms.i18n import gettext as _
from lms.jobs.services import JobContext, job
from lms.org.models import Employee
from lms.questions import services
from lms.questions.data import QuestionData
from lms.questions.formats import Format, ParsedFile, detect, formats, read_file
from lms.questions.models import Question, QuestionBank, QuestionVersion
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


def format_names() -> dict[str, str]:
    """Every name accepted for a format (``yaml`` is the native format's everyday name), each
    mapped to the format's own name."""
    names = {name: name for name in formats()}
    if "yaml" not in names and "native" in names:
        names["yaml"] = "native"
    return names


@dataclass(frozen=True)
class BankChoice:
    """Where the questions go: the bank ``code`` for every file (created, titled ``title``,
    when missing), or with an empty code the bank each file names."""

    code: str = ""
    title: str = ""


#: Every field of a question (what a format that says nothing about it is taken to carry).
ALL_FIELDS = frozenset(f.name for f in fields(QuestionData)) - {"line"}
#: Fields that make a question what it is: never taken over from the bank's version.
IDENTITY_FIELDS = frozenset({"type", "stem", "name", "external_id"})


@dataclass
class ReadFile:
    """A file as read: its questions and problems, and the fields its format can carry."""

    parsed: ParsedFile
    carries: frozenset[str] = ALL_FIELDS


def carried_fields(fmt: Format | None) -> frozenset[str]:
    """The question fields ``fmt`` keeps (its module's ``CARRIES``; all when it says nothing)."""
    if fmt is None:
        return ALL_FIELDS
    carries = getattr(importlib.import_module(fmt.read.__module__), "CARRIES", None)
    return ALL_FIELDS if carries is None else frozenset(carries)


def read_files(
    files: Sequence[tuple[str, bytes]], format_name: str | None = None
) -> list[ReadFile]:
    """Read each ``(name, bytes)`` file, in the format named or else the one detected."""
    chosen = formats().get(format_names().get(format_name, "")) if format_name else None
    found = []
    for name, data in files:
        fmt = chosen or detect(data, name)
        found.append(
            ReadFile(read_file(data, name, fmt.name if fmt else None), carried_fields(fmt))
        )
    return found


def _current_by_key(db: Session, bank: QuestionBank, keys: set[str]) -> dict[str, QuestionData]:
    """The current version of the bank's questions with these keys."""
    found: dict[str, QuestionData] = {}
    ordered = sorted(keys)
    for start in range(0, len(ordered), 500):  # bounded IN lists (SQLite's variable limit)
        rows = db.execute(
            sa.select(Question.key, QuestionVersion.data)
            .join(
                QuestionVersion,
                sa.and_(
                    QuestionVersion.question_id == Question.id,
                    QuestionVersion.number == Question.current_number,
                ),
            )
            .where(Question.bank_id == bank.id, Question.key.in_(ordered[start : start + 500]))
        )
        found.update((key, QuestionData.from_dict(data)) for key, data in rows)
    return found


def keep_uncarried(db: Session, read: ReadFile, bank: QuestionBank) -> None:
    """Give the file's questions that are already in the bank the fields its format cannot
    hold (GIFT has no difficulty, points, knowledge points, posts or source), from their
    current version: re-importing a bank exported as GIFT changes nothing, and a question
    edited elsewhere keeps what the file could not say."""
    missing = ALL_FIELDS - read.carries - IDENTITY_FIELDS
    if not missing or not read.parsed.questions:
        return
    keys = {services.question_key(q): q for q in read.parsed.questions}
    for key, old in _current_by_key(db, bank, set(keys)).items():
        question = keys[key]
        if old.type == question.type:
            for name in missing:
                setattr(question, name, copy.deepcopy(getattr(old, name)))


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
    files: Sequence[ReadFile],
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
    for read in files:
        # An unreadable file may not even have a header: its own errors say enough.
        target = None if read.parsed.errors else _file_bank(db, read.parsed, bank)
        if target is not None:
            keep_uncarried(db, read, target)
            pairs.append((read.parsed, target))
    if len(pairs) < len(files):
        # Still validate every question, so that one run reports every problem at once.
        result = ImportResult()
        for read in files:
            services.validate(read.parsed, types)
            result.errors.extend(read.parsed.errors)
            result.warnings.extend(read.parsed.warnings)
        return result
    return services.import_files(db, pairs, types=types, actor=actor, progress=progress)


# Uploads waiting between preview and confirm ------------------------------------------------

UPLOAD_MAX_AGE_S = 24 * 3600


def store_uploads(folder: Path, files: Sequence[tuple[str, bytes]], params: dict[str, Any]) -> str:
    """Keep uploaded files (that passed their preview) until confirmed; returns the token.
    Uploads older than a day, previewed but never confirmed, are removed on the way."""
    folder.mkdir(parents=True, exist_ok=True)
    now = time.time()
    for old in folder.iterdir():
        with contextlib.suppress(OSError):
            if old.is_file() and now - old.stat().st_mtime > UPLOAD_MAX_AGE_S:
                old.unlink()
    token = secrets.token_urlsafe(16)
    names = []
    for number, (name, data) in enumerate(files):
        (folder / f"{token}.{number}").write_bytes(data)
        names.append(name)
    (folder / f"{token}.json").write_text(json.dumps({"files": names, **params}))
    return token


def claim_uploads(folder: Path, token: str) -> dict[str, Any] | None:
    """The stored upload's parameters and files (``[{"file", "path"}]``), once: a second claim
    (a double click on confirm) gets None, so files are never imported twice."""
    if not token or not token.replace("-", "").replace("_", "").isalnum():
        return None
    claimed = folder / f"{token}.claimed"
    try:
        os.rename(folder / f"{token}.json", claimed)  # atomic: only one claim succeeds
    except OSError:
        return None
    meta = json.loads(claimed.read_text())
    claimed.unlink()
    names = meta.pop("files", [])
    files = [{"file": name, "path": str(folder / f"{token}.{n}")} for n, name in enumerate(names)]
    return {**meta, "files": files}


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
