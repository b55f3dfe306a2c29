"""A catalogue course's ``exam:``: the published drawn paper ``<code>-EXAM`` it sets up before
the course is published, re-imports that change nothing, errors with file/line/field, rules
that cannot be met, and unpublishing when the file drops its exam."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from lms.audit.models import AuditEntry
from lms.courses.catalogue import import_catalogue
from lms.courses.models import Course, CourseVersion
from lms.exams.models import ExamDrawRule, ExamPaper, PaperKind, ReviewPolicy
from lms.questions.jobs import BankChoice, import_parsed, read_files
from lms.questions.models import Question, QuestionBank

BANK = """\
bank:
  code: exam-bank
  title: 考试题库
questions:
{questions}
"""
SINGLE = """\
  - id: S-{n}
    type: single_choice
    stem: 单选题{n}
    options: [甲, 乙, 丙]
    answer: A
    difficulty: {difficulty}
    knowledge_points: [{point}]
"""
TRUE_FALSE = """\
  - id: T-{n}
    type: true_false
    stem: 判断题{n}
    answer: true
    difficulty: 1
    knowledge_points: [服务承诺]
"""

COURSE = """\
course:
  code: X-101
  title: 考试课程
  programme: service_standards
  hours: 1
  banks: [exam-bank]
exam:
  time_limit_minutes: 30
  pass_mark_percent: 80
  max_attempts: 3
  retake_wait_hours: 24
  review: answers_at_once
  shuffle_questions: true
  shuffle_options: false
  draw:
    - bank: exam-bank
      type: single_choice
      count: 3
      points_each: 5
    - bank: exam-bank
      type: true_false
      knowledge_point: 服务承诺
      difficulty: 1
      count: 2
      points_each: 2.5
lessons:
  - title: 第一课
    body: 第一课的内容。
"""
NO_EXAM = COURSE.split("exam:\n")[0] + "lessons:" + COURSE.split("lessons:")[1]


@pytest.fixture
def app_config() -> dict[str, Any]:
    """English messages, which the assertions quote."""
    return {"LMS_DEFAULT_LOCALE": "en"}


@pytest.fixture
def exam_bank(app: Any, db: Any) -> None:
    """A bank of 4 single-choice questions (difficulty 2, one of them 3) and 2 true/false."""
    singles = "".join(
        SINGLE.format(n=n, difficulty=3 if n == 4 else 2, point="电费") for n in range(1, 5)
    )
    falses = "".join(TRUE_FALSE.format(n=n) for n in range(1, 3))
    text = BANK.format(questions=singles + falses)
    with app.app_context():
        result = import_parsed(
            db,
            read_files([("exam-bank.yaml", text.encode())]),
            bank=BankChoice(),
            types=app.extensions["lms"].question_types,
            actor=None,
        )
    assert result.ok, result.errors
    db.commit()


def run_import(app: Any, db: Any, text: str, *, name: str = "x.yaml", **options: Any) -> Any:
    with app.app_context():
        result = import_catalogue(db, [(name, text.encode())], actor=None, **options)
    if result.ok:
        db.commit()
    else:
        db.rollback()
    return result


def count(db: Any, model: Any) -> int:
    return db.scalar(sa.select(sa.func.count()).select_from(model))


def paper_of(db: Any) -> ExamPaper:
    db.expire_all()
    return db.scalar(sa.select(ExamPaper).where(ExamPaper.code == "X-101-EXAM"))


def test_exam_is_a_published_drawn_paper_the_version_names(app, db, exam_bank):
    """The import creates the paper with the file's settings and rules, published and linked to
    the course, before publishing the course: version 1's snapshot names it."""
    result = run_import(app, db, COURSE)
    assert (result.errors, result.warnings, result.imported) == ([], [], 1)
    paper = paper_of(db)
    course = db.scalar(sa.select(Course))
    assert (paper.kind, paper.published, paper.course_id) == (PaperKind.drawn, True, course.id)
    assert paper.title == "考试课程考试"  # the default: the course's title and 考试
    assert (paper.time_limit_minutes, paper.pass_mark, paper.pass_mark_percent) == (
        30,
        Decimal(80),
        True,
    )
    assert (paper.max_attempts, paper.retake_wait_hours, paper.review_policy) == (
        3,
        24,
        ReviewPolicy.answers_at_once,
    )
    assert (paper.shuffle_questions, paper.shuffle_options, paper.practice) == (True, False, False)
    bank = db.scalar(sa.select(QuestionBank))
    rules = [
        (r.bank_id, r.type, r.knowledge_point, r.difficulty, r.count, r.points_each)
        for r in paper.rules
    ]
    assert rules == [
        (bank.id, "single_choice", None, None, 3, Decimal(5)),
        (bank.id, "true_false", "服务承诺", 1, 2, Decimal("2.5")),
    ]
    version = db.scalar(sa.select(CourseVersion))
    assert version.number == 1
    assert version.snapshot["exam"] == {
        "paper_id": paper.id,
        "code": "X-101-EXAM",
        "title": "考试课程考试",
    }
    actions = set(db.scalars(sa.select(AuditEntry.action)))
    assert {"courses.import", "exam_paper.create", "exam_paper.publish"} <= actions


