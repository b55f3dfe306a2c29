"""The native YAML format: the documented schema, errors with their lines, the writer, round
trips (pure functions: no database)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from lms.questions.data import Choice, MatchPair, NumericAnswer, QuestionData
from lms.questions.formats import native
from lms.questions.html import plain_to_html
from lms.questions.services import validate
from lms.questions.types import load_types

FILES = Path(__file__).parent / "files" / "yaml"
DOC = Path(__file__).resolve().parents[2] / "docs" / "question-bank-format.md"
TYPES = load_types()


def read(text: str | bytes, file: str = "bank.yaml"):
    return native.read(text.encode() if isinstance(text, str) else text, file)


def one_question(body: str):
    """Parse a file holding one question given as its indented fields."""
    return read("questions:\n  - " + body.strip().replace("\n", "\n    ") + "\n")


def test_the_documented_example_reads_as_documented():
    """The example of docs/question-bank-format.md: bank, eight types, answers."""
    text = DOC.read_text(encoding="utf-8").split("```yaml\n", 1)[1].split("```", 1)[0]
    parsed = read(text)
    validate(parsed, TYPES)
    assert parsed.errors == [] and parsed.warnings == []
    assert parsed.bank["code"] == "service-standards" and parsed.bank["title"]
    assert [q.type for q in parsed.questions] == [
        "single_choice",
        "multiple_choice",
        "true_false",
        "fill_in",
        "numerical",
        "matching",
        "short_answer",
        "description",
    ]
    single, multiple, tf, fill, numerical, matching, short, _desc = parsed.questions
    assert [c.fraction for c in single.choices] == [0, 1, 0, 0]
    assert single.difficulty == 2 and single.knowledge_points == ["服务承诺", "故障抢修"]
    assert single.posts == ["抢修", "营业窗口"] and single.source == "供电服务规范·服务承诺"
    assert [c.fraction for c in multiple.choices] == [1 / 3, 1 / 3, 0, 1 / 3]
    assert tf.answer_true is False and tf.explanation == "应提前 7 天公告。"
    assert [[a.text for a in blank] for blank in fill.blanks] == [["95598"], ["95", "95.0"]]
    assert numerical.numbers == [NumericAnswer(value=99.89, tolerance=0.001)]
    assert matching.pairs[-1] == MatchPair("", "30 分钟")
    assert short.reference_answer.startswith("接单")
    assert [q.line for q in parsed.questions] == [8, 20, 26, 32, 39, 45, 54, 59]


def test_every_field_file():
    """Every field and every form of a text or answer, read into QuestionData."""
    parsed = read((FILES / "every-field.yaml").read_bytes())
    validate(parsed, TYPES)
    assert parsed.errors == [] and parsed.warnings == []
    assert parsed.bank["description"] == "测试用题库。\n第二行说明。"
    q = {question.external_id or "desc": question for question in parsed.questions}
    assert q["EF-01"].stem == "城区故障抢修到达现场的时限是？<br>（单选）"
    assert q["EF-01"].choices[1] == Choice("45分钟", 1.0, "<b>正确</b>")
    assert q["EF-01"].choices[2].text == "<p><strong>90</strong> 分钟</p>"
    assert (q["EF-01"].points, q["EF-01"].tags, q["EF-01"].category) == (2.5, ["时限"], "服务/承诺")
    assert [c.fraction for c in q["EF-02"].choices] == [0.5, 0.5, -1.0]
    assert [c.fraction for c in q["EF-03"].choices] == [0.5, 0, 0.5, 0]
    assert (q["EF-04"].feedback_true, q["EF-04"].feedback_false) == (
        "不对，应提前 7 天。",
        "对，应提前 7 天。",
    )
    assert (
        q["EF-05"].blanks[1][2] == Choice("四五", 0.5, "写法不规范") and q["EF-05"].case_sensitive
    )
    assert q["EF-06"].numbers[1] == NumericAnswer(
        low=99.8, high=99.9, fraction=0.5, feedback="接近了。"
    )
    assert q["EF-06"].numbers[2] == NumericAnswer(value=99.0)
    assert [p.prompt for p in q["EF-07"].pairs] == ["城区", "", "农村", ""]
    assert q["EF-08"].reference_answer.startswith("<ol>")


@pytest.mark.parametrize("name", ["every-field.yaml", "service-standards-sample.yaml"])
def test_write_then_read_is_exact(name):
    """A file read, written and read again gives the same bank and the same questions."""
    parsed = read((FILES / name).read_bytes())
    written = native.write(parsed.questions, parsed.bank)
    again = read(written)
    assert again.errors == [] and again.warnings == []
    assert again.bank == parsed.bank
    assert again.questions == parsed.questions
    assert native.write(again.questions, again.bank) == written


def test_writer_output_is_for_people():
    """Chinese as it is, answer letters, short lists on one line, no defaults, no tags."""
    parsed = read((FILES / "service-standards-sample.yaml").read_bytes())
    text = native.write(parsed.questions, parsed.bank).decode("utf-8")
    assert "\\u" not in text and "!!" not in text
    assert "    answer: B\n" in text and "    answer: [A, B, D]\n" in text
    assert "    options: [30分钟, 45分钟, 90分钟, 2小时]\n" in text
    assert "\n\n  - id: SS-002\n" in text  # a blank line between questions
    assert "difficulty: 3" not in text and "points: 1\n" not in text
    keys = re.findall(r"^    (\w+):", text.split("- id: SS-001", 1)[1].split("- id:", 1)[0], re.M)
    assert keys == [
        "type", "stem", "options", "answer", "explanation", "difficulty", "knowledge_points",
        "posts", "source",
    ]  # fmt: skip


def test_writer_keeps_html_and_weights():
    """Non-plain HTML is written as {html: ...}; weights that letters cannot say as fractions."""
    question = QuestionData(
        type="single_choice",
        stem="<p>一</p><p>二</p>",
        choices=[Choice("甲", 1.0), Choice("乙", 0.5), Choice("a &lt;b&gt;", 0.0)],
    )
    text = native.write([question], {}).decode()
    assert "stem: {html: <p>一</p><p>二</p>}" in text and "answer" not in text
    assert "{text: 乙, fraction: 0.5}" in text and "{text: a <b>, fraction: 0}" in text
    assert text.startswith("questions:")
    assert read(text).questions == [question]


def test_texts_are_taken_as_written():
    """Unquoted numbers and YAML 1.1 booleans stay texts; HTML is sanitised, Markdown safe."""
    parsed = one_question(
        """
