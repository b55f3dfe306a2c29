"""A catalogue course's exam (its file's ``exam:`` mapping): checking that it can be set up, and
setting it up as the course's drawn paper ``<course code>-EXAM``.

The paper is kept with HR's own paper services (:mod:`lms.exams.admin`), so that its settings
are checked the same way and every change is audited like a change made on HR's pages. It is
published before the course is, so that the course's new version names it
(``snapshot["exam"]``). A file that drops its ``exam:`` unpublishes the paper: it is never
deleted, since attempts may refer to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from lms.courses.catalogue.reader import CourseData, DrawData, ExamData
from lms.courses.models import Course
from lms.exams.admin import (
    PaperFields,
    RuleFields,
    add_rule,
    create_paper,
    delete_rule,
    match_rules,
    set_published,
    update_paper,
)
from lms.exams.models import ExamDrawRule, ExamPaper, PaperKind
from lms.exams.services import rule_query
from lms.i18n import gettext as _
from lms.org.models import Employee
from lms.questions.models import QuestionBank
from lms.questions.types import registry
from lms.sheets import Problem

#: the paper has no opening or closing times of its own, so any zone reads them the same
_UTC = ZoneInfo("UTC")


def paper_code(course_code: str) -> str:
    """The code of a catalogue course's exam paper."""
    return f"{course_code}-EXAM"


def paper_title(course: CourseData) -> str:
    """The exam's title: as given, or the course's title followed by 考试."""
    assert course.exam is not None
    return course.exam.title or f"{course.title}考试"


def bank_ids(db: Session, exam: ExamData) -> dict[str, int]:
    """The ids of the exam's banks that are in the database, by code."""
    codes = {rule.bank for rule in exam.draw}
    query = sa.select(QuestionBank.code, QuestionBank.id).where(QuestionBank.code.in_(codes))
    return {code: bank_id for code, bank_id in db.execute(query)}


def _transient_rule(rule: DrawData, bank_id: int) -> ExamDrawRule:
    # Never added to the session: only to ask the draw's own query what the rule may take.
    return ExamDrawRule(
        bank_id=bank_id,
        type=rule.type,
        knowledge_point=rule.knowledge_point,
        difficulty=rule.difficulty,
        count=rule.count,
        points_each=rule.points_each,
    )


def check_exams(
    db: Session, courses: Sequence[CourseData], known_banks: set[str]
) -> tuple[list[Problem], list[Problem]]:
    """Errors and warnings about the courses' exams: unknown banks, rules that cannot all be met
    together by the enabled questions (checked when the banks are in the database), a paper code
    already used by another paper, and exams left for later because a shipped bank is not
    imported yet (a warning: the course is imported without its exam)."""
    errors: list[Problem] = []
    warnings: list[Problem] = []
    for course in courses:
        exam = course.exam
        if exam is None:
            continue
        unknown = False
        for rule in exam.draw:
            if rule.bank not in known_banks:
                unknown = True
                errors.append(
                    Problem(
                        course.file,
                        rule.lines.get("bank", rule.line),
                        "exam.draw.bank",
                        _("Unknown question bank %(code)s.", code=rule.bank),
                    )
                )
        if unknown:
            continue
        ids = bank_ids(db, exam)
        missing = sorted({rule.bank for rule in exam.draw} - set(ids))
        if missing:
            warnings.append(
                Problem(
                    course.file,
                    exam.line,
                    "exam",
                    _(
                        "The exam is left out for now: the question bank %(code)s is not in the "
                        "database yet. Import the banks, then this file again.",
                        code=missing[0],
                    ),
                )
            )
            continue
        errors.extend(_unmet_rules(db, course, exam, ids))
        errors.extend(_paper_taken(db, course))
    return errors, warnings


def _unmet_rules(
    db: Session, course: CourseData, exam: ExamData, ids: dict[str, int]
) -> list[Problem]:
    """A problem for each rule that cannot be filled with distinct enabled questions together
    with the others (the exact matching HR's preview uses)."""
    rules = [_transient_rule(rule, ids[rule.bank]) for rule in exam.draw]
    pools = [list(db.scalars(rule_query(rule))) for rule in rules]
    held = match_rules(pools, [rule.count for rule in rules])
    problems = []
    for number, (rule, pool, got) in enumerate(zip(exam.draw, pools, held, strict=True), 1):
        if len(got) < rule.count:
            problems.append(
                Problem(
                    course.file,
                    rule.line,
                    "exam.draw",
                    _(
                        "Draw rule %(n)d (bank %(bank)s) cannot be met: it needs %(count)d "
                        "questions, %(available)d enabled questions match it and %(together)d "
                        "can be drawn together with the other rules.",
                        n=number,
                        bank=rule.bank,
                        count=rule.count,
                        available=len(pool),
                        together=len(got),
                    ),
                )
            )
    return problems


