"""Item statistics: facility, discrimination, option counts and the score distribution from
finished graded attempts (practice and unfinished ones left out), the job, and HR's page."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

import lms.exams.statistics  # noqa: F401  (registers the job until the app imports it)
from lms.exams import services, statistics
from lms.exams.models import ExamPaper, ExamPaperQuestion, ItemStatistic, PaperKind, PaperStatistic
from lms.jobs.models import JobState
from lms.jobs.services import run_now
from lms.org.models import Role
from lms.questions.data import QuestionData
from tests.conftest import count_rows, csrf_token, wait_for_job
from tests.exams.conftest import NOW, choice_data

#: Twelve candidates of rising ability (see ``plan`` in the ``exam`` fixture).
CANDIDATES = range(12)


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"LMS_DEFAULT_LOCALE": "en"}


@pytest.fixture(autouse=True)
def app_context() -> None:
    """No app context held across requests (see test_exam_pages): tests that call services
    directly ask for ``in_app``."""


@pytest.fixture
def in_app(app: Any) -> Iterator[None]:
    with app.app_context():
        yield


def option_text(item: dict[str, Any], prefix: str) -> list[int]:
    """The shown positions of the options whose text starts with ``prefix``."""
    return [i for i, text in enumerate(item["question"]["options"]) if text.startswith(prefix)]


def ending(item: dict[str, Any], suffix: str) -> int:
    """The shown position of the wrong option whose text ends with ``suffix``."""
    options = item["question"]["options"]
    return next(i for i, t in enumerate(options) if t.startswith("wrong") and t.endswith(suffix))


def answer(db: Any, attempt: Any, plan: dict[str, Any]) -> None:
    """Save the planned answer per question stem: "right", "wrong" (the first wrong option),
    "wrong2", "both" (a right and a wrong option), a bool, or None (unanswered)."""
    for item in services.public_items(db, attempt):
        choice = plan.get(item["question"]["stem"])
        if choice is None:
            continue
        if isinstance(choice, bool):
            response: Any = choice
        elif choice == "right":
            response = option_text(item, "RIGHT")[0]
        elif choice == "wrong":
            response = ending(item, "-0")
        elif choice == "wrong2":
            response = ending(item, "-2")
        else:  # "both": a multiple choice with one right and one wrong option
            options = item["question"]["options"]
            response = [
                next(
                    i for i, t in enumerate(options) if t.startswith("RIGHT") and t.endswith("-a")
                ),
                ending(item, "-1"),
            ]
        services.save_answer(db, attempt, item["key"], response, now=NOW)


@pytest.fixture
def exam(
    app: Any,
    db: Any,
    bank: Any,
    add_question: Callable[..., Any],
    fixed_paper: Callable[..., ExamPaper],
    create_employee: Callable[..., Any],
) -> dict[str, Any]:
    """A paper of nine 10-point questions and twelve finished attempts, plus an unfinished
    attempt and a practice paper's attempt that must not count."""
    with app.app_context():
        return build_exam(db, bank, add_question, fixed_paper, create_employee)


def build_exam(
    db: Any,
    bank: Any,
    add_question: Callable[..., Any],
    fixed_paper: Callable[..., ExamPaper],
    create_employee: Callable[..., Any],
) -> dict[str, Any]:
    paper = fixed_paper(0, shuffle_options=True, shuffle_questions=True)
    stems = ["easy", "hard", "neg", "x", "z", "pos", "y", "multi", "tf"]
    questions = {}
    for position, stem in enumerate(stems, start=1):
        if stem == "tf":
            data = QuestionData(type="true_false", stem="tf", answer_true=True)
        else:
            kind = "multiple_choice" if stem == "multi" else "single_choice"
            data = choice_data(100 + position, kind=kind)
            data.stem = stem
        question = add_question(bank, data)
        questions[stem] = question.id
        paper.questions.append(
            ExamPaperQuestion(question_id=question.id, points=Decimal(10), position=position)
        )
    db.commit()

    def plan(i: int) -> dict[str, Any]:
        return {
            "easy": "right",
            "hard": "wrong2" if i % 2 == 0 else None,
            "neg": "right" if i < 3 else "wrong",
            "x": "right" if i >= 3 else "wrong",
            "z": "right" if i >= 3 else None,
            "pos": "right" if i >= 6 else "wrong",
            "y": "right" if i >= 9 else "wrong",
            "multi": "both",
            "tf": i >= 6,
        }

    for i in CANDIDATES:
        attempt = services.start_attempt(db, paper, create_employee(), now=NOW)
        answer(db, attempt, plan(i))
        assert services.submit(db, attempt, now=NOW)
        db.commit()
    # Unfinished: every answer right, never submitted.
    attempt = services.start_attempt(db, paper, create_employee(), now=NOW)
    answer(db, attempt, {stem: "right" for stem in stems if stem != "tf"})
    db.commit()
    # A practice paper with the same questions: finished, but practice.
    practice = ExamPaper(code="PRACTICE", title="练习", kind=PaperKind.fixed, practice=True)
    practice.questions = [
        ExamPaperQuestion(question_id=qid, points=Decimal(10), position=n)
        for n, qid in enumerate(questions.values(), start=1)
    ]
    db.add(practice)
    db.commit()
    db.refresh(practice)
    attempt = services.start_attempt(db, practice, create_employee(), now=NOW)
    answer(db, attempt, {stem: "right" for stem in stems if stem != "tf"})
    services.submit(db, attempt, now=NOW)
    db.commit()
    return {"paper": paper, "practice": practice, "questions": questions}


