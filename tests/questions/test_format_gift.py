"""The GIFT reader and writer: every corpus file as Moodle reads it (and as its upstream project
asserts, where the meanings match), moodle/moodle's giftformat_test.php cases, errors with line
numbers, write-then-read round trips, sniffing and random bytes."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lms.questions import data as d
from lms.questions.data import Choice, MatchPair, NumericAnswer, QuestionData
from lms.questions.formats import detect, gift
from lms.questions.formats.gift.reader import moodle_to_html
from lms.questions.html import html_to_text, plain_to_html, sanitise
from lms.questions.services import validate
from lms.questions.types import load_types

TYPES = load_types()
FUHRMANATOR = "fuhrmanator__GIFT-grammar-PEG.js__"
#: Every GIFT file in the corpus and the number of questions Moodle imports from it.
CORPUS_COUNTS = {
    "LucasWolfgang__QAS-Editor__numericals.gift": 4,
    f"{FUHRMANATOR}TFTwoFeedback.gift": 1,
    f"{FUHRMANATOR}category1.gift": 1,
    f"{FUHRMANATOR}categorySpecialCharacter.gift": 0,
    f"{FUHRMANATOR}comments.gift": 1,
    f"{FUHRMANATOR}description1.gift": 2,
    f"{FUHRMANATOR}escapeAll.gift": 1,
    f"{FUHRMANATOR}giftFormatPhpExamples.gift": 10,
    f"{FUHRMANATOR}markdown.gift": 4,
    f"{FUHRMANATOR}matching1.gift": 2,
    f"{FUHRMANATOR}mcHTMLComment.gift": 1,
    f"{FUHRMANATOR}multiLineFeedback1.gift": 2,
    f"{FUHRMANATOR}multipleAnswersFloat.gift": 1,
    f"{FUHRMANATOR}newlineAndLaTeX.gift": 1,
    f"{FUHRMANATOR}numerical1.gift": 5,
    f"{FUHRMANATOR}shortFirstEmbedded.gift": 1,
    f"{FUHRMANATOR}tag_id_and_two_tags.gift": 1,
    f"{FUHRMANATOR}totara_moodle_backslash.gift": 1,
    "moodle__moodle__questions_in_category.gift.txt": 4,
    "mtommasi__pygiftparser__specials.gift": 3,
    "mtommasi__pygiftparser__test.gift": 6,
}


def read_text(text: str, file: str = "q.gift"):
    return gift.read(text.encode("utf-8"), file)


def read_ok(text: str) -> list[QuestionData]:
    parsed = read_text(text)
    assert parsed.errors == []
    return parsed.questions


def read_corpus(corpus: Path, name: str) -> list[QuestionData]:
    parsed = gift.read((corpus / "gift" / name).read_bytes(), name)
    assert parsed.errors == []
    return parsed.questions


def words(html: str) -> str:
    """The text of an HTML fragment with white space normalised (fuhrmanator's parser joins
    continuation lines with a space where Moodle keeps the line break)."""
    return " ".join(html_to_text(html).split())


# --- the corpus ---------------------------------------------------------------------------------


def test_the_corpus_holds_the_files_these_tests_know(corpus):
    """Every GIFT file in the corpus has its expected count here (a new file gets noticed)."""
    files = {p.name for p in (corpus / "gift").iterdir() if p.suffix in (".gift", ".txt")}
    assert files == set(CORPUS_COUNTS)


@pytest.mark.parametrize("name", sorted(CORPUS_COUNTS))
def test_every_corpus_file_reads_and_validates(corpus, name):
    """Each file is sniffed as GIFT and gives Moodle's number of questions, all valid."""
    data = (corpus / "gift" / name).read_bytes()
    assert gift.sniff(data, name)
    parsed = gift.read(data, name)
    assert len(parsed.questions) == CORPUS_COUNTS[name]
    if CORPUS_COUNTS[name]:
        assert parsed.errors == []
        validate(parsed, TYPES)
        assert parsed.errors == []
    assert all(q.line for q in parsed.questions)


def test_moodle_questions_in_category(corpus):
    """Moodle's fixture: 4 questions, the matching one, \\= and \\: inside [html] attributes."""
    questions = read_corpus(corpus, "moodle__moodle__questions_in_category.gift.txt")
    assert [q.type for q in questions] == [d.MATCHING, d.SINGLE_CHOICE, d.FILL_IN, d.TRUE_FALSE]
    assert {q.category for q in questions} == {"$course$/Default for New Features"}
    assert [q.line for q in questions] == [5, 14, 22, 27]
    matching, greeting, user, acronym = questions
    assert matching.name == "Moodle activities"
    assert matching.stem == "Match the activity to the description."
    assert [(p.prompt, p.answer) for p in matching.pairs] == [
        ("An activity supporting asynchronous discussions.", "Forum"),
        ("A teacher asks a question and specifies a choice of multiple responses.", "Choice"),
        ("A bank of record entries which participants can add to.", "Database"),
        ("A collection of web pages that anyone can add to or edit.", "Wiki"),
        ("", "Chat"),  # a distractor
    ]
    assert greeting.stem.startswith(
        '<a href="http://demo.moodle.net/file.php/5/media/bonjour.mp3" rel="noopener noreferrer">'
        "Listen to this greeting:</a><br><br>What language"
    )
    assert [(c.text, c.fraction, c.feedback) for c in greeting.choices] == [
        ("English", 0.0, "Sorry, listen again."),
        ("French", 1.0, "Yes, well done!"),
        ("German", 0.0, "Sorry, listen again."),
        ("Spanish", 0.0, "Sorry, listen again."),
    ]
    assert user.blanks == [[Choice("Moodler", 1.0, "")]]  # "=%100%Moodler#": empty feedback
    assert user.stem == "Anyone who uses Moodle is a ..."
    assert acronym.answer_true is True
    assert "<span>Modular Object-Oriented Dynamic Learning Environment</span>" in acronym.stem