def _paper_taken(db: Session, course: CourseData) -> list[Problem]:
    """A problem when the paper's code belongs to a paper that is not this course's drawn
    exam (another course's, a personal one, or a fixed paper with questions)."""
    code = paper_code(course.code)
    paper = db.scalar(sa.select(ExamPaper).where(ExamPaper.code == code))
    if paper is None:
        return []
    course_id = db.scalar(sa.select(Course.id).where(Course.code == course.code))
    if (
        paper.owner_id is not None
        or (paper.course_id is not None and paper.course_id != course_id)
        or (paper.kind is not PaperKind.drawn and paper.questions)
    ):
        return [
            Problem(
                course.file,
                course.exam.line if course.exam else None,
                "exam",
                _(
                    "The paper %(code)s already exists and is not this course's drawn exam: "
                    "rename or delete it on the exam papers page first.",
                    code=code,
                ),
            )
        ]
    return []


def _rule_key(bank: int, rule: DrawData | ExamDrawRule) -> tuple[object, ...]:
    return (
        bank,
        rule.type or None,
        rule.knowledge_point or None,
        rule.difficulty,
        rule.count,
        rule.points_each,
    )


def apply_exam(
    db: Session, course: Course, data: CourseData, *, actor: Employee | None, publish: bool
) -> bool:
    """Set up (or, without ``exam:``, unpublish) the course's exam paper; whether anything
    changed. Settings the file does not cover (opening times, grace period, partial credit)
    keep what HR gave them. With ``publish`` False a new paper stays unpublished, like the
    course. Raises :class:`lms.exams.admin.PaperError` if HR's checks refuse a value (the
    caller reports it)."""
    code = paper_code(course.code)
    paper = db.scalar(sa.select(ExamPaper).where(ExamPaper.code == code))
    exam = data.exam
    if exam is None:
        if paper is not None and paper.course_id == course.id and paper.published:
            set_published(db, actor, paper, False)
            return True
        return False
    ids = bank_ids(db, exam)
    if any(rule.bank not in ids for rule in exam.draw):
        return False  # a bank not imported yet: check_exams warned
    fields = PaperFields(
        code=code,
        title=paper_title(data),
        kind=PaperKind.drawn,
        course_id=course.id,
        opens_at=paper.opens_at if paper else None,
        closes_at=paper.closes_at if paper else None,
        time_limit_minutes=exam.time_limit_minutes,
        pass_mark=exam.pass_mark_percent,
        pass_mark_percent=True,
        max_attempts=exam.max_attempts,
        retake_wait_hours=exam.retake_wait_hours,
        shuffle_questions=exam.shuffle_questions,
        shuffle_options=exam.shuffle_options,
        review_policy=exam.review,
        multiple_choice_partial=paper.multiple_choice_partial if paper else False,
        grace_seconds=paper.grace_seconds if paper else 60,
        practice=False,
    )
    changed = False
    if paper is None:
        paper = create_paper(db, actor, fields, zone=_UTC)
        changed = True
    else:
        changed = update_paper(db, actor, paper, fields, zone=_UTC)[0]
    wanted = [_rule_key(ids[rule.bank], rule) for rule in exam.draw]
    if [_rule_key(rule.bank_id, rule) for rule in paper.rules] != wanted:
        for rule in list(paper.rules):
            delete_rule(db, actor, paper, rule)
        types = list(registry())
        for rule in exam.draw:
            add_rule(
                db,
                actor,
                paper,
                RuleFields(
                    bank_code=rule.bank,
                    type=rule.type or "",
                    knowledge_point=rule.knowledge_point or "",
                    difficulty=rule.difficulty,
                    count=rule.count,
                    points_each=rule.points_each,
                ),
                types=types,
            )
        changed = True
    if publish and not paper.published:
        set_published(db, actor, paper, True)
        changed = True
    return changed
