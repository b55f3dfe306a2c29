"""Writing a bank to a file in one of the writable formats (command line and web alike).

A format may not carry every question type (a spreadsheet has no room for matching pairs):
the export leaves such questions out and says which, so that the caller can refuse (command
line, unless told otherwise) or warn (web).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from lms.questions import services
from lms.questions.data import QuestionData
from lms.questions.formats import Format, format_module, writable_formats
from lms.questions.models import QuestionBank
from lms.questions.types import TypeRegistry


def carries(fmt: Format, type_name: str, types: TypeRegistry) -> bool:
    """Whether ``fmt`` can hold questions of ``type_name``: the type must list the format,
    and the format's module (when it says) must list the type."""
    question_type = types.get(type_name)
    if question_type is None or fmt.name not in question_type.formats:
        return False
    module_types = getattr(format_module(fmt), "TYPES", None)
    return module_types is None or type_name in module_types


def why_unwritable(fmt: Format, question: QuestionData, types: TypeRegistry) -> str | None:
    """Why ``fmt`` cannot hold ``question`` (its type; or the format's own reason, such as a
    GIFT fill-in with two blanks), or None when it can."""
    if not carries(fmt, question.type, types):
        return question.type
    unwritable = getattr(format_module(fmt), "unwritable", None)
    return unwritable(question) if unwritable is not None else None


@dataclass
class Export:
    """A written file, and the questions left out of it (how many, by reason)."""

    body: bytes
    count: int
    filename: str
    left_out: Counter[str] = field(default_factory=Counter)

    def left_out_text(self) -> str:
        """``matching × 3; A GIFT fill-in question has exactly one blank. × 1``."""
        return "; ".join(f"{reason} × {number}" for reason, number in sorted(self.left_out.items()))


def bank_header(bank: QuestionBank) -> dict[str, str]:
    """What writers get to describe the bank (the native format's ``bank:``)."""
    return {
        "code": bank.code,
        "title": bank.title,
        "programme": bank.programme,
        "description": bank.description,
    }


def export_bank(
    db: Session,
    bank: QuestionBank,
    fmt: Format,
    *,
    types: TypeRegistry,
    enabled_only: bool = False,
) -> Export:
    """The bank's current questions written in ``fmt``, leaving out those it cannot hold."""
    kept: list[QuestionData] = []
    left_out: Counter[str] = Counter()
    for question in services.bank_questions(db, bank, enabled_only=enabled_only):
        reason = why_unwritable(fmt, question, types)
        if reason is None:
            kept.append(question)
        else:
            left_out[reason] += 1
    assert fmt.write is not None
    body = fmt.write(kept, bank_header(bank))
    return Export(body, len(kept), f"{bank.code}{fmt.extensions[0]}", left_out)


def left_out_by_format(
    db: Session, bank: QuestionBank, types: TypeRegistry
) -> list[tuple[str, Counter[str]]]:
    """For each writable format (by everyday name): the bank's questions it would leave out,
    counted by reason. For the export page, before anything is downloaded."""
    questions = services.bank_questions(db, bank)
    found = []
    for name, fmt in sorted(writable_formats().items()):
        reasons: Counter[str] = Counter()
        for question in questions:
            reason = why_unwritable(fmt, question, types)
            if reason is not None:
                reasons[reason] += 1
        found.append((name, reasons))
    return found
