"""The Moodle XML reader and writer: the corpus as QAS-Editor reads it (test_moodle.py reads
each file, writes it, reads it back and compares), every element and type, embedded files, safe
XML, and write-read round trips of every type."""

from __future__ import annotations

import base64
import dataclasses
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lms.questions import data as d
from lms.questions.data import Choice, MatchPair, NumericAnswer, QuestionData
from lms.questions.formats import aiken, moodlexml, qti
from lms.questions.html import sanitise
from lms.questions.types import load_types

TYPES = load_types()
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24


def quiz(*questions: str) -> bytes:
    return (
        "<?xml version='1.0' encoding='UTF-8'?>\n<quiz>\n" + "\n".join(questions) + "\n</quiz>\n"
    ).encode()


def question(kind: str, body: str = "", text: str = "Q?", name: str = "q") -> str:
    return (
        f'<question type="{kind}">\n<name><text>{name}</text></name>\n'
        f'<questiontext format="html"><text><![CDATA[{text}]]></text></questiontext>\n'
        f"{body}\n</question>"
    )


def read_one(xml: bytes) -> QuestionData:
    parsed = moodlexml.read(xml, "q.xml")
    assert parsed.errors == [], parsed.errors
    assert len(parsed.questions) == 1
    return parsed.questions[0]


def roundtrip(questions: list[QuestionData]) -> list[QuestionData]:
    parsed = moodlexml.read(moodlexml.write(questions, {"code": "x", "title": "x"}), "back.xml")
    assert parsed.errors == [] and parsed.warnings == []
    return parsed.questions


def carried(question: QuestionData) -> dict:
    return {k: v for k, v in dataclasses.asdict(question).items() if k in moodlexml.CARRIES}


# --- the corpus ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["matching", "numerical", "shortanswer"])
def test_corpus_file_survives_read_write_read(corpus, name):
    """QAS-Editor's test_moodle.py: read, write, read again, and compare."""
    file = corpus / "moodlexml" / f"LucasWolfgang__QAS-Editor__{name}.xml"
    assert moodlexml.sniff(file.read_bytes(), file.name)
    first = moodlexml.read(file.read_bytes(), file.name)
    assert first.errors == [] and len(first.questions) == 1
    assert TYPES[first.questions[0].type].validate(first.questions[0]) == []
    again = roundtrip(first.questions)
    assert [carried(q) for q in again] == [carried(q) for q in first.questions]


def test_corpus_matching_keeps_the_empty_text_distractor(corpus):
    file = corpus / "moodlexml" / "LucasWolfgang__QAS-Editor__matching.xml"
    q = read_one(file.read_bytes())
    assert (q.type, q.name, q.points, q.line) == (d.MATCHING, "h1", 1.11, 3)
    assert q.stem.startswith("<p>Match the cool Moodle features")
    assert q.pairs == [
        MatchPair("<p>Drag and drop files</p>", "Moodle 2.3"),
        MatchPair("<p>Groupings</p>", "Moodle 1.9"),
        MatchPair("<p>Repositories</p>", "Moodle 2.0"),
        MatchPair("", "Moodle 2.5"),  # the distractor
    ]
    assert "Moodle 2.5" in TYPES[d.MATCHING].public(q)["answers"]


def test_corpus_numerical_keeps_the_number_and_warns_about_units(corpus):
    file = corpus / "moodlexml" / "LucasWolfgang__QAS-Editor__numerical.xml"
    parsed = moodlexml.read(file.read_bytes(), file.name)
    q = parsed.questions[0]
    assert (q.type, q.name) == (d.NUMERICAL, "num:int")
    assert q.numbers == [NumericAnswer(value=150.0, tolerance=0.0, fraction=1.0)]
    assert r"\(2x-300=0\)" in q.stem and "<strong>exact</strong>" in q.stem
    [warning] = parsed.warnings
    assert warning.line == 3 and "cm, mm, m" in warning.message and "num:int" in warning.message
    assert TYPES[d.NUMERICAL].grade(q, "150") == 1.0


def test_corpus_shortanswer_has_its_wrong_answer_and_feedback(corpus):
    file = corpus / "moodlexml" / "LucasWolfgang__QAS-Editor__shortanswer.xml"
    q = read_one(file.read_bytes())
    assert (q.type, q.name, q.points, q.case_sensitive) == (d.FILL_IN, "h3", 1.12, False)
    [blank] = q.blanks
    assert [(a.text, a.fraction) for a in blank] == [("Crete", 1.0), ("Greece", 0.0)]
    assert blank[0].feedback.startswith("<p>Correct. Well done!")
    assert 'href="http://research.moodle.net/"' in blank[0].feedback
    assert blank[1].feedback == "<p>That is the correct country, but we want the island.</p>"
    assert TYPES[d.FILL_IN].grade(q, ["crete"]) == 1.0
    assert TYPES[d.FILL_IN].grade(q, ["Greece"]) == 0.0