type: single_choice
stem: {html: '<p onclick="x()">电压<script>alert(1)</script></p>'}
options: [yes, on, 95598, 1.0, "<b>"]
answer: e
explanation: {markdown: "<i>x</i> **粗**"}
"""
    )
    assert parsed.errors == []
    question = parsed.questions[0]
    assert question.stem == "<p>电压</p>"
    assert [c.text for c in question.choices] == ["yes", "on", "95598", "1.0", "&lt;b&gt;"]
    assert question.choices[4].fraction == 1.0
    assert question.explanation == "<p>&lt;i&gt;x&lt;/i&gt; <strong>粗</strong></p>"


ERRORS = [
    (
        "difficulty is a word",
        "type: true_false\nstem: x\nanswer: true\ndifficulty: hard",
        5,
        "difficulty",
        "must be a number",
    ),
    (
        "points is a list",
        "type: true_false\nstem: x\nanswer: true\npoints: [1]",
        5,
        "points",
        "must be a number",
    ),
    (
        "difficulty out of range",
        "type: true_false\nstem: x\nanswer: true\ndifficulty: 6",
        5,
        "difficulty",
        "1 to 5",
    ),
    (
        "unknown field",
        "type: single_choice\nstem: x\noptions: [a, b]\nanwser: B",
        5,
        "anwser",
        "did you mean answer",
    ),
    (
        "field of another type",
        "type: true_false\nstem: x\nanswer: true\noptions: [a, b]",
        5,
        "options",
        "does not apply",
    ),
    (
        "answer letter out of range",
        "type: single_choice\nstem: x\noptions: [a, b]\nanswer: E",
        5,
        "answer",
        "only 2 options",
    ),
    (
        "two answers to a single choice",
        "type: single_choice\nstem: x\noptions: [a, b]\nanswer: [A, B]",
        5,
        "answer",
        "one right option",
    ),
    (
        "answer is not letters",
        "type: multiple_choice\nstem: x\noptions: [a, b]\nanswer: [A, 甲]",
        5,
        "answer",
        "option letters",
    ),
    (
        "true/false answer is a word",
        "type: true_false\nstem: x\nanswer: 对",
        4,
        "answer",
        "true or false",
    ),
    (
        "no answer",
        "type: single_choice\nstem: x\noptions: [a, b]",
        4,
        "answer",
        "missing",
    ),
    (
        "answer against fractions",
        "type: multiple_choice\nstem: x\noptions: [{text: a, fraction: 1}, b]\nanswer: B",
        5,
        "answer",
        "disagrees",
    ),
    (
        "fraction out of range",
        "type: multiple_choice\nstem: x\noptions: [{text: a, fraction: 2}, b]",
        4,
        "options",
        "-1 to 1",
    ),
    (
        "value and range",
        "type: numerical\nstem: x\nnumbers:\n  - {value: 1, low: 0, high: 2}",
        5,
        "numbers",
        "{value, tolerance} or {low, high}",
    ),
    (
        "text is a list",
        "type: true_false\nstem: [a, b]\nanswer: true",
        3,
        "stem",
        "must be a text",
    ),
    ("no type", "stem: x", 2, "type", "no type"),
    ("no stem", "type: true_false\nanswer: true", 2, "stem", "no stem"),
    ("key twice", "type: true_false\nstem: x\nstem: y\nanswer: true", 4, "stem", "twice"),
    (
        "html and text mixed",
        "type: true_false\nstem: {html: a, text: b}\nanswer: true",
        3,
        "stem",
        "{html: ...}",
    ),
]


@pytest.mark.parametrize(
    ("body", "line", "field", "message"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS]
)
def test_errors_name_the_line_and_the_field(body, line, field, message):
    """Each schema error names the line (questions: start on line 2) and the field."""
    parsed = one_question(body)
    first = parsed.errors[0]
    assert (first.file, first.line, first.column) == ("bank.yaml", line, field)
    assert message in first.message
    assert len(parsed.errors) == 1 or field == "anwser"  # then "answer is missing" too


def test_duplicate_id_names_both_lines():
    """An id used twice is an error that names both questions' lines."""
    parsed = read(
        "questions:\n"
        "  - {id: A1, type: true_false, stem: x, answer: true}\n"
        "  - {id: A2, type: true_false, stem: y, answer: true}\n"
        "  - {id: A1, type: true_false, stem: z, answer: false}\n"
    )
    assert [(p.line, p.column) for p in parsed.errors] == [(4, "id")]
    assert "lines 2 and 4" in parsed.errors[0].message


