"""The grading queue and grading short answers: who sees what (HR all, a manager their subtree,
nobody their own attempt, employees nothing), grading finalizes the score and the pass, bad
points are refused naming the item with nothing changed, a later change of points is a regrade
with its audit entry, and two graders at once leave a consistent total."""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from lms.audit.models import AuditEntry
from lms.exams import grading, services
from lms.exams.models import AttemptAnswer, ExamAttempt, ExamPaper, ExamPaperQuestion
from lms.org.models import Role, UnitKind
from lms.questions.data import QuestionData
from tests.conftest import count_rows, csrf_token
from tests.exams.conftest import NOW, choice_data


@pytest.fixture(autouse=True)
def app_context() -> None:
    """No app context held across requests (see test_exam_pages)."""


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"LMS_DEFAULT_LOCALE": "en"}


def short_data(number: int) -> QuestionData:
    return QuestionData(
        type="short_answer",
        stem=f"简答题{number}",
        reference_answer=f"REFERENCE-{number}",
        explanation=f"EXPLANATION-{number}",
    )


@pytest.fixture
def people(create_unit: Callable[..., Any], create_employee: Callable[..., Any]) -> Any:
    """A bureau with two offices; a manager in each, HR at the top, a candidate in office A."""
    bureau = create_unit("龙城供电局", kind=UnitKind.bureau)
    office_a = create_unit("湖塘供电所", parent=bureau, kind=UnitKind.rural_office, rural=True)
    office_b = create_unit("城东供电所", parent=bureau, kind=UnitKind.urban_office)

    class People:
        hr = create_employee("人资", unit=bureau, role=Role.hr)
        manager_a = create_employee("所长甲", unit=office_a, role=Role.manager)
        manager_b = create_employee("所长乙", unit=office_b, role=Role.manager)
        candidate = create_employee("考生", unit=office_a, emp_no="LC900001")
        colleague = create_employee("同事", unit=office_a)

    return People


@pytest.fixture
def short_paper(app: Any, db: Any, bank: Any, add_question: Callable[..., Any]) -> ExamPaper:
    """A single choice (10 points) and a short answer (10 points); the pass mark is 60%."""
    choice = add_question(bank, choice_data(701))
    short = add_question(bank, short_data(702))
    paper = ExamPaper(code="SHORT1", title="简答试卷", pass_mark=Decimal(60))
    paper.questions = [
        ExamPaperQuestion(question_id=choice.id, points=Decimal(10), position=1),
        ExamPaperQuestion(question_id=short.id, points=Decimal(10), position=2),
    ]
    db.add(paper)
    db.commit()
    return paper


def sit(app: Any, db: Any, paper: ExamPaper, employee: Any, text: str | None) -> ExamAttempt:
    """The employee answers the choice right and the short answer with ``text``, and submits."""
    with app.app_context():
        attempt = services.start_attempt(db, paper, employee, now=NOW)
        choice, short = services.public_items(db, attempt)
        right = next(
            i for i, t in enumerate(choice["question"]["options"]) if t.startswith("RIGHT")
        )
        services.save_answer(db, attempt, choice["key"], right, now=NOW)
        if text is not None:
            services.save_answer(db, attempt, short["key"], text, now=NOW)
        services.submit(db, attempt, now=NOW)
        db.commit()
    return attempt


def short_item_id(db: Any, attempt: ExamAttempt) -> int:
    return grading.manual_items(db, attempt)[0].item.id


def fresh(db: Any, attempt: ExamAttempt) -> ExamAttempt:
    db.rollback()
    db.expire_all()
    return db.get(ExamAttempt, attempt.id)


def post_grade(client: Any, attempt: ExamAttempt, item_id: int, points: str, comment: str = ""):
    path = f"/grading/attempts/{attempt.id}"
    token = csrf_token(client, path)
    return client.post(
        path,
        data={"csrf_token": token, f"points-{item_id}": points, f"comment-{item_id}": comment},
    )


