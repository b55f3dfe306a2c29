"""Question bank services: import (all-or-nothing, versioned), edit, enable, search, export."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from lms.audit.services import record as audit
from lms.db import Page
from lms.i18n import gettext as _
from lms.org.models import Employee
from lms.questions.data import QuestionData
from lms.questions.formats import ParsedFile
from lms.questions.html import html_to_text
from lms.questions.models import Question, QuestionBank, QuestionLabel, QuestionVersion
from lms.questions.types import TypeRegistry
from lms.sheets import ImportResult, Problem

LABEL_FIELDS = {"knowledge_point": "knowledge_points", "post": "posts", "tag": "tags"}


def question_key(question: QuestionData) -> str:
    """A question's identity in its bank: the file's id when it has one, else a digest of its
    type, name and text (so re-importing the same file finds the same questions)."""
    if question.external_id.strip():
        return "id:" + question.external_id.strip()[:190]
    text = " ".join(html_to_text(question.stem).split())
    digest = hashlib.sha256(
        f"{question.type}\0{question.name.strip()}\0{text}".encode()
    ).hexdigest()
    return "hash:" + digest


def validate(parsed: ParsedFile, types: TypeRegistry) -> None:
    """Add an error to ``parsed`` for every question of an unknown type or that its type
    refuses, naming the question's line."""
    for question in parsed.questions:
        if question.type not in types:
            parsed.error(question.line, _("Unknown question type %(type)s.", type=question.type))
            continue
        for message in types[question.type].validate(question):
            parsed.error(question.line, message)


def get_bank(db: Session, code: str) -> QuestionBank | None:
    return db.scalar(sa.select(QuestionBank).where(QuestionBank.code == code))


def get_or_create_bank(
    db: Session, code: str, *, title: str = "", programme: str = "", description: str = ""
) -> QuestionBank:
    """The bank with ``code``; created (titled ``title`` or the code) when missing. A title,
    programme or description given for an existing bank updates it."""
    bank = get_bank(db, code)
    if bank is None:
        bank = QuestionBank(
            code=code, title=title or code, programme=programme, description=description
        )
        db.add(bank)
        db.flush()
        return bank
    for attribute, value in (
        ("title", title),
        ("programme", programme),
        ("description", description),
    ):
        if value and getattr(bank, attribute) != value:
            setattr(bank, attribute, value)
    return bank


def _current_hashes(db: Session, bank: QuestionBank) -> dict[str, tuple[Question, str]]:
    rows = db.execute(
        sa.select(Question, QuestionVersion.content_hash)
        .join(
            QuestionVersion,
            sa.and_(
                QuestionVersion.question_id == Question.id,
                QuestionVersion.number == Question.current_number,
            ),
        )
        .where(Question.bank_id == bank.id)
    ).all()
    return {question.key: (question, content_hash) for question, content_hash in rows}


def _copy_current(question: Question, data: QuestionData) -> None:
    question.type = data.type
    question.difficulty = data.difficulty
    question.text = html_to_text(data.stem)[:4000]


def _replace_labels(db: Session, question: Question, data: QuestionData) -> None:
    db.execute(sa.delete(QuestionLabel).where(QuestionLabel.question_id == question.id))
    for kind, attribute in LABEL_FIELDS.items():
        for value in dict.fromkeys(v.strip() for v in getattr(data, attribute) if v.strip()):
            db.add(QuestionLabel(question_id=question.id, kind=kind, value=value[:200]))


def add_version(
    db: Session, question: Question, data: QuestionData, *, actor: Employee | None, origin: str
) -> QuestionVersion:
    """Store ``data`` as the question's next version and make it current."""
    number = (
        db.scalar(
            sa.select(sa.func.max(QuestionVersion.number)).where(
                QuestionVersion.question_id == question.id
            )
        )
        or 0
    ) + 1
    version = QuestionVersion(
        question_id=question.id,
        number=number,
        data=data.as_dict(),
        content_hash=data.content_hash(),
        created_by_id=actor.id if actor else None,
        origin=origin[:300],
    )
    db.add(version)
    question.current_number = number
    _copy_current(question, data)
    _replace_labels(db, question, data)
    return version


def _keep_uncarried(
    db: Session, question: Question, imported: QuestionData, carries: frozenset[str]
) -> QuestionData:
    """``imported`` with the fields its format cannot hold taken from the question's current
    version: re-importing a GIFT export must not wipe the difficulty or the knowledge points."""
    merged = current_data(db, question)
    if merged.type != imported.type:
        return imported  # another kind of question now: nothing of the old one applies
    for name in carries:
        setattr(merged, name, getattr(imported, name))
    merged.line = imported.line
    return merged