def test_bad_indentation_is_a_syntax_error_with_its_line():
    """YAML that does not parse is one error naming the line."""
    parsed = read("questions:\n  - type: true_false\n    stem: x\n   answer: true\n")
    assert len(parsed.errors) == 1 and parsed.questions == []
    assert parsed.errors[0].line == 4 and "YAML syntax error" in parsed.errors[0].message


@pytest.mark.parametrize(
    ("data", "line", "message"),
    [
        (b"", 1, "empty"),
        (b"questions:\n  - stem: \xff\n", 2, "not UTF-8"),
        (b"questions:\n  - stem: a\x07\n", 2, "character"),
        (b"- a\n- b\n", 1, "mapping"),
        (b"bank: {code: x, title: y}\n", 1, "no questions"),
        (b"questions: []\nextra: 1\n", 2, "Unknown field extra"),
        (b"questions: [[[[[[[[[[" * 200 + b"\n", None, ""),
    ],
    ids=["empty", "not-utf8", "control", "list", "no-questions", "top-level-typo", "deep"],
)
def test_whole_file_errors(data, line, message):
    """Files that are not a bank give one clean error."""
    parsed = read(data)
    assert parsed.errors and parsed.questions == []
    if line is not None:
        assert parsed.errors[0].line == line and message in parsed.errors[0].message