def test_reimport_changes_nothing(app, db, exam_bank):
    """The same file again: unchanged, no new version, no paper update, no audit entry."""
    run_import(app, db, COURSE)
    updated = paper_of(db).updated_at
    audits = count(db, AuditEntry)
    result = run_import(app, db, COURSE)
    assert (result.imported, result.unchanged, result.errors) == (0, 1, [])
    assert count(db, CourseVersion) == 1 and count(db, AuditEntry) == audits
    assert paper_of(db).updated_at == updated and count(db, ExamDrawRule) == 2


def test_changed_settings_and_rules_update_the_paper(app, db, exam_bank):
    """New settings update the same paper and replace its rules; a new title is a new version
    (the version names the exam's title), a new time limit is not."""
    run_import(app, db, COURSE)
    paper_id = paper_of(db).id
    result = run_import(app, db, COURSE.replace("count: 3", "count: 4"))
    assert (result.imported, result.details["new_versions"]) == (1, 0)
    paper = paper_of(db)
    assert paper.id == paper_id and [r.count for r in paper.rules] == [4, 2]
    titled = COURSE.replace("exam:\n", "exam:\n  title: 新考试\n")
    result = run_import(app, db, titled)
    assert (result.imported, result.details["new_versions"]) == (1, 1)
    version = db.scalar(sa.select(CourseVersion).where(CourseVersion.number == 2))
    assert version.snapshot["exam"]["title"] == "新考试"


def test_removing_the_exam_unpublishes_the_paper(app, db, exam_bank):
    """A file without exam: unpublishes the paper (kept for its attempts); the course's new
    version has no exam. Putting it back publishes it again."""
    run_import(app, db, COURSE)
    result = run_import(app, db, NO_EXAM)
    assert (result.imported, result.details["new_versions"], result.errors) == (1, 1, [])
    paper = paper_of(db)
    assert paper is not None and paper.published is False
    version = db.scalar(sa.select(CourseVersion).where(CourseVersion.number == 2))
    assert version.snapshot["exam"] is None
    assert run_import(app, db, NO_EXAM).unchanged == 1
    back = run_import(app, db, COURSE)
    assert back.details["new_versions"] == 1 and paper_of(db).published is True
    assert count(db, ExamPaper) == 1