def expected_json(corpus: Path, name: str) -> list[dict]:
    return json.loads((corpus / "gift" / "expected" / f"{FUHRMANATOR}{name}.json").read_text())


def test_escape_all_matches_the_upstream_json(corpus):
    """escapeAll.gift against fuhrmanator's escapeAll.json, field by field."""
    (question,) = read_corpus(corpus, f"{FUHRMANATOR}escapeAll.gift")
    (expected,) = expected_json(corpus, "escapeAll")
    assert expected["type"] == "MC" and question.type == d.SINGLE_CHOICE
    assert question.name == expected["title"]
    assert words(question.stem) == expected["stem"]
    assert question.explanation == "" and expected["globalFeedback"] is None
    assert len(question.choices) == len(expected["choices"])
    for choice, want in zip(question.choices, expected["choices"], strict=True):
        assert html_to_text(choice.text) == want["text"]
        assert words(choice.feedback) == want["feedback"]
        assert (choice.fraction > 0) == want["isCorrect"]
        assert choice.fraction == (want["weight"] or 100 * want["isCorrect"]) / 100
    # Moodle keeps the continuation line's break where fuhrmanator joins it with a space.
    assert question.choices[-1].feedback.endswith(
        "BUT,<br>it is used to escape the control characters."
    )


def test_numerical1_matches_the_upstream_json(corpus):
    """numerical1.gift against fuhrmanator's numerical1.json, field by field."""
    questions = read_corpus(corpus, f"{FUHRMANATOR}numerical1.gift")
    expected = expected_json(corpus, "numerical1")
    assert len(questions) == len(expected)
    for question, want in zip(questions, expected, strict=True):
        assert want["type"] == "Numerical" and question.type == d.NUMERICAL
        assert question.name == (want["title"] or "")
        # fuhrmanator writes "_____ ." where Moodle writes "_____.": compare without spaces.
        assert "".join(words(question.stem).split()) == "".join(want["stem"].split())
        assert ("_____" in question.stem) == want["hasEmbeddedAnswers"]
        assert question.explanation == "" and want["globalFeedback"] is None
        choices = want["choices"]
        wanted = (
            [(c["text"], (c["weight"] or 100) / 100) for c in choices]
            if isinstance(choices, list)
            else [(choices, 1.0)]
        )
        assert len(question.numbers) == len(wanted)
        for number, (shape, fraction) in zip(question.numbers, wanted, strict=True):
            assert number.fraction == fraction
            if shape["type"] == "high-low":
                assert (number.low, number.high) == (shape["numberLow"], shape["numberHigh"])
            else:
                assert number.value == shape["number"]
                assert number.tolerance == shape.get("range", 0)


def test_gift_format_php_examples(corpus):
    """format.php's own examples: types, missing-word blanks, weights, feedback."""
    questions = read_corpus(corpus, f"{FUHRMANATOR}giftFormatPhpExamples.gift")
    assert [q.type for q in questions] == [
        d.SINGLE_CHOICE,
        d.SINGLE_CHOICE,
        d.TRUE_FALSE,
        d.FILL_IN,
        d.NUMERICAL,
        d.MATCHING,
        d.SINGLE_CHOICE,
        d.SINGLE_CHOICE,  # "=" makes Moodle's single-answer question, with a 50% option
        d.FILL_IN,
        d.NUMERICAL,
    ]
    tomb, missing, tf, nobody, born, capitals, named, difficult, jesus, example = questions
    assert [c.fraction for c in tomb.choices] == [0, 0, 1]
    assert missing.stem == "Grant is _____ in Grant's tomb."
    assert tf.answer_true is False
    assert nobody.blanks == [[Choice("no one", 1.0), Choice("nobody", 1.0)]]
    assert born.numbers == [NumericAnswer(1822.0, 5.0)]
    assert capitals.stem == "Match the following countries with their corresponding<br>capitals."
    assert [(p.prompt, p.answer) for p in capitals.pairs] == [
        ("Canada", "Ottawa"),
        ("Italy", "Rome"),
        ("Japan", "Tokyo"),
    ]
    assert named.name == "Grant's Tomb" and named.stem == "Grant is _____ in Grant's tomb."
    assert [c.feedback for c in named.choices] == [
        "No one is buried there.",
        "Right answer!",
        "We hope not!",
    ]
    assert [(c.text, c.fraction, c.feedback) for c in difficult.choices] == [
        ("wrong answer", 0.0, "comment on wrong answer"),
        ("half credit answer", 0.5, "comment on answer"),
        ("full credit answer", 1.0, "well done!"),
    ]
    assert jesus.name == "Jesus' hometown (Short answer ex.)"
    assert jesus.stem == "Jesus Christ was from ___."  # a fill-in's blank is our ___
    assert [(a.text, a.fraction) for a in jesus.blanks[0]] == [
        ("Nazareth", 1.0),
        ("Nazereth", 0.75),
        ("Bethlehem", 0.25),
    ]
    assert example.numbers == [
        NumericAnswer(1822.0, 0.0, fraction=1.0, feedback="Correct! 100% credit"),
        NumericAnswer(
            1822.0,
            2.0,
            fraction=0.5,
            feedback="He was born in 1822.<br>You get 50% credit for being close.",
        ),
    ]


def test_true_false_with_two_feedbacks(corpus):
    """{FALSE#a#b}: a is the feedback for the wrong answer (true), b for the right."""
    (question,) = read_corpus(corpus, f"{FUHRMANATOR}TFTwoFeedback.gift")
    assert question.type == d.TRUE_FALSE and question.answer_true is False
    assert question.feedback_true == "wrong answer feedback"
    assert question.feedback_false == "right answer feedback"