def test_anchors_and_aliases_are_refused():
    """An alias could multiply the document (billion laughs): refused with the line."""
    parsed = read("questions:\n  - &q {type: true_false, stem: x, answer: true}\n  - *q\n")
    assert [p.line for p in parsed.errors] == [2]
    assert "aliases" in parsed.errors[0].message
    laughs = "  - type: true_false\n    stem: x\n    answer: true\n    tags: &a [x, x, x, x]\n"
    laughs += "    posts: &b [*a, *a, *a, *a]\n    knowledge_points: [*b, *b, *b, *b]\n"
    parsed = read("questions:\n" + laughs)
    # the line is the anchor's (&a on line 5, &b on line 6), the field the one that reuses it
    assert [(p.line, p.column) for p in parsed.errors] == [(5, "posts"), (6, "knowledge_points")]


def test_bank_header_checks():
    """The bank needs a code (lower-case, digits, -) and a title; unknown keys are errors."""
    parsed = read("bank:\n  code: Service Standards\n  titel: 服务\nquestions: []\n")
    assert [(p.line, p.column) for p in parsed.errors] == [(2, "code"), (3, "titel"), (2, "title")]
    assert read("questions: []\n").errors == []  # the bank may come from --bank


def test_fill_in_blank_count_warning():
    """A stem with another number of ___ than blanks given is a warning."""
    parsed = one_question("type: fill_in\nstem: 热线是 ___。\nblanks: [[95598], [x]]")
    assert parsed.errors == []
    assert [(w.line, w.column) for w in parsed.warnings] == [(2, "blanks")]


def test_plug_in_types_pass_through():
    """A type the reader does not know keeps every field; the registry judges it later."""
    parsed = one_question("type: hotspot\nstem: 图\nanswer: true\nreference_answer: x")
    assert parsed.errors == [] and parsed.questions[0].type == "hotspot"
    validate(parsed, TYPES)
    assert "Unknown question type" in parsed.errors[0].message


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"bank:\n  code: x\n", True),
        (b"\xef\xbb\xbfquestions:\n  - type: x\n", True),
        (b"# comment\nquestions: # here\n", True),
        (b"::Q1:: 1+1=2 {T}\n", False),
        (b"What is 1+1?\nA. 2\nB. 3\nANSWER: A\n", False),
        ("题干,答案\nx,A\n".encode(), False),
        (b"<?xml version='1.0'?><quiz></quiz>", False),
        (b"questions: of the day {=yes}\n", False),
    ],
)
def test_sniff(data, expected):
    """YAML is recognised by a top-level bank: or questions: line, nothing else."""
    assert native.sniff(data, "f") is expected


# Property tests ----------------------------------------------------------------------------

WORD = st.text(
    alphabet=st.characters(codec="utf-8", categories=("L", "N", "P", "S")), min_size=1, max_size=6
)
TEXT = st.one_of(
    st.lists(WORD, min_size=1, max_size=4).map(" ".join),
    st.sampled_from(
        ["供电", "yes", "95598", "1.0", "~", "null", "- x", "a: b", "#", "a\x85b\u2028c", "末尾\n"]
    ),
    st.sampled_from(["  缩进", "一\n  二", "...", "---", "'\"", "\\", "\t制表"]),
)
HTML = st.one_of(
    TEXT.map(plain_to_html),
    st.sampled_from(["<p>段落</p>", "<b>粗</b> &amp; 细", "一<br>二", "<ol>\n<li>a</li>\n</ol>"]),
)
FRACTION = st.sampled_from([1.0, 0.5, 0.0, -0.5, -1.0, 1 / 3, 0.1])