def test_a_short_answer_waits_in_the_queue_of_hr_and_the_candidates_manager(
    app: Any, db: Any, client: Any, login: Any, people: Any, short_paper: ExamPaper
) -> None:
    attempt = sit(app, db, short_paper, people.candidate, "<script>alert(1)</script>答案")
    assert attempt.graded is False and attempt.passed is None and attempt.score == Decimal(10)

    for grader in (people.hr, people.manager_a):
        login(grader)
        page = client.get("/grading").get_data(as_text=True)
        assert "考生" in page and "LC900001" in page and "湖塘供电所" in page
        assert "简答试卷" in page and f"/grading/attempts/{attempt.id}" in page
        grade_page = client.get(f"/grading/attempts/{attempt.id}")
        assert grade_page.status_code == 200
        text = grade_page.get_data(as_text=True)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;答案" in text and "<script>alert" not in text
        assert "REFERENCE-702" in text and "EXPLANATION-702" in text
        client.post("/logout", data={"csrf_token": csrf_token(client, "/grading")})

    login(people.manager_b)
    assert "考生" not in client.get("/grading").get_data(as_text=True)
    assert client.get(f"/grading/attempts/{attempt.id}").status_code == 404
    item_id = short_item_id(db, attempt)
    token = csrf_token(client, "/grading")
    response = client.post(
        f"/grading/attempts/{attempt.id}", data={"csrf_token": token, f"points-{item_id}": "10"}
    )
    assert response.status_code == 404
    assert fresh(db, attempt).graded is False


def test_employees_get_404_everywhere(
    app: Any, db: Any, client: Any, login: Any, people: Any, short_paper: ExamPaper
) -> None:
    attempt = sit(app, db, short_paper, people.candidate, "答案")
    for employee in (people.candidate, people.colleague):
        login(employee)
        assert client.get("/grading").status_code == 404
        assert client.get(f"/grading/attempts/{attempt.id}").status_code == 404
        assert (
            client.get(
                f"/admin/questions/{short_paper.questions[0].question_id}/regrade"
            ).status_code
            == 404
        )
        client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(people.hr)
    assert client.get("/grading/attempts/999999").status_code == 404
    assert client.get("/grading/attempts/99999999999").status_code == 404


def test_grading_finalizes_the_score_and_the_pass_and_a_change_is_audited(
    app: Any, db: Any, client: Any, login: Any, people: Any, short_paper: ExamPaper
) -> None:
    attempt = sit(app, db, short_paper, people.candidate, "答案")
    item_id = short_item_id(db, attempt)
    login(people.manager_a)
    response = post_grade(client, attempt, item_id, "5.5", "要点基本正确")
    assert response.status_code == 302
    graded = fresh(db, attempt)
    assert graded.graded is True and graded.score == Decimal("15.5") and graded.passed is True
    answer = db.scalars(sa.select(AttemptAnswer).where(AttemptAnswer.item_id == item_id)).one()
    assert answer.points_awarded == Decimal("5.5") and answer.fraction == pytest.approx(0.55)
    assert answer.graded_by_id == people.manager_a.id and answer.graded_at is not None
    assert answer.grader_comment == "要点基本正确"
    entries = db.scalars(sa.select(AuditEntry).where(AuditEntry.action == "exam.grade")).all()
    assert len(entries) == 1
    assert entries[0].before["points"] is None and entries[0].after["points"] == "5.5"

    # Saving the same again changes nothing and records nothing.
    post_grade(client, attempt, item_id, "5.5", "要点基本正确")
    assert count_rows(db, AuditEntry) == 1

    # A later change is a regrade through the same page: it fails now, and it is audited.
    login(people.hr)
    page = client.get(f"/grading/attempts/{attempt.id}").get_data(as_text=True)
    assert 'value="5.5"' in page and "所长甲" in page
    post_grade(client, attempt, item_id, "1", "遗漏要点")
    regraded = fresh(db, attempt)
    assert regraded.score == Decimal(11) and regraded.passed is False
    change = db.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "exam.grade").order_by(AuditEntry.id)
    ).all()[-1]
    assert change.actor_id == people.hr.id
    assert change.before["points"] == "5.5" and change.after["points"] == "1"
    assert "考生" not in client.get("/grading").get_data(as_text=True)  # graded: off the queue


