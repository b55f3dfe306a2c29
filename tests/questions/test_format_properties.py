"""Property tests of every format: random banks survive a write and a read in each writable
format, and random bytes given to each reader give questions or clean errors, never an
exception."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lms.questions.data import Choice, MatchPair, NumericAnswer, QuestionData
from lms.questions.formats import formats, writable_formats
from lms.questions.html import plain_to_html
from lms.questions.services import validate
from lms.questions.types import load_types

TYPES = load_types()

# Words, not arbitrary strings: readers may fold runs of white space, which is no loss.
WORD = st.text(
    alphabet=st.characters(
        codec="utf-8",
        categories=("L", "N", "P", "S"),
        exclude_characters="\x85\u2028\u2029",
    ),
    min_size=1,
    max_size=8,
)
PLAIN = st.lists(WORD, min_size=1, max_size=6).map(" ".join)
CHINESE = st.sampled_from(["供电服务", "95598", "抢修", "职业道德", "计量装置", "安规", "农电"])
TEXT = st.one_of(PLAIN, CHINESE)
HTML = TEXT.map(plain_to_html)
LABELS = st.lists(TEXT, max_size=3, unique=True)


@st.composite
def choices(draw, right: int, total: int) -> list[Choice]:
    texts = draw(st.lists(TEXT, min_size=total, max_size=total, unique=True))
    positions = draw(st.permutations(range(total)))[:right]
    fraction = 1.0 / right
    return [
        Choice(plain_to_html(t), fraction if i in positions else 0.0) for i, t in enumerate(texts)
    ]


@st.composite
def questions(draw) -> QuestionData:
    kind = draw(st.sampled_from(sorted(TYPES)))
    question = QuestionData(
        type=kind,
        stem=draw(HTML),
        name=draw(st.one_of(st.just(""), TEXT)),
        explanation=draw(st.one_of(st.just(""), HTML)),
        difficulty=draw(st.integers(1, 5)),
        points=draw(st.sampled_from([1.0, 2.0, 0.5, 5.0])),
        knowledge_points=draw(LABELS),
        posts=draw(LABELS),
        source=draw(st.one_of(st.just(""), TEXT)),
        tags=draw(LABELS),
        external_id=draw(st.from_regex(r"[A-Z]{2}-[0-9]{3}", fullmatch=True)),
    )
    if kind == "single_choice":
        question.choices = draw(choices(1, draw(st.integers(2, 6))))
    elif kind == "multiple_choice":
        right = draw(st.sampled_from([2, 4]))
        question.choices = draw(choices(right, right + draw(st.integers(1, 3))))
    elif kind == "true_false":
        question.answer_true = draw(st.booleans())
    elif kind == "fill_in":
        question.stem = plain_to_html(draw(TEXT) + " ___ " + draw(TEXT))
        answers = draw(st.lists(TEXT, min_size=1, max_size=3, unique=True))
        question.blanks = [[Choice(a, 1.0) for a in answers]]
    elif kind == "numerical":
        value = draw(st.integers(-10_000, 10_000)) / 100
        tolerance = draw(st.sampled_from([0.0, 0.01, 0.5, 2.0]))
        question.numbers = [NumericAnswer(value=value, tolerance=tolerance)]
    elif kind == "matching":
        prompts = draw(st.lists(TEXT, min_size=2, max_size=4, unique=True))
        answers = draw(st.lists(TEXT, min_size=len(prompts), max_size=len(prompts), unique=True))
        question.pairs = [
            MatchPair(plain_to_html(p), a) for p, a in zip(prompts, answers, strict=True)
        ]
    elif kind == "description":
        question.explanation = ""  # a description has nothing to explain (GIFT has no room)
    elif kind == "short_answer":
        question.reference_answer = draw(st.one_of(st.just(""), HTML))
    return question


def carried(module, question: QuestionData) -> dict:
    """The fields of ``question`` that the format says it carries."""
    return {k: v for k, v in dataclasses.asdict(question).items() if k in module.CARRIES}


def module_of(name: str):
    return __import__(formats()[name].read.__module__, fromlist=["CARRIES"])


@pytest.mark.parametrize("name", sorted(writable_formats()))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bank=st.lists(questions(), min_size=1, max_size=6, unique_by=lambda q: q.external_id))
def test_write_then_read_gives_the_same_questions(name, bank):
    """A random bank written in a writable format and read back gives the same questions."""
    fmt = formats()[name]
    module = module_of(name)
    bank = [q for q in bank if q.type in module.TYPES]
    data = fmt.write(bank, {"code": "prop", "title": "属性测试"})
    parsed = fmt.read(data, f"bank{fmt.extensions[0]}")
    validate(parsed, TYPES)
    assert parsed.errors == []
    assert [carried(module, q) for q in parsed.questions] == [carried(module, q) for q in bank]


@pytest.mark.parametrize("name", sorted(formats()))
@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=2000))
def test_random_bytes_give_questions_or_clean_errors(name, data):
    """Random bytes never crash a reader: it returns questions, or errors that name the file."""
    parsed = formats()[name].read(data, "random.bin")
    for problem in parsed.errors + parsed.warnings:
        assert problem.file == "random.bin" and problem.message
    if parsed.errors:
        return
    validate(parsed, TYPES)  # what a reader accepts, the import checks without crashing


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.binary(max_size=1500), name=st.sampled_from(["x.gift", "x.xml", "x.yaml", "x.csv"]))
def test_random_bytes_never_import_part_of_a_file(app, db, data, name):
    """An import of random bytes stores all of its questions or none of them."""
    import sqlalchemy as sa

    from lms.questions.formats import read_file
    from lms.questions.models import Question
    from lms.questions.services import get_or_create_bank, import_files

    count = sa.select(sa.func.count()).select_from(Question)
    before = db.scalar(count)
    with app.app_context():
        parsed = read_file(data, name)
        bank = get_or_create_bank(db, "fuzz", title="fuzz")
        result = import_files(db, [(parsed, bank)], types=TYPES, actor=None)
        db.commit()
    stored = db.scalar(count) - before
    assert stored == (0 if result.errors else result.details["created"])
