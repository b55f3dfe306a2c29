"""Question file formats: one module per format, each with ``read`` (and ``write`` where the
format is writable), and detection of a file's format from its content.

A reader takes the file's bytes and name and returns a :class:`ParsedFile`: questions (with the
line each starts on), and problems naming the file, the line (or row) and column. A reader
never raises for bad content: everything wrong with the file is a problem in the result, so
that an import can refuse the whole file with every reason at once.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from lms.questions.data import QuestionData
from lms.sheets import Problem

#: Largest question file accepted, before any parsing.
MAX_FILE_BYTES = 20 * 1024 * 1024


@dataclass
class ParsedFile:
    file: str
    questions: list[QuestionData] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    #: bank details the file states (the native YAML's ``bank:``; a Moodle category)
    bank: dict[str, Any] = field(default_factory=dict)
    #: the QuestionData fields the file's format can hold (None: all of them); an import keeps
    #: the other fields of questions already in the bank
    carries: frozenset[str] | None = None

    def error(self, line: int | None, message: str, column: str | None = None) -> None:
        self.errors.append(Problem(self.file, line, column, message))

    def warning(self, line: int | None, message: str, column: str | None = None) -> None:
        self.warnings.append(Problem(self.file, line, column, message))


@dataclass(frozen=True)
class Format:
    """A file format: how to recognise it, read it and (optionally) write it."""

    name: str
    label: str
    extensions: tuple[str, ...]
    sniff: Callable[[bytes, str], bool]
    read: Callable[[bytes, str], ParsedFile]
    #: ``write(questions, bank)`` -> file bytes; None for read-only formats
    write: Callable[..., bytes] | None = None


def format_module(fmt: Format) -> ModuleType:
    """The module (or package) of a format, where it declares ``TYPES`` (what its writer can
    write) and ``CARRIES`` (the fields a write and a read keep)."""
    return importlib.import_module(fmt.read.__module__)


def formats() -> dict[str, Format]:
    """Every format, in the order detection tries them (most specific first)."""
    from lms.questions.formats import aiken, gift, moodlexml, native, qti, sheet

    found = [
        native.FORMAT,
        moodlexml.FORMAT,
        qti.FORMAT,
        sheet.XLSX,
        sheet.CSV,
        aiken.FORMAT,
        gift.FORMAT,
    ]
    return {f.name: f for f in found}


def writable_formats() -> dict[str, Format]:
    return {name: f for name, f in formats().items() if f.write is not None}


def detect(data: bytes, file: str) -> Format | None:
    """The format of a file, judged from its content (the name's extension only breaks ties)."""
    candidates = [f for f in formats().values() if f.sniff(data, file)]
    if not candidates:
        return None
    by_extension = [f for f in candidates if file.lower().endswith(f.extensions)]
    return (by_extension or candidates)[0]


def read_file(data: bytes, file: str, format_name: str | None = None) -> ParsedFile:
    """Detect (or take) the format and read the file; a file nobody recognises is one error."""
    from lms.i18n import gettext as _

    if len(data) > MAX_FILE_BYTES:
        parsed = ParsedFile(file)
        parsed.error(None, _("The file is larger than %(mb)d MB.", mb=MAX_FILE_BYTES // 2**20))
        return parsed
    chosen = formats()[format_name] if format_name else detect(data, file)
    if chosen is None:
        parsed = ParsedFile(file)
        parsed.error(
            None,
            _(
                "Unknown question file format: expected GIFT, Aiken, Moodle XML, QTI, "
                "a CSV/XLSX sheet or YAML."
            ),
        )
        return parsed
    parsed = chosen.read(data, file)
    parsed.carries = getattr(format_module(chosen), "CARRIES", None)
    return parsed
