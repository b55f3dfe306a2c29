"""The Aiken reader: the corpus files as their upstream projects read them, Moodle's errors and
line numbers (``files/aiken/aiken_errors.txt`` is moodle/moodle's
``question/format/aiken/tests/fixtures/aiken_errors.txt`` @2d5d5d79, GPL-3.0-or-later), and
random bytes."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lms.questions.data import SINGLE_CHOICE
from lms.questions.formats import aiken, moodlexml, qti
from lms.questions.types import load_types

FILES = Path(__file__).parent / "files" / "aiken"


def read_text(text: str, file: str = "q.txt"):
    return aiken.read(text.encode("utf-8"), file)


def test_moodle_fixture_imports_two_questions_with_html_shown_as_text(corpus):
    """Moodle's behat aiken_import.feature: "Importing 2 questions from file"."""
    file = corpus / "aiken" / "moodle__moodle__questions.aiken.txt"
    parsed = aiken.read(file.read_bytes(), file.name)
    assert parsed.errors == []
    assert len(parsed.questions) == 2
    first, second = parsed.questions
    assert first.type == SINGLE_CHOICE and first.line == 1
    assert first.stem == "The Moodle project was started by:"
    assert [c.text for c in first.choices] == [
        "Petr Skoda",
        "Martin Dougiamas",
        "Eloy Lafuente",
        "Tim Hunt",
    ]
    assert [c.fraction for c in first.choices] == [0.0, 1.0, 0.0, 0.0]
    # Raw HTML in the stem is text, not markup.
    assert second.stem == (
        "Moodle's abilities include handling user input that includes "
        '&lt;html class="cool"&gt; &amp; images:'
    )
    assert second.line == 8
    assert [(c.text, c.fraction) for c in second.choices] == [("True", 1.0), ("False", 0.0)]


def test_qas_editor_file_gives_five_questions(corpus):
    """QAS-Editor test_aiken.py: 5 questions; question 1's text, its 3 options, the first
    scored 100."""
    file = corpus / "aiken" / "LucasWolfgang__QAS-Editor__aiken_1.txt"
    parsed = aiken.read(file.read_bytes(), file.name)
    assert parsed.errors == []
    assert len(parsed.questions) == 5
    question = parsed.questions[1]
    assert question.stem == (
        "During the month of September 2013, Moodle ran a successful MOOC for teachers new "
        "to Moodle. What was the name of the course?"
    )
    assert question.tags == []
    assert [c.text for c in question.choices] == [
        "Teaching with Moodle",
        "Moodle MOOC",
        "Moodle for Teachers",
    ]
    assert [c.fraction for c in question.choices] == [1.0, 0.0, 0.0]
    # Five options (E) and options that are just " ." are read too.
    assert [c.fraction for c in parsed.questions[0].choices] == [0, 0, 0, 0, 1.0]
    assert [c.text for c in parsed.questions[4].choices] == ["."] * 4


def test_every_corpus_question_is_valid(corpus):
    types = load_types()
    for file in sorted((corpus / "aiken").iterdir()):
        for question in aiken.read(file.read_bytes(), file.name).questions:
            assert types[question.type].validate(question) == [], (file.name, question.line)


def test_moodle_error_fixture_gives_moodles_errors_and_lines():
    """Moodle's aikenformat_test.php: the errors and their lines, and the good questions."""
    parsed = aiken.read((FILES / "aiken_errors.txt").read_bytes(), "aiken_errors.txt")
    errors = {(e.line, e.message) for e in parsed.errors}
    assert [e.line for e in parsed.errors] == [3, 5, 7, 18]
    assert all(e.file == "aiken_errors.txt" for e in parsed.errors)
    by_line = dict(errors)
    assert "A question with too few answers" in by_line[3]
    assert "at least 2 answers" in by_line[3]
    assert "not started" in by_line[5] and "not started" in by_line[7]
    assert "A question started but not finished" in by_line[18]
    assert "not completed before the next question" in by_line[18]
    good = {q.stem: q for q in parsed.questions}
    assert [(c.text, c.fraction) for c in good["A good question"].choices] == [
        ("Correct", 1.0),
        ("Incorrect", 0.0),
    ]
    assert [(c.text, c.fraction) for c in good["A second good question"].choices] == [
        ("Incorrect (No space)", 0.0),
        ("Correct (No space)", 1.0),
    ]