def item_rows(db: Any, paper: ExamPaper) -> dict[int, ItemStatistic]:
    db.expire_all()
    return {
        s.question_id: s
        for s in db.scalars(sa.select(ItemStatistic).where(ItemStatistic.paper_id == paper.id))
    }


def test_facility_discrimination_and_flags(in_app: None, db: Any, exam: dict[str, Any]) -> None:
    """Facility is the mean share earned (unanswered 0); discrimination is the best 27% minus
    the weakest 27%; the flags follow the thresholds."""
    statistics.refresh_paper(db, exam["paper"], now=NOW)
    db.commit()
    rows = item_rows(db, exam["paper"])
    q = exam["questions"]
    by_stem = {stem: rows[qid] for stem, qid in q.items()}
    assert all(s.shown == 12 for s in rows.values())  # the unfinished attempt is left out
    expected = {
        "easy": (1.0, 0.0, ["too_easy"]),
        "hard": (0.0, 0.0, ["too_hard"]),
        "neg": (0.25, -1.0, ["negative_discrimination"]),
        "x": (0.75, 1.0, []),
        "pos": (0.5, 1.0, []),
        "y": (0.25, 1.0, []),
        "multi": (0.0, 0.0, ["too_hard"]),
        "tf": (0.5, 1.0, []),
    }
    for stem, (facility, discrimination, flags) in expected.items():
        s = by_stem[stem]
        assert s.facility == pytest.approx(facility), stem
        assert s.discrimination == pytest.approx(discrimination), stem
        assert s.flags == flags, stem
        assert s.computed_at == NOW


def test_option_counts_use_the_original_option_indexes(
    in_app: None, db: Any, exam: dict[str, Any]
) -> None:
    """Options are counted by their index in the question (the right one is 0 here), whatever
    order each attempt showed them in; true/false by its value; unanswered not at all."""
    statistics.refresh_paper(db, exam["paper"], now=NOW)
    db.commit()
    by_stem = {stem: item_rows(db, exam["paper"])[qid] for stem, qid in exam["questions"].items()}
    assert by_stem["easy"].option_counts == {"0": 12}
    assert by_stem["hard"].option_counts == {"3": 6}
    assert by_stem["neg"].option_counts == {"0": 3, "1": 9}
    assert by_stem["z"].option_counts == {"0": 9}
    assert by_stem["multi"].option_counts == {"0": 12, "3": 12}
    assert by_stem["tf"].option_counts == {"true": 6, "false": 6}


def test_paper_statistics_and_histogram(in_app: None, db: Any, exam: dict[str, Any]) -> None:
    """Attempts, passes, the mean percent and the bands of the score distribution."""
    statistics.refresh_paper(db, exam["paper"], now=NOW)
    db.commit()
    db.expire_all()
    row = db.scalar(sa.select(PaperStatistic).where(PaperStatistic.paper_id == exam["paper"].id))
    # Scores of 90: 0-2: easy, neg; 3-5: easy, x, z; 6-8: + pos, tf; 9-11: + y.
    percents = [20 / 0.9] * 3 + [30 / 0.9] * 3 + [50 / 0.9] * 3 + [60 / 0.9] * 3
    assert row.attempts == 12
    assert row.passed == 3  # 60% of 90 is 54: only the 60-point attempts pass
    assert row.mean_percent == pytest.approx(sum(percents) / 12)
    assert row.histogram == [0, 0, 3, 3, 0, 3, 3, 0, 0, 0]


def test_bands_include_ninety_and_hundred_in_the_last(
    in_app: None,
    db: Any,
    fixed_paper: Callable[..., ExamPaper],
    create_employee: Callable[..., Any],
) -> None:
    """90% and 100% both land in the last band, 80% in the one before, 0% in the first."""
    paper = fixed_paper(10)
    for right in (10, 9, 8, 0):
        attempt = services.start_attempt(db, paper, create_employee(), now=NOW)
        for n, item in enumerate(services.public_items(db, attempt)):
            if n < right:
                services.save_answer(
                    db, attempt, item["key"], option_text(item, "RIGHT")[0], now=NOW
                )
        services.submit(db, attempt, now=NOW)
        db.commit()
    row = statistics.refresh_paper(db, paper, now=NOW)
    assert row.histogram == [1, 0, 0, 0, 0, 0, 0, 0, 1, 2]
    assert row.passed == 3 and row.mean_percent == pytest.approx(67.5)
    assert all(s.discrimination is None for s in item_rows(db, paper).values())  # < 10 attempts


