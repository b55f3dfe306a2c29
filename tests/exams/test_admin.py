"""HR's exam paper pages: creating and editing papers (every field checked, nothing saved on
error), a fixed paper's questions, a drawn paper's rules with the preview (rules that overlap
checked together), publishing, deleting, the course's exam, 404 for anyone else, CSRF, audit."""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from lms.audit.models import AuditEntry
from lms.courses.models import Course, CourseStatus, CourseVersion
from lms.exams.admin import match_rules
from lms.exams.models import (
    ExamAttempt,
    ExamDrawRule,
    ExamPaper,
    ExamPaperQuestion,
    PaperKind,
)
from lms.org.models import Role
from tests.conftest import count_rows, csrf_token
from tests.exams.conftest import NOW, choice_data


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"LMS_DEFAULT_LOCALE": "en"}


@pytest.fixture(autouse=True)
def app_context() -> None:
    """No app context held across requests (each test-client request pushes its own)."""


@pytest.fixture
def hr(create_employee: Callable[..., Any], login: Callable[..., Any]) -> Any:
    person = create_employee(role=Role.hr)
    login(person)
    return person


def paper_settings(**changes: Any) -> dict[str, Any]:
    data = {
        "code": "EX-01",
        "title": "营业厅服务规范考试",
        "kind": "drawn",
        "course_id": "",
        "opens_at": "2026-11-02T09:00",
        "closes_at": "2026-11-02 17:30",
        "time_limit_minutes": "45",
        "pass_mark": "80",
        "pass_mark_unit": "percent",
        "max_attempts": "2",
        "retake_wait_hours": "24",
        "grace_seconds": "30",
        "review_policy": "answers_after_close",
        "shuffle_questions": "y",
        "shuffle_options": "y",
        "multiple_choice_partial": "y",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def post(client: Any, path: str, data: dict[str, Any], *, form_page: str = "/admin/exams/new"):
    return client.post(path, data={**data, "csrf_token": csrf_token(client, form_page)})


def create(client: Any, **changes: Any) -> int:
    response = post(client, "/admin/exams/new", paper_settings(**changes))
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(re.search(r"/admin/exams/(\d+)$", response.headers["Location"]).group(1))


def paper_of(db: Any, paper_id: int) -> ExamPaper:
    """The paper as committed now (a rollback alone expires nothing outside a transaction)."""
    db.rollback()
    db.expire_all()
    return db.get(ExamPaper, paper_id)


def audit_actions(db: Any) -> list[str]:
    db.rollback()
    return list(db.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)))


# -- the matching, against brute force ---------------------------------------------------------


def brute_force(pools: list[list[int]], counts: list[int]) -> bool:
    """Whether distinct questions can fill every rule, by trying every choice."""

    def fill(rule: int, used: frozenset[int]) -> bool:
        if rule == len(pools):
            return True
        free = [q for q in pools[rule] if q not in used]
        return any(
            fill(rule + 1, used | set(chosen))
            for chosen in itertools.combinations(free, counts[rule])
        )

    return fill(0, frozenset())


def test_matching_is_exact_on_random_overlapping_rules() -> None:
    rng = random.Random(7)
    for _case in range(400):
        questions = list(range(rng.randint(1, 8)))
        rules = rng.randint(1, 4)
        pools = [
            sorted(rng.sample(questions, rng.randint(0, len(questions)))) for _ in range(rules)
        ]
        counts = [rng.randint(0, 3) for _ in range(rules)]
        held = match_rules(pools, counts, rng=rng)
        taken = [q for got in held for q in got]
        assert len(taken) == len(set(taken))  # no question twice
        assert all(set(got) <= set(pool) for got, pool in zip(held, pools, strict=True))
        filled = all(len(got) == c for got, c in zip(held, counts, strict=True))
        assert filled == brute_force(pools, counts), (pools, counts)


def test_greedy_order_would_fail_where_the_matching_succeeds() -> None:
    """An "any type" rule first could take the one question a narrower rule needs."""
    held = match_rules([[1, 2], [1]], [1, 1])
    assert held == [[2], [1]]


# -- a drawn paper: settings, rules, preview, publishing ---------------------------------------