def test_categories(corpus):
    """$CATEGORY sets the category of what follows (a name may hold ":"); it is no question."""
    (question,) = read_corpus(corpus, f"{FUHRMANATOR}category1.gift")
    assert question.category == "$course$/top/Default for LING-373-2194-B"
    assert (question.type, question.stem, question.answer_true, question.line) == (
        d.TRUE_FALSE,
        "a",
        True,
        4,
    )
    data = (corpus / "gift" / f"{FUHRMANATOR}categorySpecialCharacter.gift").read_bytes()
    parsed = gift.read(data, "c.gift")
    assert parsed.questions == [] and len(parsed.errors) == 1  # nothing to import
    (question,) = gift.read(data + b"\n\nQ{T}", "c.gift").questions
    assert question.category == "$course$/top/Default for Unit 1: Topic"


def test_comments_are_whole_lines_only(corpus):
    """Only whole // lines are comments (Moodle): inline // stays text, with a warning."""
    parsed = gift.read((corpus / "gift" / f"{FUHRMANATOR}comments.gift").read_bytes(), "c.gift")
    (question,) = parsed.questions
    assert question.name == "Question Title" and question.line == 5
    assert question.tags == ["tag1", "tag2"]
    assert question.type == d.FILL_IN
    assert words(question.stem) == (
        "// This is a comment after the title This statement is false. "
        "// This is an inline comment after the stem"
    )
    assert [w.line for w in parsed.warnings] == [5]


def test_description_then_true_false(corpus):
    """A text without {...} is a description (here named); the next paragraph is its own."""
    description, tf = read_corpus(corpus, f"{FUHRMANATOR}description1.gift")
    assert (description.type, description.name) == (d.DESCRIPTION, "Description Title")
    assert description.stem == "You can use your pencil and paper for these next questions."
    assert (tf.type, tf.stem, tf.answer_true, tf.line) == (d.TRUE_FALSE, "True or false?", True, 3)


def test_markdown(corpus):
    """[markdown]: an escaped \\n keeps spaces and indents; Moodle trims real lines."""
    escaped, lines, flat, nested = read_corpus(corpus, f"{FUHRMANATOR}markdown.gift")
    assert {q.type for q in (escaped, lines, flat, nested)} == {d.DESCRIPTION}
    assert escaped.stem == "<p>multiline<br>\nmarkdown</p>"
    assert lines.stem == "<p>multiline\nmarkdown</p>"
    assert flat.stem.count("<ul>") == 1 and flat.stem.count("<li>") == 3
    assert nested.stem.count("<ul>") == 2 and "<li>nested item 1</li>" in nested.stem


def test_matching1(corpus):
    """Two matching questions, with spaces around "->" trimmed."""
    first, second = read_corpus(corpus, f"{FUHRMANATOR}matching1.gift")
    assert first.stem == "Matching Question."
    assert [(p.prompt, p.answer) for p in first.pairs] == [
        (f"formattedSubquestion{n}", f"subanswer{n}") for n in (1, 2, 3)
    ]
    assert [(p.prompt, p.answer) for p in second.pairs][-2:] == [
        ("Japan", "Tokyo"),
        ("India", "New Delhi"),
    ]


def test_html_with_moodle_answers_and_comment_in_feedback(corpus):
    """[html] stem, [moodle] answers, \\# in CSS, an HTML comment dropped from feedback."""
    (question,) = read_corpus(corpus, f"{FUHRMANATOR}mcHTMLComment.gift")
    assert question.type == d.SINGLE_CHOICE and question.name == "EE_mod_05_T39_P079"
    assert question.stem.startswith("<p>¿En qué supuestos podría el Fiscal")
    assert [c.fraction for c in question.choices] == [0, 0, 1]
    assert question.choices[2].text == "Nunca."
    assert "Artículo 5 Estatuto Orgánico del Ministerio Fiscal:" in question.explanation
    assert 'href="http://www.formacioncnp.es/base_datos/Penal/lecr.html"' in question.explanation
    assert "<!--" not in question.explanation and "LE0000017566" not in question.explanation


def test_multi_line_feedback(corpus):
    """Feedback and #### general feedback over several lines; a Word-pasted [html] question."""
    parsed = gift.read(
        (corpus / "gift" / f"{FUHRMANATOR}multiLineFeedback1.gift").read_bytes(), "m"
    )
    first, word = parsed.questions
    assert first.choices[1].feedback == "feedback comment on this wrong answer<br>on multiple lines"
    assert [c.fraction for c in first.choices] == [0, 0, 1]
    assert first.explanation == "Global feedback split<br>on multiple lines"
    assert word.name == "06- création d'instance" and word.type == d.SINGLE_CHOICE
    assert "duree&nbsp;:Integer" in word.stem and "style=" not in word.stem
    assert len(word.choices) == 6 and [c.fraction for c in word.choices].index(1.0) == 4
    assert "ContrôleurAbonnement" in word.choices[4].text
    assert 'src="@@PLUGINFILE@@/3.png"' in word.explanation
    assert [w.line for w in parsed.warnings] == [11]  # the file Moodle kept elsewhere


def test_negative_and_decimal_weights(corpus):
    """No "=": a multiple-answer question; 33.33333% reads as the exact third, and -100%."""
    (question,) = read_corpus(corpus, f"{FUHRMANATOR}multipleAnswersFloat.gift")
    assert question.type == d.MULTIPLE_CHOICE
    assert question.stem == "Select all of the options below which name a continent:"
    assert [(c.text, c.fraction) for c in question.choices] == [
        ("Africa", 1 / 3),
        ("Asia", 1 / 3),
        ("China", -1.0),
        ("Antarctica", 1 / 3),
        ("America", -1.0),
    ]