def test_practice_papers_count_nothing(in_app: None, db: Any, exam: dict[str, Any]) -> None:
    """A practice paper's finished attempts give no statistics."""
    row = statistics.refresh_paper(db, exam["practice"], now=NOW)
    db.commit()
    assert row.attempts == 0 and row.histogram == [0] * 10 and row.mean_percent is None
    assert item_rows(db, exam["practice"]) == {}
    assert statistics.papers_with_attempts(db) == [exam["paper"].id]


def test_refreshing_twice_replaces_the_rows(in_app: None, db: Any, exam: dict[str, Any]) -> None:
    """A second refresh gives the same rows, not more."""
    statistics.refresh_paper(db, exam["paper"], now=NOW)
    db.commit()
    first = {
        qid: (s.shown, s.facility, s.discrimination, s.option_counts, s.flags)
        for qid, s in item_rows(db, exam["paper"]).items()
    }
    statistics.refresh_paper(db, exam["paper"], now=NOW)
    db.commit()
    second = {
        qid: (s.shown, s.facility, s.discrimination, s.option_counts, s.flags)
        for qid, s in item_rows(db, exam["paper"]).items()
    }
    assert first == second
    assert count_rows(db, ItemStatistic) == 9
    assert count_rows(db, PaperStatistic) == 1


def test_the_job_refreshes_one_paper_or_all(app: Any, db: Any, exam: dict[str, Any]) -> None:
    """``exams.statistics`` with a paper id refreshes it; without, every paper with attempts."""
    db.rollback()
    done = run_now(app, statistics.JOB_KIND, {"paper_id": exam["paper"].id})
    assert done.state is JobState.succeeded, done.error
    assert done.result["attempts"] == 12
    assert count_rows(db, ItemStatistic) == 9
    progress: list[tuple[int, int | None]] = []
    done = run_now(app, statistics.JOB_KIND, {}, listener=lambda d, t, m: progress.append((d, t)))
    assert done.state is JobState.succeeded, done.error
    assert done.result == {"papers": 1, "attempts": 12}
    assert progress[-1] == (1, 1)
    assert count_rows(db, ItemStatistic) == 9
    missing = run_now(app, statistics.JOB_KIND, {"paper_id": 999999})
    assert missing.state is JobState.failed


def test_refresh_all_returns_counts(in_app: None, db: Any, exam: dict[str, Any]) -> None:
    """The periodic entry point refreshes the non-practice papers with counted attempts."""
    assert statistics.refresh_all(db, now=NOW) == {"papers": 1, "attempts": 12}


def test_hr_page_refreshes_and_shows_the_statistics(
    client: Any,
    db: Any,
    login: Callable[..., Any],
    create_employee: Callable[..., Any],
    exam: dict[str, Any],
) -> None:
    """HR sees "no statistics yet", refreshes through the job page, then sees the chart and
    the table with flagged questions first and the right options marked."""
    login(create_employee(role=Role.hr))
    url = f"/admin/exams/{exam['paper'].id}/statistics"
    page = client.get(url).get_data(as_text=True)
    assert 'data-testid="no-statistics"' in page and 'data-testid="refresh"' in page
    response = client.post(f"{url}/refresh", data={"csrf_token": csrf_token(client, url)})
    job = wait_for_job(client, response)
    assert job["state"] == "succeeded", job["error"]
    page = client.get(url).get_data(as_text=True)
    assert "<svg" in page and "<script" not in page.split("<svg", 1)[1].split("</svg>")[0]
    assert 'data-testid="attempts">12<' in page
    assert 'data-testid="pass-rate">25.0%<' in page
    order = [page.index(f'data-question-id="{exam["questions"][s]}"') for s in ("neg", "x")]
    assert order[0] < order[1]  # flagged first
    assert 'data-flag="negative_discrimination"' in page and "Too easy" in page
    assert 'data-right="1"' in page


def test_refresh_needs_csrf(
    client: Any, login: Callable[..., Any], create_employee: Callable[..., Any], exam: Any
) -> None:
    """A refresh without the CSRF token is refused and starts no job."""
    login(create_employee(role=Role.admin))
    response = client.post(f"/admin/exams/{exam['paper'].id}/statistics/refresh")
    assert response.status_code == 400


@pytest.mark.parametrize("role", [Role.employee, Role.manager])
def test_employees_and_managers_get_404(
    client: Any,
    login: Callable[..., Any],
    create_employee: Callable[..., Any],
    fixed_paper: Callable[..., ExamPaper],
    role: Role,
) -> None:
    """The page and the refresh do not exist for anyone but HR and admins."""
    paper = fixed_paper(1)
    login(create_employee(role=role))
    url = f"/admin/exams/{paper.id}/statistics"
    assert client.get(url).status_code == 404
    token = csrf_token(client, "/")
    assert client.post(f"{url}/refresh", data={"csrf_token": token}).status_code == 404


def test_unknown_paper_is_404(
    client: Any, login: Callable[..., Any], create_employee: Callable[..., Any]
) -> None:
    """An unknown or absurd paper id answers 404."""
    login(create_employee(role=Role.hr))
    assert client.get("/admin/exams/424242/statistics").status_code == 404
    assert client.get("/admin/exams/99999999999/statistics").status_code == 404