def test_hr_builds_a_drawn_paper_and_publishes_it_once_the_rules_can_be_met(
    app: Any, client: Any, db: Any, hr: Any, bank: Any, add_question: Callable[..., Any]
) -> None:
    for number in range(3):
        add_question(bank, choice_data(100 + number, point="收费"))
    add_question(bank, choice_data(110, kind="multiple_choice", difficulty=4, point="收费"))
    add_question(bank, choice_data(111), enabled=False)  # never drawn

    paper_id = create(client)
    paper = paper_of(db, paper_id)
    assert paper.published is False and paper.kind is PaperKind.drawn
    assert paper.opens_at.isoformat() == "2026-11-02T01:00:00+00:00"  # 09:00 in Asia/Shanghai
    assert paper.closes_at.isoformat() == "2026-11-02T09:30:00+00:00"
    assert (paper.time_limit_minutes, paper.max_attempts, paper.retake_wait_hours) == (45, 2, 24)
    assert paper.pass_mark == Decimal(80) and paper.pass_mark_percent
    assert paper.shuffle_questions and paper.shuffle_options and paper.multiple_choice_partial
    assert not paper.practice and paper.grace_seconds == 30

    new_rule = f"/admin/exams/{paper_id}/rules/new"
    single = {"bank_code": bank.code, "type": "single_choice", "count": "2", "points_each": "5"}
    assert post(client, new_rule, single, form_page=new_rule).status_code == 302
    anything = {"bank_code": bank.code, "type": "", "count": "3", "points_each": "2.5"}
    assert post(client, new_rule, anything, form_page=new_rule).status_code == 302

    # Alone each rule has enough (3 single choice >= 2; 4 enabled >= 3), together 5 > 4.
    page = client.get(f"/admin/exams/{paper_id}/preview").get_data(as_text=True)
    assert 'data-testid="infeasible"' in page
    assert "Short when shared with other rules" in page
    assert re.search(r'data-testid="total-points">17.5<', page)  # 2 x 5 + 3 x 2.5
    assert "Single choice" in page and "Any" in page

    response = post(
        client, f"/admin/exams/{paper_id}/publish", {}, form_page=f"/admin/exams/{paper_id}"
    )
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "cannot all be met together" in page
    assert paper_of(db, paper_id).published is False

    rule_id = paper_of(db, paper_id).rules[1].id
    edit = f"/admin/exams/{paper_id}/rules/{rule_id}"
    assert post(client, edit, {**anything, "count": "2"}, form_page=edit).status_code == 302
    page = client.get(f"/admin/exams/{paper_id}/preview?sample=1").get_data(as_text=True)
    assert 'data-testid="feasible"' in page
    assert page.count('<li><span class="muted">') == 4  # the sample draw's questions
    assert "题目111" not in page  # the disabled question is never drawn

    response = post(
        client, f"/admin/exams/{paper_id}/publish", {}, form_page=f"/admin/exams/{paper_id}"
    )
    assert response.status_code == 302
    assert paper_of(db, paper_id).published is True
    assert audit_actions(db) == [
        "exam_paper.create",
        "exam_paper.add_rule",
        "exam_paper.add_rule",
        "exam_paper.update_rule",
        "exam_paper.publish",
    ]
    # A rule made impossible after publishing is flagged on the paper's page.
    assert post(client, edit, {**anything, "count": "9"}, form_page=edit).status_code == 302
    page = client.get(f"/admin/exams/{paper_id}").get_data(as_text=True)
    assert "Published, but new attempts would fail:" in page
    listing = client.get("/admin/exams").get_data(as_text=True)
    assert "EX-01" in listing and "Published" in listing


def test_the_preview_shows_a_fixed_papers_distribution(
    client: Any, db: Any, hr: Any, fixed_paper: Callable[..., ExamPaper]
) -> None:
    paper = fixed_paper(n=3, published=False)
    page = client.get(f"/admin/exams/{paper.id}/preview").get_data(as_text=True)
    assert 'data-testid="feasible"' in page
    assert "服务规范" in page and re.search(r'data-testid="total-points">30<', page)


def test_a_paper_without_rules_or_questions_is_not_published(client: Any, db: Any, hr: Any) -> None:
    paper_id = create(client, kind="fixed")
    response = post(
        client, f"/admin/exams/{paper_id}/publish", {}, form_page=f"/admin/exams/{paper_id}"
    )
    assert "no enabled questions" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert paper_of(db, paper_id).published is False


# -- a fixed paper's questions -----------------------------------------------------------------