def test_backslashes_and_newlines(corpus):
    """\\\\ is one backslash (Moodle's MDL-34171 test), \\n a line break, \\\\neq stays LaTeX."""
    (essay,) = read_corpus(corpus, f"{FUHRMANATOR}totara_moodle_backslash.gift")
    assert (essay.type, essay.name) == (d.SHORT_ANSWER, "double backslash")
    assert essay.stem == "A \\\\ B \\\\\\\\ C"
    (latex,) = read_corpus(corpus, f"{FUHRMANATOR}newlineAndLaTeX.gift")
    assert latex.type == d.SHORT_ANSWER
    assert latex.stem == "Blah\nblah $ 1 \\neq 0 $"


def test_answers_at_the_start_and_id_and_tags(corpus):
    """An answer block opening the text leaves the blank there; [id:] and two [tag:]s."""
    (embedded,) = read_corpus(corpus, f"{FUHRMANATOR}shortFirstEmbedded.gift")
    assert embedded.type == d.FILL_IN
    assert embedded.stem == "___ is the largest continent in the world."
    assert embedded.blanks == [[Choice("Asia", 1.0)]]
    (essay,) = read_corpus(corpus, f"{FUHRMANATOR}tag_id_and_two_tags.gift")
    assert (essay.type, essay.stem, essay.line) == (d.SHORT_ANSWER, "Essay?", 3)
    assert (essay.external_id, essay.tags) == ("393", ["fred", "barney-wilma"])


def test_pygiftparser_test_file(corpus):
    """pygiftparser's test.gift: comments in a text, escapes, category, description, tail."""
    questions = read_corpus(corpus, "mtommasi__pygiftparser__test.gift")
    assert [q.type for q in questions] == [
        d.SHORT_ANSWER,
        d.FILL_IN,
        d.FILL_IN,
        d.DESCRIPTION,
        d.FILL_IN,
        d.SHORT_ANSWER,
    ]
    q1, q2, q3, q4, q5, q6 = questions
    assert (q1.name, q1.stem, q1.line) == ("Q1", "text of Q1", 2)
    assert q2.stem == "first paret of text of Q2<br>second part of text of Q2"
    assert q2.blanks == [[Choice("answer Q2", 1.0)]]
    assert q3.stem == "text Q3 including {"
    assert q3.blanks == [[Choice("answer Q3 with specials }", 1.0)]]
    assert [q.category for q in questions] == [""] * 3 + ["$course$/Toutes"] * 3
    assert q4.stem == "invalid question Q4<br>there is no answer"
    assert (q5.name, q5.stem) == ("Q5", "<p>MArkdown text in Q5</p>")
    assert q6.stem == "question 6 _____ with tail"


def test_pygiftparser_specials(corpus):
    """\\# in an answer, {anything}, \\n in a text, general feedback after the last ####."""
    q1, q2, q3 = read_corpus(corpus, "mtommasi__pygiftparser__specials.gift")
    assert q1.blanks == [[Choice("answer Q2#", 1.0), Choice("s", 1.0)]]
    assert q1.explanation == "gfb"
    assert (q2.type, q2.stem) == (d.FILL_IN, "invalid answer")
    assert q2.blanks == [[Choice("anything", 1.0)]]
    assert q3.stem == "valid answer with general feedback<br>mqlskdqsd<br><br><br>qskld"
    assert q3.blanks == [[Choice("eo\nero#", 1.0, "###anything")]]
    assert q3.explanation == "}"


def test_real_moodle_numerical_export(corpus):
    """QAS-Editor's Moodle export: \\: names, LaTeX, weights, ~# catch-all, n:t, lo..hi."""
    parsed = gift.read(
        (corpus / "gift" / "LucasWolfgang__QAS-Editor__numericals.gift").read_bytes(), "n"
    )
    mojito, quadratic, tolerance, interval = parsed.questions
    assert [q.name for q in parsed.questions] == [f"Numeric: {n}" for n in (1, 2, 3, 4)]
    assert 'href="http://commons.wikimedia.org/wiki/File:Mojito.jpg"' in mojito.stem
    right, anything = mojito.numbers
    assert (right.value, right.tolerance, right.fraction) == (2006, 1, 1)
    assert right.feedback.endswith("So we're giving you some freedom here :)</p>")
    assert (anything.fraction, anything.accepts(-1e300), anything.accepts(7)) == (0, True, True)
    assert anything.feedback.startswith("<p>Although it's not quite sure")
    assert [(n.value, n.tolerance, n.fraction) for n in quadratic.numbers[:2]] == [
        (-7, 0, 1),
        (4, 0, 1),
    ]
    assert "x^2 + 3x - 28 = 0" in quadratic.stem
    assert "$$\\frac{-b \\pm \\sqrt{b^2 - 4ac}}{2a}$$" in quadratic.explanation
    assert tolerance.numbers == [NumericAnswer(3.0, 2.0)]
    assert tolerance.stem == "What is a number from 1 to 5?"
    assert interval.numbers == [NumericAnswer(low=1.0, high=5.0)]
    assert [w.line for w in parsed.warnings] == [1]  # @@PLUGINFILE@@


# --- moodle/moodle question/format/gift/tests/giftformat_test.php -------------------------------