@pytest.mark.parametrize("points", ["10.01", "-1", "abc", "1.234", "1e1", " "])
def test_bad_points_are_refused_naming_the_item_and_nothing_changes(
    app: Any,
    db: Any,
    client: Any,
    login: Any,
    people: Any,
    short_paper: ExamPaper,
    points: str,
) -> None:
    attempt = sit(app, db, short_paper, people.candidate, "答案")
    item_id = short_item_id(db, attempt)
    login(people.hr)
    response = post_grade(client, attempt, item_id, points, "评语")
    if not points.strip():  # empty: graded later, nothing to refuse
        assert response.status_code == 302
    else:
        assert response.status_code == 200
        text = response.get_data(as_text=True)
        assert "Question 2: points must be a number from 0 to 10" in text
        assert "Nothing was saved" in text
    unchanged = fresh(db, attempt)
    assert unchanged.graded is False and unchanged.passed is None
    answer = db.scalars(sa.select(AttemptAnswer).where(AttemptAnswer.item_id == item_id)).one()
    assert answer.points_awarded is None and answer.grader_comment == ""
    assert count_rows(db, AuditEntry) == 0


def test_nobody_grades_their_own_attempt(
    app: Any, db: Any, client: Any, login: Any, people: Any, short_paper: ExamPaper
) -> None:
    attempt = sit(app, db, short_paper, people.manager_a, "我自己的答案")
    login(people.manager_a)
    assert "我自己的答案" not in client.get("/grading").get_data(as_text=True)
    assert client.get(f"/grading/attempts/{attempt.id}").status_code == 404
    assert post_grade_status(client, attempt, short_item_id(db, attempt)) == 404
    login(people.hr)  # HR grades the manager's attempt
    assert client.get(f"/grading/attempts/{attempt.id}").status_code == 200


def post_grade_status(client: Any, attempt: ExamAttempt, item_id: int) -> int:
    token = csrf_token(client, "/grading")
    return client.post(
        f"/grading/attempts/{attempt.id}", data={"csrf_token": token, f"points-{item_id}": "10"}
    ).status_code


def test_an_unanswered_short_answer_is_worth_nothing_and_waits_for_nobody(
    app: Any, db: Any, people: Any, short_paper: ExamPaper
) -> None:
    attempt = sit(app, db, short_paper, people.candidate, None)
    assert attempt.graded is True and attempt.score == Decimal(10) and attempt.passed is False
    with app.app_context():
        assert grading.queue_entries(db, people.hr) == []


def test_two_graders_at_once_leave_a_consistent_total(
    app: Any, db: Any, people: Any, short_paper: ExamPaper
) -> None:
    attempt = sit(app, db, short_paper, people.candidate, "答案")
    item_id = short_item_id(db, attempt)
    db.rollback()
    graders = [(people.hr.id, "3"), (people.manager_a.id, "8")]
    barrier = threading.Barrier(len(graders))
    errors: list[Exception] = []

    def work(grader_id: int, points: str) -> None:
        with app.app_context():
            barrier.wait()
            try:
                with app.extensions["lms"].db.transaction() as session:
                    from lms.org.models import Employee

                    grading.grade_attempt(
                        session,
                        session.get(ExamAttempt, attempt.id),
                        {item_id: (points, "")},
                        actor=session.get(Employee, grader_id),
                        now=NOW,
                    )
            except Exception as error:  # the test inspects every outcome
                errors.append(error)

    threads = [threading.Thread(target=work, args=g) for g in graders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    final = fresh(db, attempt)
    answer = db.scalars(sa.select(AttemptAnswer).where(AttemptAnswer.item_id == item_id)).one()
    assert answer.points_awarded in (Decimal(3), Decimal(8))
    assert final.graded is True and final.score == Decimal(10) + answer.points_awarded
    assert final.passed is (final.score >= 12)
    assert count_rows(db, AuditEntry) == 2