def test_hr_adds_orders_reprices_and_removes_questions_of_a_fixed_paper(
    client: Any, db: Any, hr: Any, bank: Any, add_question: Callable[..., Any]
) -> None:
    first = add_question(bank, choice_data(201))
    second = add_question(bank, choice_data(202, difficulty=5))
    disabled = add_question(bank, choice_data(203), enabled=False)
    paper_id = create(client, kind="fixed", code="FX-1")
    add = f"/admin/exams/{paper_id}/questions"

    page = client.get(f"{add}?bank={bank.code}&difficulty=5").get_data(as_text=True)
    assert "题目202" in page and "题目201" not in page
    assert "题目203" not in client.get(f"{add}?bank={bank.code}").get_data(as_text=True)

    token = csrf_token(client, f"{add}?bank={bank.code}")
    response = client.post(
        f"{add}?bank={bank.code}",
        data={"csrf_token": token, "question": [str(disabled.id)], "points": "4"},
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "only enabled questions can be added" in page
    assert "题目201" in page  # the bank's questions are shown again
    assert count_rows(db, ExamPaperQuestion) == 0

    response = client.post(
        add, data={"csrf_token": token, "question": [str(first.id)], "points": "0"}
    )
    assert "Points: a number above 0" in response.get_data(as_text=True)
    assert count_rows(db, ExamPaperQuestion) == 0

    response = client.post(
        add,
        data={"csrf_token": token, "question": [str(first.id), str(second.id)], "points": "4"},
    )
    assert response.status_code == 302
    paper = paper_of(db, paper_id)
    assert [(q.question_id, q.points, q.position) for q in paper.questions] == [
        (first.id, Decimal(4), 1),
        (second.id, Decimal(4), 2),
    ]
    entries = {q.question_id: q.id for q in paper.questions}

    def change(question: Any, **data: str) -> Any:
        path = f"/admin/exams/{paper_id}/questions/{entries[question.id]}"
        return client.post(path, data={**data, "csrf_token": token})

    assert change(second, action="up", points="4").status_code == 302
    assert change(first, action="save", points="6.5").status_code == 302
    assert change(first, action="save", points="abc").status_code == 302
    paper = paper_of(db, paper_id)
    assert [(q.question_id, q.points) for q in paper.questions] == [
        (second.id, Decimal(4)),
        (first.id, Decimal("6.5")),
    ]
    assert change(second, action="remove", points="").status_code == 302
    paper = paper_of(db, paper_id)
    assert [(q.question_id, q.position) for q in paper.questions] == [(first.id, 1)]
    assert audit_actions(db)[1:] == [
        "exam_paper.add_questions",
        "exam_paper.move_question",
        "exam_paper.question_points",
        "exam_paper.remove_question",
    ]


# -- bad input, access, CSRF -------------------------------------------------------------------


def test_bad_fields_are_named_and_nothing_is_saved(
    client: Any, db: Any, hr: Any, fixed_paper: Callable[..., ExamPaper]
) -> None:
    taken = fixed_paper(n=1)
    bad = paper_settings(
        code=taken.code,
        title="",
        kind="mixed",
        course_id="999999",
        opens_at="tomorrow",
        closes_at="2026-13-40 25:00",
        time_limit_minutes="-5",
        pass_mark="120",
        max_attempts="many",
        retake_wait_hours="1.5",
        grace_seconds="99999",
        review_policy="everything",
    )
    response = post(client, "/admin/exams/new", bad)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for start in (
        "Code: another paper already has the code",
        "Title:",
        "Kind:",
        "Course:",
        "Opens at:",
        "Closes at:",
        "Time limit:",
        "Pass mark: a percentage",
        "Attempts:",
        "Retake wait:",
        "Grace period:",
        "Review:",
    ):
        assert start in page, start
    assert count_rows(db, ExamPaper) == 1

    paper_id = create(client, code="EX-9")
    before = count_rows(db, AuditEntry)
    edit = f"/admin/exams/{paper_id}/edit"
    response = post(
        client,
        edit,
        paper_settings(code="EX-9", title="新标题", closes_at="2026-11-01 08:00"),
        form_page=edit,
    )
    assert "Closes at: must be later than the opening time." in response.get_data(as_text=True)
    assert paper_of(db, paper_id).title == "营业厅服务规范考试"
    assert count_rows(db, AuditEntry) == before

    new_rule = f"/admin/exams/{paper_id}/rules/new"
    response = post(
        client,
        new_rule,
        {"bank_code": "NOPE", "type": "essay", "difficulty": "9", "count": "0", "points_each": "x"},
        form_page=new_rule,
    )
    page = response.get_data(as_text=True)
    for start in ("Bank:", "Type:", "Difficulty:", "Count:", "Points each:"):
        assert start in page, start
    assert count_rows(db, ExamDrawRule) == 0


def test_edits_are_audited_with_before_and_after(client: Any, db: Any, hr: Any) -> None:
    paper_id = create(client, code="EX-A")
    edit = f"/admin/exams/{paper_id}/edit"
    assert (
        post(client, edit, paper_settings(code="EX-A", title="新标题"), form_page=edit).status_code
        == 302
    )
    db.rollback()
    entry = db.scalars(sa.select(AuditEntry).where(AuditEntry.action == "exam_paper.update")).one()
    assert entry.before == {"title": "营业厅服务规范考试"} and entry.after == {"title": "新标题"}
    assert entry.actor_id == hr.id


@pytest.mark.parametrize("role", [Role.manager, Role.employee])
def test_anyone_but_hr_and_admins_gets_404(
    client: Any,
    db: Any,
    role: Role,
    create_employee: Callable[..., Any],
    login: Callable[..., Any],
    fixed_paper: Callable[..., ExamPaper],
    drawn_paper: Callable[..., ExamPaper],
    bank: Any,
) -> None:
    fixed = fixed_paper(n=1, published=False)
    drawn = drawn_paper([ExamDrawRule(bank_id=bank.id, count=1)], published=False)
    entry, rule = fixed.questions[0].id, drawn.rules[0].id
    login(create_employee(role=role, is_manager=role is Role.manager))
    token = csrf_token(client, "/exams")
    gets = [
        "/admin/exams",
        "/admin/exams/new",
        f"/admin/exams/{fixed.id}",
        f"/admin/exams/{fixed.id}/edit",
        f"/admin/exams/{fixed.id}/questions",
        f"/admin/exams/{drawn.id}/rules/new",
        f"/admin/exams/{drawn.id}/rules/{rule}",
        f"/admin/exams/{drawn.id}/preview?sample=1",
        f"/admin/exams/{fixed.id}/delete",
    ]
    for path in gets:
        assert client.get(path).status_code == 404, path
    posts = [
        "/admin/exams/new",
        f"/admin/exams/{fixed.id}/edit",
        f"/admin/exams/{fixed.id}/questions",
        f"/admin/exams/{fixed.id}/questions/{entry}",
        f"/admin/exams/{drawn.id}/rules/new",
        f"/admin/exams/{drawn.id}/rules/{rule}",
        f"/admin/exams/{drawn.id}/rules/{rule}/delete",
        f"/admin/exams/{fixed.id}/publish",
        f"/admin/exams/{fixed.id}/unpublish",
        f"/admin/exams/{fixed.id}/delete",
    ]
    for path in posts:
        response = client.post(path, data={"csrf_token": token, "action": "remove", "code": "X"})
        assert response.status_code == 404, path
    assert count_rows(db, ExamPaper) == 2 and count_rows(db, ExamPaperQuestion) == 1
    assert count_rows(db, AuditEntry) == 0


def test_a_post_without_the_csrf_token_is_refused(
    client: Any, db: Any, hr: Any, fixed_paper: Callable[..., ExamPaper]
) -> None:
    paper = fixed_paper(n=2, published=False)
    entry = paper.questions[0].id
    for path, data in [
        ("/admin/exams/new", paper_settings(code="EX-C")),
        (f"/admin/exams/{paper.id}/edit", paper_settings(code=paper.code, title="x")),
        (f"/admin/exams/{paper.id}/questions/{entry}", {"action": "remove"}),
        (f"/admin/exams/{paper.id}/publish", {}),
        (f"/admin/exams/{paper.id}/delete", {}),
    ]:
        assert client.post(path, data=data).status_code == 400, path
    assert count_rows(db, ExamPaper) == 1 and count_rows(db, ExamPaperQuestion) == 2
    assert paper_of(db, paper.id).published is False
    assert count_rows(db, AuditEntry) == 0


# -- deleting, and the course's exam -----------------------------------------------------------


def test_a_paper_with_attempts_is_not_deleted_but_may_be_unpublished(
    client: Any,
    db: Any,
    hr: Any,
    fixed_paper: Callable[..., ExamPaper],
    create_employee: Callable[..., Any],
) -> None:
    unused = fixed_paper(n=1, published=False)
    used = fixed_paper(n=1)
    db.add(
        ExamAttempt(paper_id=used.id, employee_id=create_employee().id, number=1, started_at=NOW)
    )
    db.commit()

    page = client.get(f"/admin/exams/{used.id}/delete").get_data(as_text=True)
    assert "cannot be deleted" in page and "Unpublish" in page
    token = csrf_token(client, f"/admin/exams/{used.id}/delete")
    assert (
        client.post(f"/admin/exams/{used.id}/delete", data={"csrf_token": token}).status_code == 302
    )
    assert paper_of(db, used.id) is not None
    response = client.post(f"/admin/exams/{used.id}/unpublish", data={"csrf_token": token})
    assert response.status_code == 302
    assert paper_of(db, used.id).published is False

    assert (
        client.post(f"/admin/exams/{unused.id}/delete", data={"csrf_token": token}).status_code
        == 302
    )
    assert paper_of(db, unused.id) is None
    assert "exam_paper.delete" in audit_actions(db)


def test_publishing_a_courses_paper_publishes_the_course_again(
    app: Any, client: Any, db: Any, hr: Any, fixed_paper: Callable[..., ExamPaper]
) -> None:
    from lms.courses.services import publish

    course = Course(code="C-EXAM", title="服务规范", programme="general", hours=Decimal(2))
    draft = Course(code="C-DRAFT", title="草稿", programme="general", hours=Decimal(1))
    db.add_all([course, draft])
    db.flush()
    with app.app_context():
        publish(db, course, actor=None)
    db.commit()
    paper = fixed_paper(n=1, published=False, course_id=course.id)

    token = csrf_token(client, f"/admin/exams/{paper.id}")
    response = client.post(f"/admin/exams/{paper.id}/publish", data={"csrf_token": token})
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "published again as version 2" in page

    def latest(course_id: int) -> CourseVersion:
        db.rollback()
        return db.scalars(
            sa.select(CourseVersion)
            .where(CourseVersion.course_id == course_id)
            .order_by(CourseVersion.number.desc())
        ).first()

    assert latest(course.id).number == 2
    assert latest(course.id).snapshot["exam"]["paper_id"] == paper.id

    # Moving the published paper to the draft course: the published course loses its exam,
    # the draft is left alone (its first publication will include it).
    edit = f"/admin/exams/{paper.id}/edit"
    settings = paper_settings(
        code=paper.code, title=paper.title, kind="fixed", course_id=str(draft.id)
    )
    assert post(client, edit, settings, form_page=edit).status_code == 302
    assert latest(course.id).number == 3 and latest(course.id).snapshot["exam"] is None
    assert latest(draft.id) is None
    db.rollback()
    assert db.get(Course, draft.id).status is CourseStatus.draft

    # Unpublishing a paper of a draft course changes no course.
    response = client.post(f"/admin/exams/{paper.id}/unpublish", data={"csrf_token": token})
    assert response.status_code == 302 and latest(course.id).number == 3


def test_an_admin_may_use_the_pages_and_they_render_in_chinese(
    app: Any,
    client: Any,
    db: Any,
    create_employee: Callable[..., Any],
    login: Callable[..., Any],
    fixed_paper: Callable[..., ExamPaper],
    drawn_paper: Callable[..., ExamPaper],
    bank: Any,
    add_question: Callable[..., Any],
) -> None:
    app.config["LMS_DEFAULT_LOCALE"] = "zh_Hans_CN"
    login(create_employee(role=Role.admin))
    add_question(bank, choice_data(301))
    fixed = fixed_paper(n=2, published=False)
    drawn = drawn_paper([ExamDrawRule(bank_id=bank.id, count=1)], published=False)
    for path in [
        "/admin/exams",
        "/admin/exams/new",
        f"/admin/exams/{fixed.id}",
        f"/admin/exams/{fixed.id}/edit",
        f"/admin/exams/{fixed.id}/questions?bank={bank.code}",
        f"/admin/exams/{fixed.id}/preview?sample=1",
        f"/admin/exams/{fixed.id}/delete",
        f"/admin/exams/{drawn.id}",
        f"/admin/exams/{drawn.id}/rules/new",
        f"/admin/exams/{drawn.id}/rules/{drawn.rules[0].id}",
        f"/admin/exams/{drawn.id}/preview?sample=1",
    ]:
        response = client.get(path)
        assert response.status_code == 200, path
    assert "试卷" in client.get("/admin/exams").get_data(as_text=True)