def test_moodle_import_match_with_formats_per_subquestion():
    """test_import_match: [html] question; [html] [moodle] [plain] [markdown] subquestions."""
    (question,) = read_ok(
        "// question: 2  name: Moodle activities\n"
        "::Moodle activities::[html]Match the <b>activity</b> to the description.{\n"
        "    =[html]An activity supporting asynchronous discussions. -> Forum\n"
        "    =[moodle]A teacher asks a question and specifies a choice of multiple responses."
        " -> Choice\n"
        "    =[plain]A bank of record entries which participants can add to. -> Database\n"
        "    =[markdown]A collection of web pages that anyone can add to or edit. -> Wiki\n"
        "    = -> Chat\n}"
    )
    assert question.stem == "Match the <b>activity</b> to the description."
    assert [p.answer for p in question.pairs] == ["Forum", "Choice", "Database", "Wiki", "Chat"]
    assert question.pairs[3].prompt == (
        "<p>A collection of web pages that anyone can add to or edit.</p>"
    )
    assert question.pairs[4].prompt == ""


def test_moodle_import_multichoice():
    """test_import_multichoice: feedback after spaces, [html] and [plain] per answer."""
    (question,) = read_ok(
        "// multiple choice with specified feedback for right and wrong answers\n"
        "::Q2:: What's between orange and green in the spectrum?\n"
        "{\n    =yellow # right; good!\n    ~red # [html]wrong, it's yellow\n"
        "    ~[plain]blue # wrong, it's yellow\n}"
    )
    assert (question.type, question.name) == (d.SINGLE_CHOICE, "Q2")
    assert question.stem == "What's between orange and green in the spectrum?"
    assert [(c.text, c.fraction, c.feedback) for c in question.choices] == [
        ("yellow", 1.0, "right; good!"),
        ("red", 0.0, "wrong, it's yellow"),
        ("blue", 0.0, "wrong, it's yellow"),
    ]


@pytest.mark.parametrize(
    ("answers", "fractions"),
    [
        ("~%50%yellow # right; good!\n~%-100%red # [html]wrong\n~%50%off-beige # right; good!\n"
         "~%-100%[plain]blue # wrong", [0.5, -1, 0.5, -1]),
        ("~%100%yellow # right; good!\n~%-50%red # wrong\n~%-50%blue # wrong", [1, -0.5, -0.5]),
    ],
)  # fmt: skip
def test_moodle_import_multichoice_multi(answers, fractions):
    """test_import_multichoice_multi and _tricky: no "=", so several answers may be chosen."""
    (question,) = read_ok(f"::colours:: What's between orange and green?\n{{\n{answers}\n}}")
    assert question.type == d.MULTIPLE_CHOICE
    assert [c.fraction for c in question.choices] == fractions
    assert question.choices[-1].text == "blue" and question.choices[-1].feedback == "wrong"


def test_moodle_import_numerical_and_shortanswer():
    """test_import_numerical and test_import_shortanswer(_with_general_feedback)."""
    (numerical,) = read_ok("// math range question\n::Q5:: What is a number from 1 to 5? "
                           "{#3:2~#Completely wrong}")  # fmt: skip
    assert numerical.stem == "What is a number from 1 to 5?"
    value, anything = numerical.numbers
    assert value == NumericAnswer(3.0, 2.0)
    assert (anything.fraction, anything.feedback, anything.accepts(99)) == (
        0.0,
        "Completely wrong",
        True,
    )
    (short,) = read_ok(
        "::Shortanswer::Which is the best animal?{\n    =Frog#Good!\n"
        "    =%50%Cat#What is it with Moodlers and cats?\n    =%0%*#Completely wrong\n"
        "    ####[html]Here is some general feedback!\n}"
    )
    assert short.type == d.FILL_IN and short.name == "Shortanswer"
    assert short.blanks == [
        [
            Choice("Frog", 1.0, "Good!"),
            Choice("Cat", 0.5, "What is it with Moodlers and cats?"),
            Choice("*", 0.0, "Completely wrong"),
        ]
    ]
    assert short.explanation == "Here is some general feedback!"


def test_moodle_import_truefalse():
    """test_import_truefalse: FALSE with wrong and right feedback; T and TRUE."""
    (question,) = read_ok(
        "// true/false\n::Q1:: 42 is the Absolute Answer to everything.{\n"
        "FALSE#42 is the Ultimate Answer.#You gave the right answer.}"
    )
    assert question.answer_true is False
    assert question.feedback_true == "42 is the Ultimate Answer."
    assert question.feedback_false == "You gave the right answer."
    for answer in ("T", "TRUE"):
        (question,) = read_ok(f"// name 0-11\n::2-08 TSL::TSL is blablabla.{{{answer}}}")
        assert (question.name, question.stem, question.answer_true) == (
            "2-08 TSL",
            "TSL is blablabla.",
            True,
        )


def test_moodle_import_pre_content_and_tags():
    """test_import_pre_content (\\{ \\} in [html] <pre>) and test_import_question_with_tags."""
    (pre,) = read_ok(
        "::Q001::[html]<p>What would running the test method print?</p>\n<pre>\n"
        "    public void test() \\{\n        method1();\n    \\}\n</pre>\n{}"
    )
    assert pre.type == d.SHORT_ANSWER
    # Moodle trims every line (the sanitiser drops the line break that opens a <pre>).
    assert pre.stem == (
        "<p>What would running the test method print?</p>\n"
        "<pre>public void test() {\nmethod1();\n}\n</pre>"
    )
    (tagged,) = read_ok(
        "// This question is to test importing tags: [tag:tag] [tag:other-tag].\n"
        "// And an idnumber: [id:myid].\n::Question name:: How are you? {}"
    )
    assert (tagged.tags, tagged.external_id, tagged.stem) == (
        ["tag", "other-tag"],
        "myid",
        "How are you?",
    )