def test_dry_run_changes_nothing(invoke, tmp_path, db, exam_bank):
    """`lms courses import --dry-run` reports the course and writes no paper."""
    path = tmp_path / "x.yaml"
    path.write_text(COURSE, encoding="utf-8")
    result = invoke("courses", "import", str(path), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "would import 1" in result.stdout
    assert count(db, ExamPaper) == count(db, Course) == 0


@pytest.fixture
def invoke(runner):
    from lms.cli import lms_commands

    def run(*args: str):
        return runner.invoke(lms_commands, list(args), catch_exceptions=False)

    return run


def edit(old: str, new: str) -> str:
    assert old in COURSE, old
    return COURSE.replace(old, new, 1)


BROKEN = [
    ("unknown key", edit("  max_attempts:", "  max_attempt:"), 10, "max_attempt", "did you mean"),
    ("negative", edit("retake_wait_hours: 24", "retake_wait_hours: -1"), 11,
     "exam.retake_wait_hours", "whole number from 0 to 8760"),
    ("text number", edit("time_limit_minutes: 30", "time_limit_minutes: 半小时"), 8,
     "exam.time_limit_minutes", "must be a number"),
    ("percent", edit("pass_mark_percent: 80", "pass_mark_percent: 120"), 9,
     "exam.pass_mark_percent", "from 0 to 100"),
    ("review", edit("review: answers_at_once", "review: always"), 12, "exam.review",
     "answers_after_close"),
    ("flag", edit("shuffle_options: false", "shuffle_options: 是"), 14, "exam.shuffle_options",
     "true or false"),
    ("draw missing", COURSE.split("  draw:")[0] + "lessons:" + COURSE.split("lessons:")[1], 7,
     "exam.draw", "no draw"),
    ("draw empty", COURSE.split("  draw:")[0] + "  draw: []\nlessons:" + COURSE.split(
        "lessons:")[1], 15, "exam.draw", "at least one draw rule"),
    ("draw key", edit("      count: 3", "      number: 3"), 18, "number", "Unknown field"),
    ("no count", edit("      count: 3\n", ""), 16, "exam.draw.count", "no count"),
    ("zero count", edit("count: 3", "count: 0"), 18, "exam.draw.count", "from 1 to 500"),
    ("points", edit("points_each: 5", "points_each: 0"), 19, "exam.draw.points_each", "above 0"),
    ("type", edit("type: single_choice", "type: single"), 17, "exam.draw.type",
     "Unknown question type single"),
    ("difficulty", edit("difficulty: 1", "difficulty: 7"), 23, "exam.draw.difficulty",
     "from 1 to 5"),
    ("bank", edit("bank: exam-bank\n      type: true", "bank: no-bank\n      type: true"), 20,
     "exam.draw.bank", "Unknown question bank no-bank"),
    ("exam not a mapping", COURSE.split("exam:")[0] + "exam: 30\nlessons:" + COURSE.split(
        "lessons:")[1], 7, "exam", "must be a mapping"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "text", "line", "field", "message"), BROKEN, ids=[c[0] for c in BROKEN]
)
def test_bad_exam_fields_are_named_and_change_nothing(
    app, db, exam_bank, case, text, line, field, message
):
    """Every bad exam field is an error at its line naming the field; nothing is written."""
    result = run_import(app, db, text)
    assert result.errors, case
    error = result.errors[0]
    assert (error.file, error.line, error.column) == ("x.yaml", line, field), result.errors
    assert message in error.message, error.message
    assert count(db, Course) == count(db, ExamPaper) == 0


def test_a_rule_that_cannot_be_met_is_an_error(app, db, exam_bank):
    """Rules needing more distinct enabled questions than the bank has are errors naming the
    rule; a disabled question does not count."""
    too_many = edit("count: 3", "count: 5")
    result = run_import(app, db, too_many)
    (error,) = result.errors
    assert (error.line, error.column) == (16, "exam.draw")
    assert "Draw rule 1 (bank exam-bank) cannot be met: it needs 5" in error.message
    assert "4 enabled questions match it" in error.message
    # Together: an "any type" rule of 6 cannot share the bank with the single-choice rule.
    overlapping = edit("      type: single_choice\n", "")
    overlapping = overlapping.replace("count: 3", "count: 5")
    result = run_import(app, db, overlapping)
    assert result.errors and "Draw rule 2" in result.errors[0].message
    assert "needs 2 questions" in result.errors[0].message
    assert "1 can be drawn together" in result.errors[0].message
    # Only enabled questions count.
    db.execute(sa.update(Question).where(Question.type == "true_false").values(enabled=False))
    db.commit()
    result = run_import(app, db, COURSE)
    assert result.errors and "Draw rule 2" in result.errors[0].message
    assert count(db, Course) == count(db, ExamPaper) == 0


def test_bank_not_imported_yet_is_a_warning(app, db):
    """A shipped bank that is not in the database yet: the course is imported without its exam
    and a warning says to import the banks first; importing again afterwards adds the exam."""
    text = COURSE.replace("exam-bank", "service-standards")
    result = run_import(app, db, text)
    assert result.ok and result.imported == 1
    (warning,) = result.warnings
    assert (warning.line, warning.column) == (7, "exam")
    assert "service-standards is not in the database" in warning.message
    assert count(db, ExamPaper) == 0


def test_a_paper_code_used_by_another_course_is_an_error(app, db, exam_bank):
    """The paper code belongs to another course's paper: an error, nothing written."""
    run_import(app, db, NO_EXAM.replace("X-101", "Y-101"))
    other = db.scalar(sa.select(Course))
    db.add(ExamPaper(code="X-101-EXAM", title="别的", course_id=other.id, kind=PaperKind.drawn))
    db.commit()
    result = run_import(app, db, COURSE)
    (error,) = result.errors
    assert (error.line, error.column) == (7, "exam") and "X-101-EXAM" in error.message
    assert count(db, Course) == 1
