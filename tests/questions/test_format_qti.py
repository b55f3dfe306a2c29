"""The QTI reader: the corpus items (QTI 2.1 from oat-sa/qti-sdk, QTI 3.0 from Citolab), the
same item in both versions giving the same question, mappings, text entries, bad files."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lms.questions import data as d
from lms.questions.data import Choice
from lms.questions.formats import aiken, moodlexml, qti
from lms.questions.types import load_types

TYPES = load_types()
QTI21 = 'xmlns="http://www.imsglobal.org/xsd/imsqti_v2p1"'


def read_corpus(corpus, name: str):
    file = corpus / "qti" / name
    parsed = qti.read(file.read_bytes(), file.name)
    assert parsed.errors == [] and len(parsed.questions) == 1
    question = parsed.questions[0]
    assert TYPES[question.type].validate(question) == []
    return parsed, question


def item(declarations: str, body: str, processing: str = "") -> bytes:
    return (
        f'<?xml version="1.0"?>\n<assessmentItem {QTI21} identifier="I1" title="T">\n'
        f"{declarations}\n<itemBody>\n{body}\n</itemBody>\n{processing}</assessmentItem>\n"
    ).encode()


def read_one(data: bytes):
    parsed = qti.read(data, "item.xml")
    assert parsed.errors == [], parsed.errors
    return parsed.questions[0]


def test_qti21_single_choice(corpus):
    parsed, q = read_corpus(corpus, "oat-sa__qti-sdk__choice.xml")
    assert (q.type, q.external_id, q.name, q.line) == (
        d.SINGLE_CHOICE,
        "choice",
        "Unattended Luggage",
        3,
    )
    assert [(c.text, c.fraction) for c in q.choices] == [
        ("You must stay with your luggage at all times.", 1.0),
        ("Do not let someone else look after your luggage.", 0.0),
        ("Remember your luggage when you leave.", 0.0),
    ]
    # The body and the prompt make the stem; the picture is not in the file: its text stays.
    assert q.stem == (
        '<p>Look at the text in the picture.</p> <p> <img alt="NEVER LEAVE LUGGAGE UNATTENDED"> '
        "</p> <p>What does it say?</p>"
    )
    [warning] = parsed.warnings
    assert warning.line == 3 and "images/sign.png" in warning.message


def test_qti21_multiple_choice_with_mapping(corpus):
    """mapping H=1, O=1, Cl=-1, default -2, upperBound 2: fractions against the maximum."""
    _parsed, q = read_corpus(corpus, "oat-sa__qti-sdk__choice_multiple.xml")
    assert (q.type, q.points, q.external_id) == (d.MULTIPLE_CHOICE, 2.0, "choiceMultiple")
    assert q.stem == "<p>Which of the following elements are used to form water?</p>"
    assert [(c.text, c.fraction) for c in q.choices] == [
        ("Hydrogen", 0.5),
        ("Helium", -1.0),
        ("Carbon", -1.0),
        ("Oxygen", 0.5),
        ("Nitrogen", -1.0),
        ("Chlorine", -0.5),
    ]
    multiple = TYPES[d.MULTIPLE_CHOICE]
    assert multiple.grade(q, [0, 3]) == 1.0 and multiple.grade(q, [0]) == 0.0
    assert multiple.grade(q, [0, 3, 5], proportional=True) == 0.5


def test_qti21_text_entry_with_case_sensitive_mapping(corpus):
    _parsed, q = read_corpus(corpus, "oat-sa__qti-sdk__text_entry.xml")
    assert (q.type, q.case_sensitive, q.external_id) == (d.FILL_IN, True, "textEntry")
    assert q.blanks == [[Choice("York", 1.0), Choice("york", 0.5)]]
    assert "sun of ___;<br> And all the clouds" in q.stem
    assert q.stem.startswith("<p>Identify the missing word") and "<blockquote>" in q.stem
    fill_in = TYPES[d.FILL_IN]
    assert [fill_in.grade(q, [a]) for a in ("York", "york", "YORK")] == [1.0, 0.5, 0.0]


@pytest.mark.parametrize(
    ("qti3", "qti21"),
    [
        ("Citolab__qti-components__choice.xml", "oat-sa__qti-sdk__choice.xml"),
        ("Citolab__qti-components__text_entry.xml", "oat-sa__qti-sdk__text_entry.xml"),
    ],
)
def test_qti3_and_qti21_versions_give_the_same_question(corpus, qti3, qti21):
    def content(name: str) -> dict:
        data = dataclasses.asdict(read_corpus(corpus, name)[1])
        return {k: v for k, v in data.items() if k not in ("external_id", "line")}

    assert content(qti3) == content(qti21)


def test_qti3_item_with_xml_model_instruction(corpus):
    _parsed, q = read_corpus(corpus, "Citolab__qti-components__choice.xml")
    assert (q.external_id, q.line, q.choices[0].fraction) == ("choice", 4, 1.0)
    _parsed, q = read_corpus(corpus, "Citolab__qti-components__text_entry.xml")
    assert q.external_id == "ITM-text_entry" and q.blanks[0][1] == Choice("york", 0.5)


def test_several_text_entries_case_insensitive_and_match_correct():
    declarations = (
        '<responseDeclaration identifier="R1" cardinality="single" baseType="string">'
        "<correctResponse><value>95598</value></correctResponse></responseDeclaration>"
        '<responseDeclaration identifier="R2" cardinality="single" baseType="string">'
        '<mapping defaultValue="0">'
        '<mapEntry mapKey="Ninety" mappedValue="2" caseSensitive="false"/>'
        '<mapEntry mapKey="90" mappedValue="2" caseSensitive="false"/></mapping>'
        "</responseDeclaration>"
    )
    body = (
        '<p>热线 <textEntryInteraction responseIdentifier="R1"/>，农村 '
        '<textEntryInteraction responseIdentifier="R2"/> 分钟</p>'
    )
    q = read_one(item(declarations, body))
    assert q.stem == "<p>热线 ___，农村 ___ 分钟</p>"
    assert q.blanks == [[Choice("95598", 1.0)], [Choice("Ninety", 1.0), Choice("90", 1.0)]]
    assert q.case_sensitive is True  # the first blank matches exactly (QTI's match is exact)
    assert q.points == 3.0  # 1 for the first blank, 2 for the second


def test_choice_without_declaration_cardinality_uses_max_choices_and_drops_feedback():
    declarations = (
        '<responseDeclaration identifier="R"><correctResponse><value>A</value><value>C</value>'
        "</correctResponse></responseDeclaration>"
    )
    body = (
        '<choiceInteraction responseIdentifier="R" maxChoices="0">'
        "<prompt>选出 <b>正确</b> 的</prompt>"
        '<simpleChoice identifier="A">甲<feedbackInline identifier="A">对</feedbackInline>'
        '</simpleChoice><simpleChoice identifier="B">乙</simpleChoice>'
        '<simpleChoice identifier="C">丙</simpleChoice>'
        "</choiceInteraction>"
    )
    q = read_one(item(declarations, body))
    assert q.type == d.MULTIPLE_CHOICE and q.stem == "<p>选出 <b>正确</b> 的</p>"
    assert [(c.text, c.fraction) for c in q.choices] == [("甲", 0.5), ("乙", 0.0), ("丙", 0.5)]


def test_extended_text_is_a_short_answer_and_data_images_stay():
    png = "data:image/png;base64,iVBORw0KGgo="
    body = (
        f'<p>简述 <img src="{png}" alt="图"/></p><extendedTextInteraction responseIdentifier="R"/>'
    )
    q = read_one(item('<responseDeclaration identifier="R" cardinality="single"/>', body))
    assert q.type == d.SHORT_ANSWER and q.stem == f'<p>简述 <img src="{png}" alt="图"></p>'


def test_custom_response_processing_is_read_with_a_warning():
    declarations = (
        '<responseDeclaration identifier="R" cardinality="single">'
        "<correctResponse><value>A</value></correctResponse></responseDeclaration>"
    )
    body = (
        '<choiceInteraction responseIdentifier="R" maxChoices="1"><simpleChoice identifier="A">a'
        '</simpleChoice><simpleChoice identifier="B">b</simpleChoice></choiceInteraction>'
    )
    parsed = qti.read(
        item(declarations, body, "<responseProcessing><responseCondition/></responseProcessing>\n"),
        "i.xml",
    )
    assert parsed.errors == [] and len(parsed.warnings) == 1


@pytest.mark.parametrize(
    ("declarations", "body", "words"),
    [
        ("", '<orderInteraction responseIdentifier="R"/>', "orderInteraction"),
        ("", '<textEntryInteraction responseIdentifier="X"/>', "not declared"),
        (
            '<responseDeclaration identifier="R"/>',
            '<choiceInteraction responseIdentifier="R"/>' * 2,
            "one choice",
        ),
        ("", "<p>no interaction</p>", "one choice"),
    ],
)
def test_items_it_cannot_read_give_an_error_naming_the_item(declarations, body, words):
    parsed = qti.read(item(declarations, body), "i.xml")
    assert parsed.questions == [] and len(parsed.errors) == 1
    assert parsed.errors[0].line == 2 and words in parsed.errors[0].message
    assert "I1" in parsed.errors[0].message


@pytest.mark.parametrize(
    ("data", "line", "words"),
    [
        (b"<assessmentItem>\n<itemBody>\n</assessmentItem>", 3, "not well-formed"),
        (b"<quiz/>", 1, "not a QTI item"),
        (b'<assessmentItem identifier="x"/>', 1, "itemBody"),
    ],
)
def test_malformed_items_give_an_error_naming_the_line(data, line, words):
    parsed = qti.read(data, "bad.xml")
    assert parsed.questions == [] and parsed.errors[0].line == line
    assert words.lower() in parsed.errors[0].message.lower()


def test_sniff_claims_items_only(corpus):
    for file in (corpus / "qti").glob("*.xml"):
        assert qti.sniff(file.read_bytes(), file.name)
        assert not moodlexml.sniff(file.read_bytes(), file.name)
        assert not aiken.sniff(file.read_bytes(), file.name)
    for folder in ("aiken", "gift", "moodlexml", "chinese"):
        for file in (corpus / folder).glob("*.*"):
            assert not qti.sniff(file.read_bytes(), file.name), file.name
    assert qti.sniff(b'<qti:assessmentItem xmlns:qti="x">', "a.xml")
    assert not qti.sniff(b"<assessmentTest/>", "t.xml")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes_give_questions_or_errors(data):
    for payload in (data, b"<assessmentItem><itemBody>" + data):
        parsed = qti.read(payload, "random.xml")
        assert all(p.file == "random.xml" and p.message for p in parsed.errors + parsed.warnings)