@pytest.mark.parametrize(
    ("comment", "external_id", "tags"),
    [
        ("// A basic comment.", "", []),
        ("// A comment with [id:frog] <-- an idnumber.", "frog", []),
        ("// Look tags: [tag:frog] [tag:toad].", "", ["frog", "toad"]),
        ("// [tag:add] [tag:basic] [id:four]", "four", ["add", "basic"]),
        ("// [tag:  basic] Here is  \n// a [id:   four   ] que[tag:add   ]stion.", "four",
         ["basic", "add"]),
        ("// Ceci n'est pas une [tag:\n// \\ frog].", "", []),
        ("// [id:i\\]d].", "i]d", []),
        ("// [tag:t\\]ag].", "", ["t]ag"]),
    ],
)  # fmt: skip
def test_moodle_extract_idnumber_and_tags(comment, external_id, tags):
    """Moodle's extract_idnumber_and_tags_from_comment cases."""
    (question,) = read_ok(f"{comment}\nQ{{}}")
    assert (question.external_id, question.tags) == (external_id, tags)


# --- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Who? {=a ~b", "Unclosed {"),
        ("Who? =a ~b}", "Could not find a {"),
        ("Who? } {=a ~b}", "Could not find a {"),
        ("Q1 {T}\n// not a separator\nQ2 {F}", "one {...}"),
        ("Who? {=a {~b}", "one {...}"),
        ("Year? {#nineteen}", "Error parsing numerical answer"),
        ("Year? {#1822:about}", "Error parsing numerical answer"),
        ("Range? {#1..x}", "Error parsing numerical answer"),
        ("Year? {#}", "No answers found for numerical question"),
        ("Match {=a -> 1}", "A matching question needs at least two pairs"),
        ("Match {=a -> 1 =b}", "improperly formatted"),
        ("Choose {~a}", "at least two options"),
        ("Choose {~%120%a ~b}", "-100% to 100%"),
        ("Choose {~%--5%a ~b}", "is not a weight"),
    ],
)
def test_a_malformed_question_is_an_error_naming_its_line(text, message):
    """Moodle-like messages on the question's first line; the question is not read."""
    parsed = read_text(f"// a comment\nGood {{T}}\n\n// [id:x]\n{text}\n\nAlso good {{F}}")
    assert [e.line for e in parsed.errors] == [5]
    assert message in parsed.errors[0].message
    assert parsed.errors[0].file == "q.gift"
    assert [q.line for q in parsed.questions] == [2, 7 + text.count("\n")]


def test_undecodable_and_empty_files_are_one_error():
    """Bytes that are no text, and a file without questions, give one error each."""
    for data in (b"\xff\xfe\xfa" + bytes(range(128, 256)), b"", b"// only a comment\n"):
        parsed = gift.read(data, "x.gift")
        assert parsed.questions == [] and len(parsed.errors) == 1


def test_other_encodings():
    """UTF-8 with a BOM, UTF-16 with a BOM, and GB18030 (with a warning) read the same."""
    text = "::名称::城区故障抢修到达现场时限是多少分钟？{#45}"
    for data in (
        text.encode("utf-8-sig"),
        text.encode("utf-16"),
        text.encode("gb18030"),
    ):
        (question,) = gift.read(data, "x.gift").questions
        assert (question.name, question.numbers) == ("名称", [NumericAnswer(45.0)])
    assert gift.read(text.encode("gb18030"), "x.gift").warnings


NOISE = st.text(alphabet="{}~=#:\\/%-> \nTF[]a1.", max_size=300).map(str.encode)


@settings(max_examples=300, deadline=None)
@given(data=st.one_of(st.binary(max_size=600), NOISE))
def test_random_bytes_give_questions_or_clean_errors(data):
    """Random bytes (and GIFT-ish noise) never raise: questions, or errors naming the file."""
    parsed = gift.read(data, "r.gift")
    assert all(p.file == "r.gift" and p.message for p in parsed.errors + parsed.warnings)
    assert all(e.message != "The GIFT file could not be read." for e in parsed.errors)
    validate(parsed, TYPES)


# --- writing ------------------------------------------------------------------------------------


def round_trip(questions: list[QuestionData]) -> list[QuestionData]:
    parsed = gift.read(gift.write(questions, {"code": "rt", "title": "往返"}), "rt.gift")
    assert parsed.errors == []
    return parsed.questions


def carried(question: QuestionData) -> dict:
    return {k: v for k, v in question.as_dict().items() if k in gift.CARRIES}