# --- reading ------------------------------------------------------------------------------------


def test_nested_categories_apply_to_the_questions_that_follow():
    xml = quiz(
        question("description", text="before"),
        '<question type="category"><category><text>$course$/top/供电服务/承诺</text></category>'
        '<info format="html"><text>x</text></info></question>',
        question("description", text="A"),
        '<question type="category"><category><text>$course$/Default for X/B//C</text></category>'
        "</question>",
        question("description", text="B"),
    )
    parsed = moodlexml.read(xml, "q.xml")
    assert [q.category for q in parsed.questions] == [
        "",
        "$course$/top/供电服务/承诺",
        "$course$/Default for X/B//C",
    ]


def test_multichoice_single_multiple_fractions_and_feedback():
    answers = (
        '<answer fraction="33.33333" format="html"><text>a</text>'
        '<feedback format="html"><text>fa</text></feedback></answer>'
        '<answer fraction="33.33333"><text>b</text></answer>'
        '<answer fraction="33.33333"><text>c</text></answer>'
        '<answer fraction="-14.28571"><text>d</text></answer>'
        '<answer fraction="0"><text><![CDATA[<b onclick="x()">e</b>]]></text></answer>'
    )
    q = read_one(quiz(question("multichoice", "<single>false</single>" + answers)))
    assert q.type == d.MULTIPLE_CHOICE
    assert [c.fraction for c in q.choices] == [1 / 3, 1 / 3, 1 / 3, -1 / 7, 0.0]
    assert q.choices[0].feedback == "fa" and q.choices[4].text == "<b>e</b>"
    two = '<answer fraction="100"><text>x</text></answer>'
    two += '<answer fraction="50"><text>y</text></answer>'
    single = read_one(quiz(question("multichoice", two)))
    assert single.type == d.SINGLE_CHOICE and [c.fraction for c in single.choices] == [1.0, 0.5]


def test_common_elements():
    body = (
        '<generalfeedback format="html"><text>因为 &lt;b&gt;是&lt;/b&gt;</text></generalfeedback>'
        "<defaultgrade>2.5000000</defaultgrade><idnumber> SS-001 </idnumber>"
        "<tags><tag><text>安全</text></tag><tag><text>知识点:安规</text></tag>"
        "<tag><text>岗位:抢修</text></tag><tag><text>出处:安规第3条</text></tag>"
        "<tag><text>难度:4</text></tag><tag><text>难度:9</text></tag></tags>"
        '<answer fraction="100"><text>true</text></answer>'
        '<answer fraction="0"><text>false</text></answer>'
    )
    q = read_one(quiz(question("truefalse", body, name="名称")))
    assert (q.name, q.explanation, q.points, q.external_id) == (
        "名称",
        "因为 <b>是</b>",
        2.5,
        "SS-001",
    )
    assert (q.tags, q.knowledge_points, q.posts) == (["安全", "难度:9"], ["安规"], ["抢修"])
    assert (q.source, q.difficulty, q.answer_true) == ("安规第3条", 4, True)


@pytest.mark.parametrize(
    ("fmt", "text", "stem"),
    [
        ("html", "<p>a<script>x</script></p>", "<p>a</p>"),
        ("plain_text", "a < b\nc", "a &lt; b<br>c"),
        ("markdown", "**a**", "<p><strong>a</strong></p>"),
        ("moodle_auto_format", "a <b>b</b>\nc", "a <b>b</b><br>c"),
    ],
)
def test_text_formats(fmt, text, stem):
    xml = quiz(
        f'<question type="description"><name><text>n</text></name><questiontext format="{fmt}">'
        f"<text><![CDATA[{text}]]></text></questiontext></question>"
    )
    assert read_one(xml).stem == stem


def test_truefalse_false_is_right_and_feedback_per_answer():
    body = (
        '<answer fraction="0"><text>true</text><feedback><text>不对</text></feedback></answer>'
        '<answer fraction="100"><text>false</text><feedback><text>对</text></feedback></answer>'
    )
    q = read_one(quiz(question("truefalse", body)))
    assert (q.answer_true, q.feedback_true, q.feedback_false) == (False, "不对", "对")


