"""The built-in question types: registry, validation and grading."""

from __future__ import annotations

import pytest

from lms.questions.data import Choice, MatchPair, NumericAnswer, QuestionData
from lms.questions.types import QuestionType, SingleChoice, TypeRegistry, load_types

TYPES = load_types()


def choice_question(type_: str, fractions: list[float]) -> QuestionData:
    return QuestionData(
        type=type_, stem="问题", choices=[Choice(f"选项{i}", f) for i, f in enumerate(fractions)]
    )


def test_builtin_types_come_from_the_entry_point_group():
    """Every built-in type is registered through the lms.question_types entry points."""
    assert set(TYPES) == {
        "single_choice",
        "multiple_choice",
        "true_false",
        "fill_in",
        "numerical",
        "matching",
        "short_answer",
        "description",
    }


def test_two_types_with_one_name_fail():
    """Registering a second type under a taken name is an error at start-up."""

    class Impostor(QuestionType):
        name = "single_choice"

    registry = TypeRegistry()
    registry.register(SingleChoice)
    with pytest.raises(RuntimeError, match="single_choice"):
        registry.register(Impostor)


def test_app_start_fails_on_duplicate_type(monkeypatch, tmp_path):
    """An installed plug-in that reuses a built-in type's name stops the app from starting."""
    import lms
    import lms.extension

    class Impostor(QuestionType):
        name = "true_false"

    monkeypatch.setattr(lms.extension, "load_types", lambda: load_types(extra=[Impostor]))
    with pytest.raises(RuntimeError, match="true_false"):
        lms.create_app(
            {"TESTING": True, "LMS_DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "SECRET_KEY": "x"}
        )


def test_single_choice_grades_the_chosen_option():
    """A single choice earns the chosen option's fraction; bad responses earn nothing."""
    question = choice_question("single_choice", [0, 1, 0, 0])
    single = TYPES["single_choice"]
    assert single.grade(question, 1) == 1.0
    assert single.grade(question, 0) == 0.0
    for bad in (None, "1", 7, -1, True, [1]):
        assert single.grade(question, bad) == 0.0


def test_single_choice_validation():
    """A choice question needs two options and one right answer."""
    assert TYPES["single_choice"].validate(choice_question("single_choice", [0, 0]))
    assert TYPES["single_choice"].validate(choice_question("single_choice", [1]))
    assert not TYPES["single_choice"].validate(choice_question("single_choice", [0, 1]))


def test_multiple_choice_is_all_or_nothing_by_default():
    """Multiple choice needs exactly the right options unless grading is proportional."""
    question = choice_question("multiple_choice", [0.5, 0.5, -0.5, 0])
    multiple = TYPES["multiple_choice"]
    assert multiple.grade(question, [0, 1]) == 1.0
    assert multiple.grade(question, [1, 0]) == 1.0
    assert multiple.grade(question, [0]) == 0.0
    assert multiple.grade(question, [0, 1, 3]) == 0.0
    assert multiple.grade(question, [0], proportional=True) == 0.5
    assert multiple.grade(question, [0, 2], proportional=True) == 0.0
    assert multiple.grade(question, "0,1") == 0.0


def test_true_false():
    """True/false earns the points only for the right boolean."""
    question = QuestionData(type="true_false", stem="计划停电应提前7天公告。", answer_true=True)
    tf = TYPES["true_false"]
    assert tf.grade(question, True) == 1.0
    assert tf.grade(question, False) == 0.0
    assert tf.grade(question, 1) == 0.0
    assert tf.validate(QuestionData(type="true_false", stem="x"))


def test_fill_in_normalises_and_shares_points_between_blanks():
    """Blanks compare without spaces, case or full-width forms; each blank is a share."""
    question = QuestionData(
        type="fill_in",
        stem="热线 ___，城区 ___ 分钟",
        blanks=[[Choice("95598", 1.0)], [Choice("45", 1.0), Choice("四十五", 1.0)]],
    )
    fill = TYPES["fill_in"]
    assert fill.grade(question, ["95598", "45"]) == 1.0
    assert fill.grade(question, [" ９５５９８ ", "四十五"]) == 1.0
    assert fill.grade(question, ["95598", "90"]) == 0.5
    assert fill.grade(question, []) == 0.0


def test_fill_in_case_sensitivity():
    """Case counts only when the question says so."""
    question = QuestionData(type="fill_in", stem="___", blanks=[[Choice("York", 1.0)]])
    assert TYPES["fill_in"].grade(question, ["york"]) == 1.0
    question.case_sensitive = True
    assert TYPES["fill_in"].grade(question, ["york"]) == 0.0


def test_numerical_tolerance_ranges_and_weights():
    """Numbers match within tolerance or range; the best matching answer's fraction counts."""
    question = QuestionData(
        type="numerical",
        stem="π?",
        numbers=[NumericAnswer(3.1415, 0.0005), NumericAnswer(low=3.0, high=3.2, fraction=0.5)],
    )
    numerical = TYPES["numerical"]
    assert numerical.grade(question, "3.1418") == 1.0
    assert numerical.grade(question, "3,14") == 0.5
    assert numerical.grade(question, 3.5) == 0.0
    assert numerical.grade(question, "pi") == 0.0


def test_matching_counts_right_pairs_and_hides_the_order():
    """Each right pair earns its share; the public view lists answers sorted, with distractors."""
    question = QuestionData(
        type="matching",
        stem="对应",
        pairs=[MatchPair("城区", "45分钟"), MatchPair("农村", "90分钟"), MatchPair("", "30分钟")],
    )
    matching = TYPES["matching"]
    assert matching.grade(question, ["45分钟", "90分钟"]) == 1.0
    assert matching.grade(question, ["45分钟", "30分钟"]) == 0.5
    public = matching.public(question)
    assert public["prompts"] == ["城区", "农村"]
    assert public["answers"] == sorted(["45分钟", "90分钟", "30分钟"])


def test_public_views_carry_no_answers():
    """What a candidate is shown has no fractions, feedback or answers."""
    question = choice_question("single_choice", [0, 1])
    question.choices[1].feedback = "正确答案的反馈"
    public = TYPES["single_choice"].public(question)
    assert "fraction" not in repr(public) and "反馈" not in repr(public)


def test_short_answer_is_graded_by_a_person():
    """Short answers are not auto-graded."""
    assert TYPES["short_answer"].auto_graded is False
    with pytest.raises(ValueError):
        TYPES["short_answer"].grade(QuestionData(type="short_answer", stem="简述"), "答案")


def test_content_hash_ignores_the_line():
    """The same question read from another line has the same content hash."""
    first = choice_question("single_choice", [0, 1])
    second = QuestionData.from_dict(first.as_dict(), line=99)
    assert first.content_hash() == second.content_hash()
    second.stem = "另一个问题"
    assert first.content_hash() != second.content_hash()