def sample_bank() -> list[QuestionData]:
    """One question of each type, with the characters GIFT must escape."""
    html = "<p>城区 <b>抢修</b>：</p>\n<p>{a} ~ = # \\ 到达？</p>"
    return [
        QuestionData(
            d.SINGLE_CHOICE,
            plain_to_html("城区范围内，故障抢修到达现场的时限是？ a:b {c} 50% ~d =e #f \\g"),
            name="抢修: 时限",
            choices=[
                Choice("30分钟", 0.0, "太短"),
                Choice("45分钟", 1.0, "正确"),
                Choice("%50% 90分钟", 0.0),
                Choice("[html] 2小时", 0.5),
            ],
            explanation=plain_to_html("服务承诺：城区 45 分钟。\n见第 3 条。"),
            tags=["服务承诺", "a]b", "x\\"],
            external_id="SS-001",
            category="$course$/安全: 规程",
        ),
        QuestionData(
            d.MULTIPLE_CHOICE,
            html,
            choices=[
                Choice("<b>A</b>", 1 / 3, "<i>ok</i>"),
                Choice("B", 1 / 3),
                Choice("C", 1 / 3),
                Choice(plain_to_html("D -> E"), -1.0, "不对"),
            ],
            external_id="SS-002",
            category="$course$/安全: 规程",
        ),
        QuestionData(
            d.TRUE_FALSE,
            plain_to_html("计划停电应提前 3 天公告。"),
            answer_true=False,
            feedback_true="<b>错</b>：应提前 7 天",
            feedback_false="正确",
            explanation="7 天",
        ),
        QuestionData(d.TRUE_FALSE, "T", answer_true=True, feedback_false="错误"),
        QuestionData(
            d.FILL_IN,
            plain_to_html("供电服务热线号码是 ___ 。"),
            blanks=[[Choice("95598", 1.0, "对"), Choice("%50%9-5-5-9-8", 0.5), Choice("[x]", 0)]],
        ),
        QuestionData(
            d.NUMERICAL,
            plain_to_html("城市供电可靠率不低于？"),
            numbers=[
                NumericAnswer(99.89, 0.001, feedback="对"),
                NumericAnswer(low=-1e-05, high=2.5e20, fraction=0.25),
                NumericAnswer(None, 0.0, -gift.ANY_NUMBER, gift.ANY_NUMBER, 0.0, "再想想"),
            ],
            explanation="<p>见 RS-3</p>",
        ),
        QuestionData(
            d.MATCHING,
            plain_to_html("将地区与到达时限对应起来。"),
            pairs=[
                MatchPair(plain_to_html("城区 -> 市"), "45 分钟"),
                MatchPair("<b>农村</b>", "90 -> 分钟 = #"),
                MatchPair("", "30 分钟"),
            ],
        ),
        QuestionData(d.SHORT_ANSWER, plain_to_html("// 简述\n接单流程。"), explanation="略"),
        QuestionData(d.DESCRIPTION, plain_to_html("$CATEGORY: 阅读以下案例。"), name="案例"),
        QuestionData(d.DESCRIPTION, "<p>[html] 阅读</p>", category="其他"),
    ]


def test_every_type_survives_a_write_and_a_read():
    """Every type, with HTML, Chinese and every escaped character, reads back the same."""
    bank = sample_bank()
    assert [carried(q) for q in round_trip(bank)] == [carried(q) for q in bank]


def test_the_writer_writes_what_moodle_writes():
    """Moodle's own export shapes (giftformat_test.php test_export_*)."""
    bank = [
        QuestionData(d.SHORT_ANSWER, "How are you?", name="Q8"),
        QuestionData(
            d.SINGLE_CHOICE,
            "What's between orange and green in the spectrum?",
            name="Q8",
            choices=[Choice("yellow", 1, "right; good!"), Choice("red", 0, "<b>wrong</b>")],
        ),
        QuestionData(
            d.NUMERICAL,
            "What is a number from 1 to 5?",
            name="Q5",
            numbers=[
                NumericAnswer(3.0, 2.0),
                NumericAnswer(None, 0, -gift.ANY_NUMBER, gift.ANY_NUMBER, 0, "Completely wrong"),
            ],
        ),
        QuestionData(d.TRUE_FALSE, "A", answer_true=True, feedback_true="R", feedback_false="W"),
        QuestionData(d.SHORT_ANSWER, "A \\ B \\\\ C", name="backslash"),
    ]
    text = gift.write(bank, {}).decode()
    assert text.split("\n\n")[:-1] == [
        "::Q8::How are you?{}",
        "::Q8::What's between orange and green in the spectrum?{\n\t=yellow#right; good!\n"
        "\t~red#[html]<b>wrong</b>\n}",
        "::Q5::What is a number from 1 to 5?{#\n\t=%100%3:2\n\t~#Completely wrong\n}",
        "A{TRUE#W#R}",
        "::backslash::A \\\\ B \\\\\\\\ C{}",
    ]


def test_categories_ids_and_tags_are_written_as_moodle_reads_them():
    """$CATEGORY where the category changes; one comment line per [id:] and [tag:]."""
    bank = [
        QuestionData(d.TRUE_FALSE, "a", answer_true=True, category="c/1", external_id="X-1"),
        QuestionData(d.TRUE_FALSE, "b", answer_true=True, category="c/1", tags=["t1", "t2"]),
        QuestionData(d.TRUE_FALSE, "c", answer_true=True, category="c/2"),
    ]
    text = gift.write(bank, {"code": "b1", "title": "银行"}).decode()
    assert text == (
        "// 银行 · b1\n\n$CATEGORY: c/1\n\n// [id:X-1]\na{TRUE}\n\n"
        "// [tag:t1]\n// [tag:t2]\nb{TRUE}\n\n$CATEGORY: c/2\n\nc{TRUE}\n\n"
    )


def test_what_gift_cannot_hold_is_a_clear_value_error():
    """Several blanks, or "->" in a fill-in answer: unwritable() says why, write() raises."""
    several = QuestionData(
        d.FILL_IN, "___ 和 ___", blanks=[[Choice("a", 1)], [Choice("b", 1)]], external_id="F-2"
    )
    arrow = QuestionData(d.FILL_IN, "x ___", blanks=[[Choice("a->b", 1)]])
    for question in (several, arrow):
        assert gift.unwritable(question)
        with pytest.raises(ValueError, match="fill-in"):
            gift.write([question], {})
    assert gift.unwritable(sample_bank()[4]) is None
    assert set(gift.TYPES) == set(TYPES)  # every built-in type


def test_corpus_questions_survive_a_write_and_a_read(corpus):
    """Every question of the corpus, written and read again, is the same question."""
    for name, count in CORPUS_COUNTS.items():
        if not count:
            continue
        questions = read_corpus(corpus, name)
        for question in questions:
            if question.type == d.DESCRIPTION:
                question.explanation = ""
        assert [carried(q) for q in round_trip(questions)] == [carried(q) for q in questions]