def test_essay_description_and_case_sensitive_shortanswer():
    essay = read_one(
        quiz(question("essay", '<graderinfo format="html"><text>要点</text></graderinfo>'))
    )
    assert (essay.type, essay.reference_answer) == (d.SHORT_ANSWER, "要点")
    assert read_one(quiz(question("description"))).type == d.DESCRIPTION
    short = read_one(
        quiz(
            question(
                "shortanswer",
                '<usecase>1</usecase><answer fraction="100"><text>York</text></answer>',
            )
        )
    )
    assert short.case_sensitive and short.blanks == [[Choice("York", 1.0)]]


def test_numerical_with_several_answers_and_a_catch_all():
    body = (
        '<answer fraction="100"><text>3.14</text><tolerance>0.01</tolerance></answer>'
        '<answer fraction="50"><text>3</text><tolerance>0.5</tolerance>'
        "<feedback><text>近似</text></feedback></answer>"
        '<answer fraction="0"><text>*</text><feedback><text>不对</text></feedback></answer>'
    )
    q = read_one(quiz(question("numerical", body)))
    widest = NumericAnswer(low=-sys.float_info.max, high=sys.float_info.max, fraction=0.0)
    widest.feedback = "不对"
    assert q.numbers == [
        NumericAnswer(value=3.14, tolerance=0.01, fraction=1.0),
        NumericAnswer(value=3.0, tolerance=0.5, fraction=0.5, feedback="近似"),
        widest,
    ]
    assert TYPES[d.NUMERICAL].grade(q, "3.2") == 0.5 and TYPES[d.NUMERICAL].grade(q, "7") == 0
    assert roundtrip([q])[0].numbers == q.numbers


def test_cloze_of_shortanswer_gaps_is_a_fill_in_question():
    text = (
        "<p>热线 {1:SHORTANSWER:=95598#对~%50%95598 热线#接近~*#错} 与 {2:SA:=A\\}B~=x&amp;y}</p>"
    )
    q = read_one(quiz(question("cloze", "", text)))
    assert q.type == d.FILL_IN and q.stem == "<p>热线 ___ 与 ___</p>"
    assert q.blanks[0] == [
        Choice("95598", 1.0, "对"),
        Choice("95598 热线", 0.5, "接近"),
        Choice("*", 0.0, "错"),
    ]
    assert q.blanks[1] == [Choice("A}B", 1.0), Choice("x&y", 1.0)]
    assert q.points == 3.0 and not q.case_sensitive


def test_cloze_with_other_gaps_and_other_types_are_errors_naming_the_question():
    xml = quiz(
        question("description", text="ok"),
        question("cloze", "", "{1:MULTICHOICE:=a~b}", name="完形"),
        question("calculated", "", name="算"),
    )
    parsed = moodlexml.read(xml, "q.xml")
    assert [e.line for e in parsed.errors] == [8, 13]
    assert "完形" in parsed.errors[0].message and "MULTICHOICE" in parsed.errors[0].message
    assert "算" in parsed.errors[1].message and "calculated" in parsed.errors[1].message


def test_embedded_images_become_data_uris_and_other_files_are_dropped():
    big = b"\xff\xd8\xff" + b"\x00" * (1024 * 1024)
    files = "".join(
        f'<file name="{name}" encoding="base64">{base64.b64encode(content).decode()}</file>'
        for name, content in (("a b.png", PNG), ("s.mp3", b"ID3abc"), ("big.jpg", big))
    )
    text = (
        '<p><img src="@@PLUGINFILE@@/a%20b.png" alt="图"><a href="@@PLUGINFILE@@/s.mp3">听</a>'
        '<img src="@@PLUGINFILE@@/big.jpg"><img src="@@PLUGINFILE@@/gone.png" alt="无"></p>'
    )
    xml = quiz(
        '<question type="description"><name><text>带图</text></name><questiontext format="html">'
        f"<text><![CDATA[{text}]]></text>{files}</questiontext></question>"
    )
    parsed = moodlexml.read(xml, "q.xml")
    stem = parsed.questions[0].stem
    assert f'src="data:image/png;base64,{base64.b64encode(PNG).decode()}"' in stem
    assert "@@PLUGINFILE@@" not in stem and "<a" in stem and 'alt="无"' in stem
    messages = [w.message for w in parsed.warnings]
    assert len(messages) == 3 and all("带图" in m for m in messages)
    assert any("s.mp3" in m for m in messages) and any("big.jpg" in m for m in messages)
    assert any("gone.png" in m for m in messages)
    # The writer embeds the image again, and the round trip keeps it.
    back = roundtrip(parsed.questions)
    assert back[0].stem == stem
    assert b"@@PLUGINFILE@@/image1.png" in moodlexml.write(parsed.questions)


