"""The course catalogue files: the shipped catalogue, upserts and versions, errors with file and
line, ``lms courses import`` and ``lms demo``."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from lms.cli import lms_commands
from lms.courses import services
from lms.courses.catalogue import (
    import_catalogue,
    import_shipped_catalogue,
    read_course_file,
    shipped_catalogue_files,
)
from lms.courses.models import CompletionRule, Course, CourseStatus, CourseVersion, Lesson
from lms.org.models import Post

SHIPPED = Path(__file__).resolve().parents[2] / "catalogue"

SAMPLE = """\
course:
  code: T-101
  title: 测试课程
  programme: service_standards
  hours: 2
  summary: 一门测试课程。
  audience: [营业窗口, 测试新岗位]
  completion_rule: viewed
  banks: [service-standards]
  prerequisites: []
lessons:
  - title: 第一课
    body: |
      ## 第一课
      第一课的内容。
  - title: 第二课
    video_url: https://video.example.cn/2.mp4
    body: 第二课的内容。
"""


@pytest.fixture
def app_config() -> dict[str, Any]:
    """English messages, which the assertions quote."""
    return {"LMS_DEFAULT_LOCALE": "en"}


def run_import(app: Any, db: Any, files: list[tuple[str, str]], **options: Any) -> Any:
    """Import ``(name, text)`` files and commit when the result is ok."""
    with app.app_context():
        result = import_catalogue(
            db, [(name, text.encode()) for name, text in files], actor=None, **options
        )
    if result.ok:
        db.commit()
    else:
        db.rollback()
    return result


def count(db: Any, model: Any) -> int:
    return db.scalar(sa.select(sa.func.count()).select_from(model))


def test_shipped_catalogue_imports_cleanly_and_again_unchanged(app, db):
    """After the shipped banks, the shipped catalogue imports with no errors or warnings,
    published, every course with its published drawn exam whose rules can be met (and whose
    version names it); again: unchanged."""
    from lms.exams.admin import check_rules
    from lms.exams.models import ExamPaper, PaperKind
    from lms.questions.shipped import import_shipped_banks

    files = shipped_catalogue_files()
    with app.app_context():
        assert import_shipped_banks(db, types=app.extensions["lms"].question_types).ok
        db.commit()
        result = import_shipped_catalogue(db)
    assert (result.errors, result.warnings) == ([], [])
    assert result.imported == len(files) == result.details["created"] >= 7
    db.commit()
    courses = db.scalars(sa.select(Course)).all()
    assert all(c.status is CourseStatus.published and c.current_version == 1 for c in courses)
    for course in courses:
        assert course.bank_codes, course.code
        paper = db.scalar(sa.select(ExamPaper).where(ExamPaper.course_id == course.id))
        assert paper is not None and paper.code == f"{course.code}-EXAM", course.code
        assert (paper.kind, paper.published, paper.practice) == (PaperKind.drawn, True, False)
        with app.app_context():
            preview = check_rules(db, paper)
        assert preview.feasible and preview.points == 100, course.code
        # Only automatically graded types: a course completes without waiting for a grader.
        assert {rule.type for rule in paper.rules} <= {
            "single_choice",
            "multiple_choice",
            "true_false",
        }, course.code
        version = services.version_of(db, course.id, 1)
        assert version.snapshot["exam"]["paper_id"] == paper.id, course.code
    safety = db.scalar(sa.select(ExamPaper).where(ExamPaper.code == "SR-101-EXAM"))
    assert (safety.pass_mark, safety.review_policy.value) == (80, "score")
    versions, papers = count(db, CourseVersion), count(db, ExamPaper)
    updated = set(db.scalars(sa.select(ExamPaper.updated_at)))
    with app.app_context():
        again = import_shipped_catalogue(db)
    assert (again.imported, again.unchanged, again.errors) == (0, len(files), [])
    db.commit()
    assert (count(db, CourseVersion), count(db, ExamPaper)) == (versions, papers)
    assert set(db.scalars(sa.select(ExamPaper.updated_at))) == updated


def test_shipped_catalogue_before_the_banks_warns_about_each_exam(app, db):
    """Before the banks are imported the courses import without exams, one warning each."""
    with app.app_context():
        result = import_shipped_catalogue(db)
    assert result.ok and len(result.warnings) == len(shipped_catalogue_files())
    assert all(w.column == "exam" for w in result.warnings)


def test_shipped_courses_are_complete(app):
    """Every shipped course has 3-5 lessons of real text, 1-4 hours and banks to draw on."""
    for name, data in shipped_catalogue_files():
        with app.app_context():
            course, problems = read_course_file(data, name)
        assert course is not None, problems
        assert 3 <= len(course.lessons) <= 5, name
        assert 1 <= course.hours <= 4 and course.banks and course.summary, name
        for lesson in course.lessons:
            assert len(re.sub(r"\s", "", lesson.body)) >= 300, (name, lesson.title)


def test_service_course_states_the_exact_commitments(app):
    """SS-101 states the service commitments as the source document gives them."""
    text = (SHIPPED / "service-standards.yaml").read_text(encoding="utf-8")
    for figure in ("45", "90", "2 小时", "5 声", "5 分钟", "5 个工作日", "7 天", "99.89%"):
        assert figure in text, figure
    for figure in ("99.4%", "95%", "90%", "24 小时"):
        assert figure in text, figure


def test_professional_ethics_courses_count_for_the_target(app, db):
    """The four professional-ethics modules are in the programme the 20% target counts."""
    with app.app_context():
        assert import_shipped_catalogue(db).ok
    codes = db.scalars(
        sa.select(Course.code)
        .where(Course.programme == "professional_ethics")
        .order_by(Course.code)
    ).all()
    assert {"PE-101", "PE-102", "PE-103", "PE-104"} <= set(codes)
    onboarding = db.scalar(sa.select(Course).where(Course.code == "MO-101"))
    assert onboarding.certificate_design == "onboarding"
    assert onboarding.completion_rule is CompletionRule.min_time


def test_import_creates_posts_and_publishes(app, db):
    """A new course is created and published; posts in its audience are created on first use."""
    result = run_import(app, db, [("t.yaml", SAMPLE)])
    assert (result.imported, result.unchanged, result.details["created"]) == (1, 0, 1)
    assert result.details["new_posts"] == ["营业窗口", "测试新岗位"]
    course = db.scalar(sa.select(Course))
    assert (course.code, course.status, course.current_version) == (
        "T-101",
        CourseStatus.published,
        1,
    )
    assert str(course.hours) == "2.0" and course.bank_codes == ["service-standards"]
    assert [lesson.title for lesson in course.lessons] == ["第一课", "第二课"]
    assert course.lessons[1].video_url == "https://video.example.cn/2.mp4"
    assert {p.name for p in course.audience} == {"营业窗口", "测试新岗位"}
    assert count(db, Post) == 2


def test_changed_lesson_makes_a_new_version_and_old_runs_keep_theirs(app, db, create_employee):
    """Editing one lesson publishes version 2; a run on version 1 keeps studying version 1, and
    the unchanged lesson keeps its id."""
    run_import(app, db, [("t.yaml", SAMPLE)])
    course = db.scalar(sa.select(Course))
    first_ids = [lesson.id for lesson in course.lessons]
    employee = create_employee()
    with app.app_context():
        run = services.start_run(db, employee, course)
    db.commit()
    changed = SAMPLE.replace("第二课的内容。", "第二课的新内容。")
    result = run_import(app, db, [("t.yaml", changed)])
    assert (result.imported, result.unchanged, result.details["new_versions"]) == (1, 0, 1)
    db.expire_all()
    course = db.scalar(sa.select(Course))
    assert course.current_version == 2
    assert [lesson.id for lesson in course.lessons] == first_ids
    assert db.get(type(run), run.id).version == 1
    with app.app_context():
        old = services.version_of(db, course.id, 1).snapshot["lessons"][1]["body"]
        new = services.version_of(db, course.id, 2).snapshot["lessons"][1]["body"]
    assert (old, new) == ("第二课的内容。", "第二课的新内容。")
    # A renamed lesson is a new lesson; the removed one goes.
    renamed = changed.replace("title: 第二课", "title: 第二课（修订）")
    run_import(app, db, [("t.yaml", renamed)])
    db.expire_all()
    lessons = db.scalars(sa.select(Lesson).order_by(Lesson.position)).all()
    assert lessons[0].id == first_ids[0] and lessons[1].id not in first_ids
    assert count(db, Lesson) == 2


def test_unchanged_import_changes_nothing(app, db):
    """The same file again: nothing imported, no new version, no audit entry."""
    from lms.audit.models import AuditEntry

    run_import(app, db, [("t.yaml", SAMPLE)])
    audits = count(db, AuditEntry)
    result = run_import(app, db, [("t.yaml", SAMPLE)])
    assert (result.imported, result.unchanged) == (0, 1)
    assert count(db, CourseVersion) == 1 and count(db, AuditEntry) == audits


def test_dry_run_without_publish_leaves_a_draft(app, db):
    """With publish=False a new course stays a draft with no version."""
    run_import(app, db, [("t.yaml", SAMPLE)], publish=False)
    course = db.scalar(sa.select(Course))
    assert (course.status, course.current_version) == (CourseStatus.draft, 0)


def edit(old: str, new: str) -> str:
    assert old in SAMPLE
    return SAMPLE.replace(old, new)


ALIAS = "audience: &a [营业窗口]\n  banks: *a"
BROKEN = [
    ("unknown field", edit("  summary:", "  sumary:"), 6, "did you mean summary"),
    ("unknown programme", edit("service_standards", "service"), 4, "Unknown programme"),
    ("bad hours", edit("hours: 2", "hours: 0.25"), 5, "Hours must be above 0"),
    ("hours as text", edit("hours: 2", "hours: 两"), 5, "hours must be a number"),
    ("unknown bank", edit("[service-standards]", "[no-such-bank]"), 9, "Unknown question"),
    ("unknown prerequisite", edit("prerequisites: []", "prerequisites: [X-1]"), 10, "X-1"),
    ("own prerequisite", edit("prerequisites: []", "prerequisites: [T-101]"), 10, "itself"),
    ("rule", edit("rule: viewed", "rule: watched"), 8, "viewed or min_time"),
    ("min_time", edit("rule: viewed", "rule: min_time"), 12, "needs min_seconds"),
    ("http video", edit("https://", "http://"), 17, "https://"),
    ("same lesson title", edit("title: 第二课", "title: 第一课"), 16, "line 12"),
    ("no lessons", SAMPLE.split("lessons:")[0] + "lessons: []\n", 11, "at least one lesson"),
    ("syntax", edit("  title: 测试课程", "  title: [测试课程"), 4, "YAML syntax error"),
    ("alias", edit("audience: [营业窗口, 测试新岗位]", ALIAS), 8, "anchors and aliases"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "text", "line", "message"), BROKEN, ids=[c[0] for c in BROKEN])
def test_errors_name_file_and_line_and_change_nothing(app, db, case, text, line, message):
    """A broken file is an error at its line, and nothing of the import is written."""
    result = run_import(
        app, db, [("good.yaml", SAMPLE.replace("T-101", "T-100")), ("t.yaml", text)]
    )
    assert result.errors, case
    error = result.errors[0]
    assert (error.file, error.line) == ("t.yaml", line), result.errors
    assert message in error.message, error.message
    assert count(db, Course) == count(db, Post) == 0


def test_duplicate_code_across_files(app, db):
    """The same code in two files is an error at the second, naming the first."""
    result = run_import(app, db, [("a.yaml", SAMPLE), ("b.yaml", SAMPLE)])
    (error,) = result.errors
    assert (error.file, error.line) == ("b.yaml", 2)
    assert "a.yaml" in error.message
    assert count(db, Course) == 0


def test_prerequisites_in_a_circle(app, db):
    """Two courses requiring each other are an error."""
    first = SAMPLE.replace("prerequisites: []", "prerequisites: [T-102]")
    second = SAMPLE.replace("T-101", "T-102").replace("prerequisites: []", "prerequisites: [T-101]")
    result = run_import(app, db, [("a.yaml", first), ("b.yaml", second)])
    assert len(result.errors) == 2 and "circle" in result.errors[0].message
    ok = run_import(app, db, [("a.yaml", SAMPLE), ("b.yaml", second)])
    assert ok.ok
    course = db.scalar(sa.select(Course).where(Course.code == "T-102"))
    assert [c.code for c in course.prerequisites] == ["T-101"]


@pytest.fixture
def invoke(runner):
    def run(*args: str):
        return runner.invoke(lms_commands, list(args), catch_exceptions=False)

    return run


def test_cli_import_json_and_exit_codes(invoke, tmp_path, db):
    """`lms courses import --json` prints one object; a dry run writes nothing; errors exit 1."""
    good = tmp_path / "t.yaml"
    good.write_text(SAMPLE, encoding="utf-8")
    dry = invoke("courses", "import", str(good), "--json", "--dry-run")
    assert dry.exit_code == 0, dry.output
    data = json.loads(dry.stdout)
    assert (data["imported"], data["unchanged"], data["errors"], data["dry_run"]) == (
        1,
        0,
        [],
        True,
    )
    assert count(db, Course) == 0
    done = invoke("courses", "import", str(good), "--json")
    assert done.stdout.strip().count("\n") == 0
    data = json.loads(done.stdout)
    assert (data["imported"], data["created"], data["courses"], data["warnings"]) == (
        1,
        1,
        ["T-101"],
        [],
    )
    again = invoke("courses", "import", str(good))
    assert again.exit_code == 0 and "imported 0" in again.stdout and "unchanged 1" in again.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(SAMPLE.replace("  summary:", "  sumary:"), encoding="utf-8")
    failed = invoke("courses", "import", str(good), str(bad), "--json")
    assert failed.exit_code == 1
    (error,) = json.loads(failed.stdout)["errors"]
    assert (error["file"], error["line"], error["column"]) == ("bad.yaml", 6, "sumary")
    assert "nothing was imported" in failed.stderr
    plain = invoke("courses", "import", str(bad))
    assert plain.exit_code == 1 and "bad.yaml:6 [sumary]: Unknown field sumary" in plain.stderr
    missing = invoke("courses", "import", str(tmp_path / "none.yaml"))
    assert missing.exit_code == 1 and "no such file" in missing.stderr


def test_cli_demo_loads_the_catalogue(app, invoke, db):
    """`lms demo` loads the shipped catalogue after the banks and says how many courses."""
    result = invoke("demo", "--employees", "200")
    assert result.exit_code == 0, result.output
    assert f"Courses: {len(shipped_catalogue_files())} courses." in result.output
    assert count(db, Course) == len(shipped_catalogue_files())
    from lms.exams.models import ExamPaper

    published = db.scalars(sa.select(ExamPaper.code).where(ExamPaper.published)).all()
    assert len(published) == len(shipped_catalogue_files())