SAFE = st.text(
    alphabet=st.characters(
        codec="utf-8", categories=("L", "N", "P", "S", "Zs"), exclude_characters="\x85"
    ),
    min_size=1,
    max_size=12,
).filter(lambda s: s.strip() and "->" not in s)
PLAIN_HTML = SAFE.map(lambda s: plain_to_html(" ".join(s.split())))


@st.composite
def any_question(draw) -> QuestionData:
    kind = draw(st.sampled_from(sorted(gift.TYPES)))
    question = QuestionData(
        kind,
        draw(PLAIN_HTML),
        name=" ".join(draw(st.one_of(st.just(""), SAFE)).split()),
        explanation="" if kind == d.DESCRIPTION else draw(st.one_of(st.just(""), PLAIN_HTML)),
        tags=draw(st.lists(SAFE.map(lambda s: " ".join(s.split())), max_size=2, unique=True)),
        external_id=" ".join(draw(st.one_of(st.just(""), SAFE)).split()),
        category=" ".join(draw(st.one_of(st.just(""), SAFE)).split()),
    )
    weights = st.sampled_from([0.0, 0.5, -1 / 3, 0.125, 1.0, -1.0])
    if kind in (d.SINGLE_CHOICE, d.MULTIPLE_CHOICE):
        texts = draw(st.lists(PLAIN_HTML, min_size=2, max_size=5))
        question.choices = [Choice(t, draw(weights), draw(PLAIN_HTML)) for t in texts]
        if kind == d.SINGLE_CHOICE:
            question.choices[0].fraction = 1.0
        else:
            question.choices[0].fraction = question.choices[1].fraction = 0.5
    elif kind == d.TRUE_FALSE:
        question.answer_true = draw(st.booleans())
        question.feedback_true = draw(st.one_of(st.just(""), PLAIN_HTML))
        question.feedback_false = draw(st.one_of(st.just(""), PLAIN_HTML))
    elif kind == d.FILL_IN:
        answers = draw(st.lists(SAFE.map(lambda s: " ".join(s.split())), min_size=1, max_size=3))
        question.blanks = [[Choice(a, draw(weights), draw(PLAIN_HTML)) for a in answers]]
    elif kind == d.NUMERICAL:
        value = draw(st.floats(-1e9, 1e9, allow_nan=False))
        question.numbers = [NumericAnswer(value, draw(st.floats(0, 100)), fraction=1.0)]
    elif kind == d.MATCHING:
        prompts = draw(st.lists(PLAIN_HTML, min_size=2, max_size=4))
        answers = [" ".join(draw(SAFE).split()) for _ in prompts]
        question.pairs = [MatchPair(p, a) for p, a in zip(prompts, answers, strict=True)]
    return question


@settings(max_examples=200, deadline=None)
@given(bank=st.lists(any_question(), min_size=1, max_size=5))
def test_random_banks_survive_a_write_and_a_read(bank):
    """Random questions with any printable characters come back with every carried field."""
    assert [carried(q) for q in round_trip(bank)] == [carried(q) for q in bank]


TEXT_ONLY = st.characters(
    codec="utf-8", exclude_categories=("Cc", "Cs"), exclude_characters="<>&\xa0"
)


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.one_of(TEXT_ONLY, st.just("\n")), max_size=40))
def test_moodle_format_shortcut_matches_the_sanitiser(text):
    """Text without < > & or no-break space skips the sanitiser, which would keep it."""
    text = text.strip(" \t\n")
    assert moodle_to_html(text) == sanitise(text.replace("\n", "<br>"))


# --- sniffing and speed -------------------------------------------------------------------------


def test_sniff_claims_gift_and_nothing_else(corpus):
    """GIFT text is recognised (also as .txt); Aiken, CSV sheets, XML and YAML are not."""
    for name in (
        "moodle__moodle__questions_in_category.gift.txt",
        "mtommasi__pygiftparser__test.gift",
    ):
        assert gift.sniff((corpus / "gift" / name).read_bytes(), "upload.txt")
    assert gift.sniff("::名称:: 题干 {=甲 ~乙}".encode(), "x.txt")
    assert gift.sniff(b"Question? {T}", "x.txt")
    others = [
        p
        for folder in ("aiken", "chinese", "moodlexml", "qti")
        for p in (corpus / folder).iterdir()
    ]
    assert others
    for path in others:
        assert not gift.sniff(path.read_bytes(), path.name.replace(".csv", ".txt")), path.name
    yaml = "bank:\n  code: x\nquestions:\n  - stem: a {=b}\n    type: fill_in\n"
    assert not gift.sniff(yaml.encode(), "bank.txt")
    assert not gift.sniff(b"PK\x03\x04\x14\x00\x00\x00", "a.txt")
    data = (corpus / "gift" / "moodle__moodle__questions_in_category.gift.txt").read_bytes()
    assert detect(data, "questions.txt").name == "gift"


def test_ten_thousand_questions_are_quick():
    """10,000 questions are written and read in well under the benchmark's 10 s."""
    bank = [
        QuestionData(
            d.SINGLE_CHOICE,
            plain_to_html(f"第{n}题：关于服务承诺，下列说法正确的是？"),
            choices=[Choice(plain_to_html(f"选项{c}"), float(c == "B")) for c in "ABCD"],
            explanation=plain_to_html("依据本局规定。"),
            external_id=f"B-{n:05d}",
            tags=["服务承诺"],
        )
        for n in range(10_000)
    ]
    started = time.perf_counter()
    data = gift.write(bank, {"code": "big"})
    parsed = gift.read(data, "big.gift")
    elapsed = time.perf_counter() - started
    assert len(parsed.questions) == 10_000 and parsed.errors == []
    assert elapsed < 5, elapsed