def test_gbk_declared_file_is_read():
    xml = (
        '<?xml version="1.0" encoding="GBK"?>\n<quiz>'
        + question("description", text="中文")
        + "</quiz>"
    )
    assert read_one(xml.encode("gbk")).stem == "中文"


# --- bad files ----------------------------------------------------------------------------------

BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<quiz><question type="description"><questiontext><text>&lol3;</text></questiontext>
</question></quiz>
"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE quiz [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<quiz><question type="description"><questiontext><text>&xxe;</text></questiontext></question></quiz>
"""
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE quiz SYSTEM "http://127.0.0.1:9/x.dtd">
<quiz><question type="description"><questiontext><text>&xxe;</text></questiontext></question></quiz>
"""


@pytest.mark.parametrize("reader", [moodlexml.read, qti.read])
@pytest.mark.parametrize("data", [BOMB, EXTERNAL, EXTERNAL_DTD], ids=["bomb", "entity", "dtd"])
def test_entities_are_refused_with_one_error(reader, data):
    parsed = reader(data, "evil.xml")
    assert len(parsed.errors) == 1 and parsed.questions == []
    assert parsed.errors[0].line in (2, 3)
    assert "passwd" not in str(parsed) and "lollol" not in str(parsed)


@pytest.mark.parametrize(
    ("data", "line", "words"),
    [
        (b"<quiz>\n<question type='description'>\n<name></quiz>", 3, "not well-formed"),
        (b"<quiz>" + b"<a>" * 1000 + b"</a>" * 1000 + b"</quiz>", 1, "nested too deeply"),
        (b"<items/>", 1, "<quiz>"),
        (b"<quiz>\n</quiz>", 1, "no question"),
        (b'<?xml version="1.0" encoding="no-such"?><quiz/>', 1, "encoding"),
        (b"", 1, "not well-formed"),
    ],
)
def test_malformed_files_give_an_error_naming_the_line(data, line, words):
    parsed = moodlexml.read(data, "bad.xml")
    assert parsed.errors and parsed.questions == []
    assert parsed.errors[0].line == line and words in parsed.errors[0].message


def test_bad_numbers_are_errors_naming_the_question():
    xml = quiz(question("numerical", '<answer fraction="x"><text>abc</text></answer>', name="数"))
    parsed = moodlexml.read(xml, "q.xml")
    assert len(parsed.errors) == 2 and all(e.line == 3 and "数" in e.message for e in parsed.errors)


def test_sniff_claims_quiz_documents_only(corpus):
    assert moodlexml.sniff(b"\xef\xbb\xbf<?xml version='1.0'?>\n<!-- x -->\n<quiz>", "a.xml")
    for folder in ("aiken", "gift", "qti", "chinese"):
        for file in (corpus / folder).glob("*.*"):
            assert not moodlexml.sniff(file.read_bytes(), file.name), file.name
    for file in (corpus / "moodlexml").glob("*.xml"):
        assert not qti.sniff(file.read_bytes(), file.name)
        assert not aiken.sniff(file.read_bytes(), file.name)
    assert not moodlexml.sniff(b"bank:\n  code: quiz\n", "b.yaml")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes_give_questions_or_errors(data):
    for payload in (data, b"<quiz>" + data):
        parsed = moodlexml.read(payload, "random.xml")
        assert all(p.file == "random.xml" and p.message for p in parsed.errors + parsed.warnings)


# --- writing ------------------------------------------------------------------------------------