def _insert_new(
    db: Session, created: list[tuple[Question, QuestionData, str]], *, actor: Employee | None
) -> None:
    """Insert new questions with their first version and labels in bulk: one flush for the
    questions (their ids come back in batches), then multi-row inserts for the rest."""
    if not created:
        return
    db.add_all([question for question, _data, _origin in created])
    db.flush()
    actor_id = actor.id if actor else None
    db.execute(
        sa.insert(QuestionVersion),
        [
            {
                "question_id": q.id,
                "number": 1,
                "data": data.as_dict(),
                "content_hash": data.content_hash(),
                "created_by_id": actor_id,
                "origin": origin[:300],
            }
            for q, data, origin in created
        ],
    )
    labels = [
        {"question_id": q.id, "kind": kind, "value": value[:200]}
        for q, data, _origin in created
        for kind, value in dict.fromkeys((k, v.strip()) for k, v in iter_labels(data) if v.strip())
    ]
    if labels:
        db.execute(sa.insert(QuestionLabel), labels)


@dataclass
class ImportPlan:
    """What importing a set of files into banks does: counted before anything is written."""

    created: int = 0
    new_versions: int = 0
    unchanged: int = 0


def import_files(
    db: Session,
    files: Sequence[tuple[ParsedFile, QuestionBank]],
    *,
    types: TypeRegistry,
    actor: Employee | None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Import parsed files, each into its bank; all-or-nothing across every file.

    Every question is validated by its type first; any error in any file changes nothing. A
    question already in the bank with the same content is unchanged; with other content it
    gets a new version; otherwise it is created. A question repeated within the import is
    imported once (a warning names both places). The caller commits, or rolls back a dry run.
    ``progress(done, total)`` hears how many questions have been stored, now and then.
    """
    result = ImportResult()
    for parsed, _bank in files:
        validate(parsed, types)
        result.errors.extend(parsed.errors)
        result.warnings.extend(parsed.warnings)
    if result.errors:
        return result

    plan = ImportPlan()
    total = sum(len(parsed.questions) for parsed, _bank in files)
    done = 0
    created: list[tuple[Question, QuestionData, str]] = []
    banks: dict[int, dict[str, tuple[Question, str]]] = {}
    seen: dict[tuple[int, str], Problem] = {}
    positions: dict[int, int] = {}
    #: per bank code: [new questions, new versions] (one audit entry per bank changed)
    changed: dict[str, list[int]] = {}
    for parsed, bank in files:
        counts = changed.setdefault(bank.code, [0, 0])
        existing = banks.setdefault(bank.id, _current_hashes(db, bank))
        if bank.id not in positions:  # several files may go into one bank: count on from the last
            positions[bank.id] = (
                db.scalar(
                    sa.select(sa.func.max(Question.position)).where(Question.bank_id == bank.id)
                )
                or 0
            )
        for question_data in parsed.questions:
            done += 1
            if progress is not None and done % 100 == 0:
                progress(done, total)
            key = question_key(question_data)
            here = Problem(parsed.file, question_data.line, None, "")
            if (bank.id, key) in seen:
                first = seen[(bank.id, key)]
                result.warnings.append(
                    Problem(
                        parsed.file,
                        question_data.line,
                        None,
                        _(
                            "The same question as %(place)s: imported once.",
                            place=f"{first.file}:{first.line}",
                        ),
                    )
                )
                continue
            seen[(bank.id, key)] = here
            content_hash = question_data.content_hash()
            if key in existing:
                question, current_hash = existing[key]
                if current_hash != content_hash and parsed.carries is not None:
                    question_data = _keep_uncarried(db, question, question_data, parsed.carries)
                    content_hash = question_data.content_hash()
                if current_hash == content_hash:
                    plan.unchanged += 1
                    continue
                add_version(db, question, question_data, actor=actor, origin=parsed.file)
                existing[key] = (question, content_hash)
                plan.new_versions += 1
                counts[1] += 1
                continue
            positions[bank.id] += 1
            question = Question(
                bank_id=bank.id, key=key, current_number=1, position=positions[bank.id]
            )
            _copy_current(question, question_data)
            created.append((question, question_data, parsed.file))
            existing[key] = (question, content_hash)
            plan.created += 1
            counts[0] += 1
    _insert_new(db, created, actor=actor)
    db.flush()
    if progress is not None:
        progress(total, total)
    result.imported = plan.created + plan.new_versions
    result.unchanged = plan.unchanged
    result.details = {
        "created": plan.created,
        "new_versions": plan.new_versions,
        "banks": sorted({bank.code for _parsed, bank in files}),
    }
    for code, (new, versions_added) in sorted(changed.items()):
        if new or versions_added:  # per bank: a list of codes would outgrow the audit's id
            audit(
                db,
                actor=actor,
                action="questions.import",
                object_type="question_bank",
                object_id=code,
                summary=f"{new} new, {versions_added} new versions",
                after={
                    "created": new,
                    "new_versions": versions_added,
                    "files": sorted({parsed.file for parsed, bank in files if bank.code == code}),
                },
            )
    return result


def current_data(db: Session, question: Question) -> QuestionData:
    version = db.scalar(
        sa.select(QuestionVersion).where(
            QuestionVersion.question_id == question.id,
            QuestionVersion.number == question.current_number,
        )
    )
    return QuestionData.from_dict(version.data)


def bank_questions(
    db: Session, bank: QuestionBank, *, enabled_only: bool = False
) -> list[QuestionData]:
    """The current version of every question of a bank, in bank order (for writers)."""
    stmt = (
        sa.select(QuestionVersion.data)
        .join(
            Question,
            sa.and_(
                QuestionVersion.question_id == Question.id,
                QuestionVersion.number == Question.current_number,
            ),
        )
        .where(Question.bank_id == bank.id)
        .order_by(Question.position, Question.id)
    )
    if enabled_only:
        stmt = stmt.where(Question.enabled.is_(True))
    return [QuestionData.from_dict(data) for data in db.scalars(stmt)]


def edit_question(
    db: Session, actor: Employee, question: Question, data: QuestionData, *, types: TypeRegistry
) -> QuestionVersion | None:
    """Save an edit as a new version (None when nothing changed). Raises ValueError with the
    type's messages when the edited question is not valid."""
    problems = types.for_question(data).validate(data)
    if problems:
        raise ValueError("; ".join(problems))
    data.external_id = current_data(db, question).external_id
    if data.content_hash() == db.scalar(
        sa.select(QuestionVersion.content_hash).where(
            QuestionVersion.question_id == question.id,
            QuestionVersion.number == question.current_number,
        )
    ):
        return None
    version = add_version(db, question, data, actor=actor, origin="edit")
    audit(
        db,
        actor=actor,
        action="question.edit",
        object_type="question",
        object_id=question.id,
        summary=f"version {version.number}",
    )
    db.flush()
    return version


def set_enabled(db: Session, actor: Employee, question: Question, enabled: bool) -> None:
    """Enable or disable a question (disabled questions are never drawn for exams)."""
    if question.enabled != enabled:
        question.enabled = enabled
        audit(
            db,
            actor=actor,
            action="question.enable" if enabled else "question.disable",
            object_type="question",
            object_id=question.id,
        )
        db.flush()


def versions(db: Session, question: Question) -> Sequence[QuestionVersion]:
    return db.scalars(
        sa.select(QuestionVersion)
        .where(QuestionVersion.question_id == question.id)
        .order_by(QuestionVersion.number.desc())
    ).all()


def search_questions(
    db: Session,
    *,
    bank: QuestionBank | None = None,
    type: str | None = None,
    difficulty: int | None = None,
    knowledge_point: str | None = None,
    post: str | None = None,
    text: str = "",
    enabled: bool | None = None,
    page: int = 1,
    page_size: int = 50,
) -> Page[Question]:
    """Questions filtered by bank, type, difficulty, knowledge point, post, words and state."""
    conditions: list[Any] = []
    if bank is not None:
        conditions.append(Question.bank_id == bank.id)
    if type:
        conditions.append(Question.type == type)
    if difficulty:
        conditions.append(Question.difficulty == difficulty)
    if enabled is not None:
        conditions.append(Question.enabled.is_(enabled))
    if text.strip():
        conditions.append(Question.text.contains(text.strip(), autoescape=True))
    for kind, value in (("knowledge_point", knowledge_point), ("post", post)):
        if value:
            conditions.append(
                Question.id.in_(
                    sa.select(QuestionLabel.question_id).where(
                        QuestionLabel.kind == kind, QuestionLabel.value == value
                    )
                )
            )
    total = db.scalar(sa.select(sa.func.count()).select_from(Question).where(*conditions)) or 0
    items = db.scalars(
        sa.select(Question)
        .where(*conditions)
        .order_by(Question.bank_id, Question.position, Question.id)
        .limit(page_size)
        .offset((max(1, page) - 1) * page_size)
    ).all()
    return Page(items, total, max(1, page), page_size)


def label_values(db: Session, kind: str, bank: QuestionBank | None = None) -> list[str]:
    """Every knowledge point (or post, tag) in use, for filter menus."""
    stmt = (
        sa.select(QuestionLabel.value)
        .where(QuestionLabel.kind == kind)
        .distinct()
        .order_by(QuestionLabel.value)
    )
    if bank is not None:
        stmt = stmt.join(Question, Question.id == QuestionLabel.question_id).where(
            Question.bank_id == bank.id
        )
    return list(db.scalars(stmt))


def banks_with_counts(db: Session) -> list[tuple[QuestionBank, int, int]]:
    """Every bank with its number of questions and of enabled questions."""
    rows = db.execute(
        sa.select(
            QuestionBank,
            sa.func.count(Question.id),
            sa.func.count(Question.id).filter(Question.enabled.is_(True)),
        )
        .outerjoin(Question, Question.bank_id == QuestionBank.id)
        .group_by(QuestionBank.id)
        .order_by(QuestionBank.code)
    ).all()
    return [(bank, total, enabled) for bank, total, enabled in rows]


def iter_labels(data: QuestionData) -> Iterable[tuple[str, str]]:
    for kind, attribute in LABEL_FIELDS.items():
        for value in getattr(data, attribute):
            yield kind, value
