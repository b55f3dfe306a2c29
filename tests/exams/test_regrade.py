"""Regrading after a question is corrected: the dry run changes nothing, apply regrades exactly
the finished attempts graded against an earlier version (audited), a second apply changes
nothing, a new pass completes the course (an old pass turned fail keeps its completion),
answers whose options changed are flagged and left alone, and the pages are HR's only."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from lms.audit.models import AuditEntry
from lms.courses.models import CourseRun, RunStatus
from lms.courses.services import start_run
from lms.exams import grading, services
from lms.exams.models import AttemptAnswer, AttemptItem, ExamAttempt, ExamPaper
from lms.org.models import Role
from lms.questions.data import Choice, QuestionData
from lms.questions.models import Question
from lms.questions.services import add_version, current_data
from tests.conftest import count_rows, csrf_token
from tests.exams.conftest import NOW
from tests.exams.test_submit import make_course


@pytest.fixture(autouse=True)
def app_context() -> None:
    """No app context held across requests (see test_exam_pages)."""


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"LMS_DEFAULT_LOCALE": "en"}


def sit(
    app: Any, db: Any, paper: ExamPaper, employee: Any, picks: list[str | None], *, submit=True
) -> ExamAttempt:
    """Pick the option whose text starts with each of ``picks`` (None: no answer), submit."""
    with app.app_context():
        attempt = services.start_attempt(db, paper, employee, now=NOW)
        for item, pick in zip(services.public_items(db, attempt), picks, strict=True):
            if pick is not None:
                options = item["question"]["options"]
                shown = next(i for i, text in enumerate(options) if text.startswith(pick))
                services.save_answer(db, attempt, item["key"], shown, now=NOW)
        if submit:
            services.submit(db, attempt, now=NOW)
        db.commit()
    return attempt


def correct_key(app: Any, db: Any, question_id: int, *, extra_option: bool = False) -> None:
    """A new version in which the first wrong option is the right one (the key was wrong)."""
    with app.app_context():
        question = db.get(Question, question_id)
        data = current_data(db, question)
        data.choices[0].fraction, data.choices[1].fraction = 0.0, 1.0
        if extra_option:
            data.choices.append(Choice("added option", 0.0))
        add_version(db, question, data, actor=None, origin="edit")
        db.commit()


def snapshot(db: Any) -> tuple[Any, ...]:
    db.rollback()
    db.expire_all()
    attempts = db.execute(
        sa.select(ExamAttempt.id, ExamAttempt.score, ExamAttempt.passed).order_by(ExamAttempt.id)
    ).all()
    answers = db.execute(
        sa.select(AttemptAnswer.id, AttemptAnswer.points_awarded).order_by(AttemptAnswer.id)
    ).all()
    items = db.execute(
        sa.select(AttemptItem.id, AttemptItem.graded_version_number).order_by(AttemptItem.id)
    ).all()
    return tuple(attempts), tuple(answers), tuple(items), count_rows(db, AuditEntry)


@pytest.fixture
def scene(
    app: Any, db: Any, fixed_paper: Callable[..., Any], create_employee: Callable[..., Any]
) -> Any:
    """Two questions of 10 points, pass at 60%, a course; five candidates:
    ``fails`` picked the corrected right option (fail now, a pass after the regrade),
    ``passes`` the old key (a pass now, a fail after), ``same`` another wrong option,
    ``blank`` left the question out and ``open`` has not submitted."""
    course = make_course(db)
    paper = fixed_paper(2, pass_mark=Decimal(60), course_id=course.id)
    question_id = paper.questions[0].question_id
    people = {name: create_employee(name) for name in ("fails", "passes", "same", "blank", "open")}
    with app.app_context():
        runs = {name: start_run(db, people[name], course) for name in people}
        db.commit()
    first_wrong, other_wrong = (
        current_data(db, db.get(Question, question_id)).choices[i].text for i in (1, 2)
    )
    picks = {
        "fails": [first_wrong, "RIGHT"],
        "passes": ["RIGHT", "RIGHT"],
        "same": [other_wrong, "RIGHT"],
        "blank": [None, "RIGHT"],
    }
    attempts = {name: sit(app, db, paper, people[name], pick) for name, pick in picks.items()}
    attempts["open"] = sit(app, db, paper, people["open"], ["RIGHT", "RIGHT"], submit=False)

    class Scene:
        pass

    scene = Scene()
    scene.paper, scene.question_id, scene.course = paper, question_id, course
    scene.people, scene.runs, scene.attempts = people, runs, attempts
    return scene


def test_dry_run_then_apply_then_apply_again(app: Any, db: Any, scene: Any) -> None:
    assert scene.attempts["fails"].passed is False and scene.attempts["passes"].passed is True
    runs = {name: db.get(CourseRun, run.id) for name, run in scene.runs.items()}
    assert runs["passes"].status is RunStatus.completed
    assert runs["fails"].status is RunStatus.in_progress
    correct_key(app, db, scene.question_id)
    before = snapshot(db)

    with app.app_context():
        preview = grading.regrade_preview(db, scene.question_id, now=NOW)
    assert preview is not None and preview.objective and preview.version_number == 2
    rows = {row.employee.name: row for row in preview.rows}
    assert set(rows) == {"fails", "passes", "same"}  # not the blank one, not the open one
    assert (rows["fails"].old_score, rows["fails"].new_score) == (Decimal(10), Decimal(20))
    assert (rows["fails"].old_passed, rows["fails"].new_passed) == (False, True)
    assert (rows["passes"].old_score, rows["passes"].new_score) == (Decimal(20), Decimal(10))
    assert rows["passes"].loses_pass
    assert not rows["same"].changed
    assert [i.new_points for i in rows["fails"].items] == [Decimal(10)]
    assert snapshot(db) == before  # the dry run changed nothing

    with app.app_context():
        result = grading.regrade_apply(db, scene.question_id, actor=None, now=NOW)
        db.commit()
    assert result is not None and result.answers == 3
    assert {r.employee.name for r in result.changed} == {"fails", "passes"}
    assert [r.employee.name for r in result.lost_pass] == ["passes"]
    db.expire_all()
    after = {name: db.get(ExamAttempt, a.id) for name, a in scene.attempts.items()}
    assert (after["fails"].score, after["fails"].passed) == (Decimal(20), True)
    assert (after["passes"].score, after["passes"].passed) == (Decimal(10), False)
    assert (after["same"].score, after["same"].passed) == (Decimal(10), False)
    assert after["blank"].score == Decimal(10)
    versions = dict(
        db.execute(
            sa.select(AttemptItem.attempt_id, AttemptItem.graded_version_number).where(
                AttemptItem.question_id == scene.question_id
            )
        ).all()
    )
    assert versions[after["fails"].id] == 2 and versions[after["same"].id] == 2
    assert versions[after["blank"].id] is None and versions[after["open"].id] is None
    # A new pass completes the course; the lost pass keeps its completion.
    assert db.get(CourseRun, scene.runs["fails"].id).status is RunStatus.completed
    assert db.get(CourseRun, scene.runs["passes"].id).status is RunStatus.completed
    entries = db.scalars(sa.select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [e.action for e in entries] == ["exam.regrade", "exam.regrade", "question.regrade"]
    by_attempt = {int(e.object_id): e for e in entries if e.action == "exam.regrade"}
    assert by_attempt[after["passes"].id].before == {
        "score": "20",
        "passed": True,
        "question_id": scene.question_id,
    }
    assert by_attempt[after["passes"].id].after["passed"] is False
    assert entries[-1].object_id == str(scene.question_id)

    settled = snapshot(db)
    with app.app_context():
        assert grading.regrade_preview(db, scene.question_id, now=NOW).rows == []
        again = grading.regrade_apply(db, scene.question_id, actor=None, now=NOW)
        db.commit()
    assert again.answers == 0 and again.changed == []
    assert snapshot(db) == settled  # the second apply changed nothing


def test_an_answer_whose_options_changed_is_flagged_and_left_alone(
    app: Any, db: Any, scene: Any
) -> None:
    correct_key(app, db, scene.question_id, extra_option=True)
    before = snapshot(db)
    with app.app_context():
        preview = grading.regrade_preview(db, scene.question_id, now=NOW)
        assert len(preview.flagged_items) == 3 and preview.regradable == 0
        assert all(i.flag == grading.OPTIONS_CHANGED for _r, i in preview.flagged_items)
        assert all(not row.changed for row in preview.rows)
        result = grading.regrade_apply(db, scene.question_id, actor=None, now=NOW)
        db.commit()
    assert result.answers == 0 and len(result.flagged) == 3
    assert snapshot(db) == before


def test_a_question_graded_by_people_is_not_regraded(
    app: Any, db: Any, bank: Any, add_question: Callable[..., Any]
) -> None:
    question = add_question(bank, QuestionData(type="short_answer", stem="简答"))
    with app.app_context():
        add_version(
            db,
            question,
            QuestionData(type="short_answer", stem="简答（改）"),
            actor=None,
            origin="e",
        )
        db.commit()
        preview = grading.regrade_preview(db, question.id, now=NOW)
        assert preview.objective is False and preview.rows == []
        assert grading.regrade_preview(db, 999999, now=NOW) is None


def test_the_regrade_pages_are_hrs_dry_run_and_apply(
    app: Any,
    db: Any,
    client: Any,
    login: Any,
    scene: Any,
    create_employee: Callable[..., Any],
) -> None:
    correct_key(app, db, scene.question_id)
    path = f"/admin/questions/{scene.question_id}/regrade"
    manager = create_employee("经理", role=Role.manager)
    login(manager)
    assert client.get(path).status_code == 404
    token = csrf_token(client, "/grading")
    assert client.post(path, data={"csrf_token": token}).status_code == 404
    client.post("/logout", data={"csrf_token": token})

    login(create_employee("人资", role=Role.hr))
    page = client.get(path)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "passes" in text and "fails" in text and "Apply the regrade" in text
    assert "Passes turned into fails" in text and "does not undo" in text
    assert client.get("/admin/questions/999999/regrade").status_code == 404
    before = snapshot(db)
    assert client.post(path, data={}).status_code == 400  # no CSRF token: refused
    assert snapshot(db) == before

    done = client.post(path, data={"csrf_token": csrf_token(client, path)})
    assert done.status_code == 200
    summary = done.get_data(as_text=True)
    assert "3 answers were graded against version 2; 2 attempts changed." in summary
    assert "Passes turned into fails" in summary
    db.rollback()  # end the read transaction of the snapshot (SQLite keeps its view)
    db.expire_all()
    assert db.get(ExamAttempt, scene.attempts["fails"].id).passed is True
    again = client.post(path, data={"csrf_token": csrf_token(client, path)})
    assert "0 answers were graded" in again.get_data(as_text=True)
    assert "Nothing to regrade." in client.get(path).get_data(as_text=True)