def test_html_characters_in_options_are_escaped():
    """Moodle's newer aikenformat_test: "Correct (< > &)" is stored as escaped text."""
    parsed = read_text(
        "A third good question with HTML chars such as > < &\n"
        "A) Correct (< > &)\nB) Incorrect (< > &)\nANSWER: A\n"
    )
    question = parsed.questions[0]
    assert question.stem == "A third good question with HTML chars such as &gt; &lt; &amp;"
    assert [c.text for c in question.choices] == [
        "Correct (&lt; &gt; &amp;)",
        "Incorrect (&lt; &gt; &amp;)",
    ]


def test_dot_labels_chinese_text_and_crlf_lines():
    text = (
        "城区故障抢修到达现场的时限是？\r\nA. 30分钟\r\nB. 45分钟\r\nC. 90分钟\r\nANSWER: B\r\n\r\n"
    )
    text += "计划停电应提前几天公告？\r\nA) 3天\r\nB) 7天\r\nANSWER: B\r\n"
    parsed = read_text(text)
    assert parsed.errors == []
    assert [q.line for q in parsed.questions] == [1, 7]
    assert [c.text for c in parsed.questions[0].choices] == ["30分钟", "45分钟", "90分钟"]
    assert parsed.questions[1].choices[1].fraction == 1.0


def test_gb18030_file_is_read():
    text = "供电服务热线是？\nA) 95598\nB) 12345\nANSWER: A\n"
    parsed = aiken.read(text.encode("gb18030"), "q.txt")
    assert parsed.errors == [] and parsed.questions[0].stem == "供电服务热线是？"


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("Q?\nA) x\nB) y\nANSWER: C\n", 4, "names none of its options"),
        ("Q?\nA) x\nB) y\nANSWER:\n", 4, "names none of its options"),
        ("Q?\nA) x\nB) y\nANSWER: b\n", 4, "names none of its options"),
        ("Good?\nA) x\nB) y\nANSWER: A\n\nOpen question?\nA) x\nB) y\n", 6, "file ends"),
        ("", None, "no Aiken question"),
    ],
)
def test_malformed_files_give_an_error_naming_the_line(text, line, words):
    parsed = read_text(text)
    assert parsed.errors, parsed
    assert parsed.errors[0].line == line
    assert words in parsed.errors[0].message


def test_bytes_that_are_not_text_give_one_error():
    parsed = aiken.read(b"\xff\xfe\x00\x81\x82", "q.txt")
    assert len(parsed.errors) == 1 and parsed.questions == []


def test_sniff_claims_aiken_and_nothing_else(corpus):
    for file in (corpus / "aiken").iterdir():
        assert aiken.sniff(file.read_bytes(), file.name), file.name
    others = [f for d in ("gift", "moodlexml", "qti", "chinese") for f in (corpus / d).glob("*.*")]
    for file in others:
        assert not aiken.sniff(file.read_bytes(), file.name), file.name
    yaml = "bank:\n  code: x\nquestions:\n  - type: single_choice\n    answer: B\n"
    assert not aiken.sniff(yaml.encode(), "bank.yaml")
    assert not aiken.sniff(b"\xff\xd8\xff\xe0 binary", "x.txt")
    # Nor do the other formats claim Aiken files.
    for file in (corpus / "aiken").iterdir():
        for other in (moodlexml, qti):
            assert not other.sniff(file.read_bytes(), file.name), (other, file.name)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=3000))
def test_random_bytes_give_questions_or_errors(data):
    parsed = aiken.read(data, "random.txt")
    assert all(p.file == "random.txt" and p.message for p in parsed.errors + parsed.warnings)
    aiken.sniff(data, "random.txt")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["Q?", "问题", "A) x", "B. y", "C)z", "ANSWER: A", "ANSWER: B",
                                 "", " ", "E) e"]), max_size=30))  # fmt: skip
def test_random_line_sequences_never_crash(lines):
    parsed = read_text("\n".join(lines))
    types = load_types()
    for question in parsed.questions:
        assert types[question.type].validate(question) == []