EVERY_TYPE = [
    QuestionData(
        type=d.SINGLE_CHOICE,
        stem="<p>城区故障抢修到达现场的时限是？</p>",
        choices=[
            Choice("30分钟"),
            Choice("<b>45分钟</b>", 1.0, "服务承诺"),
            Choice("90分钟", -0.5),
        ],
        explanation="<p>城区 45 分钟。</p>",
        difficulty=2,
        points=2.0,
        knowledge_points=["服务承诺", "故障抢修"],
        posts=["抢修"],
        source="供电服务规范·服务承诺",
        tags=["知识点:不是知识点", "标签:x", "普通"],
        external_id="SS-001",
        category="服务规范/承诺",
    ),
    QuestionData(
        type=d.MULTIPLE_CHOICE,
        stem="以下哪些属于服务承诺？",
        choices=[Choice("a", 1 / 3), Choice("b", 1 / 3), Choice("c", 1 / 3), Choice("d", -1 / 7)],
        category="服务规范/承诺",
    ),
    QuestionData(
        type=d.TRUE_FALSE,
        stem="计划停电提前 3 天公告。",
        answer_true=False,
        feedback_true="错",
        feedback_false="对",
        category="服务规范",
    ),
    QuestionData(
        type=d.FILL_IN,
        stem="热线 ___",
        blanks=[[Choice("95598", 1.0, "好"), Choice("955 98", 0.5)]],
        case_sensitive=True,
    ),
    QuestionData(
        type=d.FILL_IN,
        stem="<p>号码 ___，合格率 ___%，再 ___</p>",
        blanks=[
            [Choice("95598", 1.0, "<p>#1 ~ {}</p>")],
            [Choice("95", 1.0), Choice("95.0", 0.5)],
            [Choice("a}b~c#d\\e&<f>", 1.0)],
        ],
        points=3.0,
    ),
    QuestionData(
        type=d.NUMERICAL,
        stem="可靠率？",
        numbers=[
            NumericAnswer(value=99.89, tolerance=0.001),
            NumericAnswer(value=99.8, fraction=0.5, feedback="接近"),
        ],
    ),
    QuestionData(
        type=d.MATCHING,
        stem="对应",
        pairs=[
            MatchPair("<p>城区</p>", "45 分钟"),
            MatchPair("农村", "90 分钟"),
            MatchPair("", "30 分钟"),
        ],
    ),
    QuestionData(
        type=d.SHORT_ANSWER, stem="简述流程。", reference_answer="<p>接单、到达</p>", name="流程"
    ),
    QuestionData(type=d.DESCRIPTION, stem=sanitise("<p>案例 <a href='x'>]]&gt;</a></p>"), points=0),
]


def test_every_type_survives_a_write_and_read():
    back = roundtrip(EVERY_TYPE)
    assert [carried(q) for q in back] == [carried(q) for q in EVERY_TYPE]
    for q in back:
        assert TYPES[q.type].validate(q) == [], q


def test_written_file_looks_like_moodles_export():
    xml = moodlexml.write(EVERY_TYPE).decode()
    assert xml.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<quiz>\n')
    assert "<text>服务规范/承诺</text>" in xml and "<text>$course$/top</text>" in xml
    assert 'fraction="33.33333"' in xml and 'fraction="-14.28571"' in xml
    assert 'fraction="-50"' in xml and 'fraction="100"' in xml
    assert '<question type="cloze">' in xml and "{1:SHORTANSWER:=95598#" in xml
    assert "<single>false</single>" in xml and "<usecase>1</usecase>" in xml
    assert "<text>标签:知识点:不是知识点</text>" in xml and "<text>难度:2</text>" in xml
    assert "<idnumber>SS-001</idnumber>" in xml and "<text>SS-001</text>" in xml  # the name


def test_multiple_choice_fractions_are_scaled_to_add_up_to_100():
    q = QuestionData(
        type=d.MULTIPLE_CHOICE,
        stem="x",
        choices=[Choice("a", 1.0), Choice("b", 1.0), Choice("c", -1.0)],
    )
    [back] = roundtrip([q])
    assert [c.fraction for c in back.choices] == [0.5, 0.5, -1.0]


def test_ranges_are_written_as_value_and_tolerance():
    q = QuestionData(
        type=d.NUMERICAL,
        stem="x",
        numbers=[NumericAnswer(low=1.0, high=3.0), NumericAnswer(low=3.141, high=3.142)],
    )
    xml = moodlexml.write([q]).decode()
    assert "<text>3.1415</text>" in xml and "<tolerance>0.0005</tolerance>" in xml
    back = roundtrip([q])[0].numbers
    assert back == [NumericAnswer(value=2.0, tolerance=1.0), NumericAnswer(3.1415, 0.0005)]


def test_a_type_moodle_cannot_hold_is_refused():
    with pytest.raises(ValueError, match="plugin_type"):
        moodlexml.write([QuestionData(type="plugin_type", stem="x")])


TEXT = (
    st.text(
        # XML cannot hold the non-characters U+FFFE and U+FFFF (Moodle XML drops them).
        st.characters(
            codec="utf-8",
            exclude_categories=("Cc", "Cs", "Zl", "Zp"),
            exclude_characters="\ufffe\uffff",
        ),
        min_size=1,
        max_size=20,
    )
    .map(str.strip)
    .filter(bool)
)


@settings(max_examples=100, deadline=None)
@given(answers=st.lists(TEXT, min_size=1, max_size=3, unique=True), blanks=st.integers(1, 3))
def test_any_answer_text_survives_a_cloze_or_short_answer(answers, blanks):
    q = QuestionData(
        type=d.FILL_IN,
        stem=" ___ ".join(["x"] * (blanks + 1)),
        blanks=[[Choice(a, 1.0) for a in answers]] * blanks,
    )
    [back] = roundtrip([q])
    assert back.blanks == q.blanks