@st.composite
def questions(draw) -> QuestionData:
    kind = draw(st.sampled_from(sorted(native.TYPES)))
    q = QuestionData(
        type=kind,
        stem=draw(HTML),
        name=draw(st.one_of(st.just(""), TEXT)),
        explanation=draw(st.one_of(st.just(""), HTML)),
        difficulty=draw(st.integers(1, 5)),
        points=draw(st.sampled_from([1.0, 0.0, 2.0, 0.5, 1e-3, 12.75])),
        knowledge_points=draw(st.lists(TEXT, max_size=3)),
        posts=draw(st.lists(TEXT, max_size=2)),
        tags=draw(st.lists(TEXT, max_size=2)),
        source=draw(st.one_of(st.just(""), TEXT)),
        category=draw(st.one_of(st.just(""), TEXT)),
        external_id=draw(st.one_of(st.just(""), TEXT)),
    )
    feedback = st.one_of(st.just(""), HTML)
    if kind in ("single_choice", "multiple_choice"):
        q.choices = [
            Choice(draw(HTML), draw(FRACTION), draw(feedback))
            for _ in range(draw(st.integers(2, 6)))
        ]
    elif kind == "true_false":
        q.answer_true = draw(st.booleans())
        q.feedback_true, q.feedback_false = draw(feedback), draw(feedback)
    elif kind == "fill_in":
        q.blanks = [
            [
                Choice(draw(TEXT), draw(FRACTION), draw(feedback))
                for _ in range(draw(st.integers(1, 3)))
            ]
            for _ in range(draw(st.integers(1, 3)))
        ]
        q.stem = plain_to_html(" ___ ".join(draw(TEXT) for _ in range(len(q.blanks) + 1)))
        q.case_sensitive = draw(st.booleans())
    elif kind == "numerical":
        number = st.floats(allow_nan=False, allow_infinity=False)
        q.numbers = [
            draw(
                st.one_of(
                    st.builds(NumericAnswer, value=number, tolerance=number, fraction=FRACTION),
                    st.builds(
                        NumericAnswer, low=number, high=number, fraction=FRACTION, feedback=feedback
                    ),
                )
            )
            for _ in range(draw(st.integers(1, 3)))
        ]
    elif kind == "matching":
        q.pairs = [
            MatchPair(draw(st.one_of(st.just(""), HTML)), draw(TEXT))
            for _ in range(draw(st.integers(1, 5)))
        ]
    elif kind == "short_answer":
        q.reference_answer = draw(st.one_of(st.just(""), HTML))
    return q


@settings(max_examples=200, deadline=None)
@given(bank=st.lists(questions(), max_size=5, unique_by=lambda q: q.external_id or id(q)))
def test_random_banks_survive_write_and_read(bank):
    """Random questions of every type, with weights, feedback, HTML and odd texts, come back
    field for field."""
    data = native.write(bank, {"code": "prop", "title": "属性"})
    parsed = read(data)
    assert parsed.errors == []
    assert parsed.questions == bank
    assert {f for f in QuestionData.__dataclass_fields__ if f != "line"} - native.CARRIES == set()


@settings(max_examples=300, deadline=None)
@given(
    data=st.one_of(
        st.binary(max_size=500), st.text(max_size=300).map(lambda t: ("questions:\n" + t).encode())
    )
)
def test_random_bytes_give_questions_or_clean_errors(data):
    """Whatever the bytes, the reader returns; every problem has a message."""
    parsed = read(data)
    assert all(p.message for p in parsed.errors + parsed.warnings)


@settings(max_examples=300, deadline=None)
@given(
    doc=st.dictionaries(
        st.sampled_from(["bank", "questions"]),
        st.recursive(
            st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=4)),
            lambda inner: st.one_of(
                st.lists(inner, max_size=3),
                st.dictionaries(
                    st.sampled_from([*native.FIELDS, "text", "html", "value"]), inner, max_size=4
                ),
            ),
            max_leaves=12,
        ),
    )
)
def test_random_documents_give_questions_or_clean_errors(doc):
    """Random YAML structures in the schema's words never crash the reader."""
    parsed = read(yaml.safe_dump(doc, allow_unicode=True))
    assert all(p.message for p in parsed.errors + parsed.warnings)
