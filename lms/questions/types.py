"""Pluggable question types: a base class, the built-in types, and the registry.

Every type, built-in or not, is declared in the ``lms.question_types`` entry-point group (see
``pyproject.toml``); :func:`load_types` reads the group when the app starts, and two types with
one name stop the start. A type validates a question of its kind, grades a response against it
(returning the fraction of the points earned, 0 to 1), names the template of its input widget,
gives the candidate's view of it (never the answer), and says which file formats can carry it.

Responses, as the exam pages send them:

- single_choice: the index of the chosen option (int); multiple_choice: a list of indexes;
- true_false: a bool; fill_in: a list of strings, one per blank; numerical: a string or number;
- matching: a list of answer texts, one per prompt; short_answer: a string (graded by a person).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from importlib.metadata import entry_points
from typing import Any, ClassVar

from lms.i18n import lazy_gettext as _l
from lms.questions import data as d
from lms.questions.data import QuestionData

ENTRY_POINT_GROUP = "lms.question_types"
ALL_FORMATS = frozenset({"gift", "moodlexml", "xlsx", "yaml"})
BLANK = re.compile(r"_{3,}|[（(]\s*[)）]")


class QuestionType:
    """Base class of question types. Subclasses set ``name``, ``label`` and ``widget`` and
    override :meth:`validate` and :meth:`grade`."""

    name: ClassVar[str]
    label: ClassVar[Any]
    #: False: a person grades it (the exam puts it in the grading queue)
    auto_graded: ClassVar[bool] = True
    #: template of the input widget, given ``question`` (the public view) and ``response``
    widget: ClassVar[str]
    #: the writable formats that can carry this type
    formats: ClassVar[frozenset[str]] = ALL_FORMATS

    def validate(self, question: QuestionData) -> list[str]:
        """What is wrong with ``question`` (messages for the person who wrote the file)."""
        problems = []
        if not question.stem.strip() and self.name != d.DESCRIPTION:
            problems.append(str(_l("The question has no text.")))
        if not 1 <= question.difficulty <= 5:
            problems.append(str(_l("Difficulty must be from 1 to 5.")))
        if question.points < 0:
            problems.append(str(_l("Points cannot be negative.")))
        return problems

    def grade(self, question: QuestionData, response: Any) -> float:
        """The fraction of the points that ``response`` earns, from 0 to 1."""
        raise NotImplementedError

    def public(self, question: QuestionData) -> dict[str, Any]:
        """What a candidate is shown: the text and the options, never answers or feedback."""
        return {"type": self.name, "stem": question.stem}


def _clamp(value: float) -> float:
    return max(0.0, min(1.0, value))


class SingleChoice(QuestionType):
    name = d.SINGLE_CHOICE
    label = _l("Single choice")
    widget = "lms/questions/widgets/single_choice.html"

    def validate(self, question: QuestionData) -> list[str]:
        problems = super().validate(question)
        if len(question.choices) < 2:
            problems.append(str(_l("A choice question needs at least two options.")))
        if not any(c.fraction > 0 for c in question.choices):
            problems.append(str(_l("No option is marked as right.")))
        if any(not c.text.strip() for c in question.choices):
            problems.append(str(_l("An option is empty.")))
        return problems

    def grade(self, question: QuestionData, response: Any) -> float:
        if not isinstance(response, int) or isinstance(response, bool):
            return 0.0
        if not 0 <= response < len(question.choices):
            return 0.0
        return _clamp(question.choices[response].fraction)

    def public(self, question: QuestionData) -> dict[str, Any]:
        return super().public(question) | {"options": [c.text for c in question.choices]}


class MultipleChoice(SingleChoice):
    """Several right options. All-or-nothing by default: every right option and no wrong one.
    ``grade(..., proportional=True)`` adds the fractions instead (wrong picks subtract)."""

    name = d.MULTIPLE_CHOICE
    label = _l("Multiple choice")
    widget = "lms/questions/widgets/multiple_choice.html"

    def grade(self, question: QuestionData, response: Any, *, proportional: bool = False) -> float:
        if not isinstance(response, list | tuple | set):
            return 0.0
        picked = {r for r in response if isinstance(r, int) and 0 <= r < len(question.choices)}
        if proportional:
            return _clamp(sum(question.choices[i].fraction for i in picked))
        right = {i for i, c in enumerate(question.choices) if c.fraction > 0}
        return 1.0 if picked == right else 0.0


class TrueFalse(QuestionType):
    name = d.TRUE_FALSE
    label = _l("True or false")
    widget = "lms/questions/widgets/true_false.html"

    def validate(self, question: QuestionData) -> list[str]:
        problems = super().validate(question)
        if question.answer_true is None:
            problems.append(str(_l("A true/false question needs its answer.")))
        return problems

    def grade(self, question: QuestionData, response: Any) -> float:
        return 1.0 if isinstance(response, bool) and response is question.answer_true else 0.0


def normalise_text(text: str, case_sensitive: bool) -> str:
    """Answers compare without surrounding spaces, with runs of spaces as one, and (unless
    case-sensitive) without case; full-width letters and digits count as half-width."""
    import unicodedata

    text = unicodedata.normalize("NFKC", str(text)).strip()
    text = re.sub(r"\s+", " ", text)
    return text if case_sensitive else text.casefold()


class FillIn(QuestionType):
    """One or more blanks, each with its accepted answers (all blanks share the points)."""

    name = d.FILL_IN
    label = _l("Fill in the blanks")
    widget = "lms/questions/widgets/fill_in.html"

    def validate(self, question: QuestionData) -> list[str]:
        problems = super().validate(question)
        if not question.blanks:
            problems.append(str(_l("A fill-in question needs at least one blank with answers.")))
        for number, blank in enumerate(question.blanks, start=1):
            if not any(a.fraction > 0 and a.text.strip() for a in blank):
                problems.append(str(_l("Blank %(n)d has no accepted answer.", n=number)))
        return problems

    def grade(self, question: QuestionData, response: Any) -> float:
        if isinstance(response, str):
            response = [response]
        if not isinstance(response, list | tuple) or not question.blanks:
            return 0.0
        earned = 0.0
        for blank, given in zip(question.blanks, response, strict=False):
            given_text = normalise_text(str(given), question.case_sensitive)
            best = max(
                (
                    a.fraction
                    for a in blank
                    if normalise_text(a.text, question.case_sensitive) == given_text
                ),
                default=0.0,
            )
            earned += _clamp(best)
        return _clamp(earned / len(question.blanks))

    def public(self, question: QuestionData) -> dict[str, Any]:
        return super().public(question) | {"blanks": len(question.blanks)}


def parse_number(text: Any) -> float | None:
    """A number as a candidate may type it: ``3.14``, ``3,14``, full-width digits; else None."""
    import unicodedata

    if isinstance(text, int | float) and not isinstance(text, bool):
        return float(text)
    value = unicodedata.normalize("NFKC", str(text)).strip().replace(",", ".")
    try:
        return float(value)
    except ValueError:
        return None


class Numerical(QuestionType):
    name = d.NUMERICAL
    label = _l("Numerical")
    widget = "lms/questions/widgets/numerical.html"

    def validate(self, question: QuestionData) -> list[str]:
        problems = super().validate(question)
        if not any(n.fraction > 0 for n in question.numbers):
            problems.append(str(_l("A numerical question needs an accepted number.")))
        for n in question.numbers:
            if n.value is None and (n.low is None or n.high is None):
                problems.append(str(_l("A numerical answer needs a value or a range.")))
            elif n.low is not None and n.high is not None and n.low > n.high:
                problems.append(str(_l("A range's low end is above its high end.")))
        return problems

    def grade(self, question: QuestionData, response: Any) -> float:
        number = parse_number(response)
        if number is None:
            return 0.0
        return _clamp(max((n.fraction for n in question.numbers if n.accepts(number)), default=0.0))


class Matching(QuestionType):
    name = d.MATCHING
    label = _l("Matching")
    widget = "lms/questions/widgets/matching.html"

    def prompts(self, question: QuestionData) -> list[d.MatchPair]:
        return [p for p in question.pairs if p.prompt.strip()]

    def validate(self, question: QuestionData) -> list[str]:
        problems = super().validate(question)
        if len(self.prompts(question)) < 2:
            problems.append(str(_l("A matching question needs at least two pairs.")))
        if any(not p.answer.strip() for p in question.pairs):
            problems.append(str(_l("A matching pair has no answer.")))
        return problems

    def grade(self, question: QuestionData, response: Any) -> float:
        prompts = self.prompts(question)
        if not isinstance(response, list | tuple) or not prompts:
            return 0.0
        right = sum(
            1
            for pair, given in zip(prompts, response, strict=False)
            if isinstance(given, str) and given == pair.answer
        )
        return right / len(prompts)

    def public(self, question: QuestionData) -> dict[str, Any]:
        answers = sorted({p.answer for p in question.pairs})  # sorted: the order reveals nothing
        return super().public(question) | {
            "prompts": [p.prompt for p in self.prompts(question)],
            "answers": answers,
        }


class ShortAnswer(QuestionType):
    """Written answer, graded by a person (HR or the manager) from the grading queue."""

    name = d.SHORT_ANSWER
    label = _l("Short answer")
    auto_graded = False
    widget = "lms/questions/widgets/short_answer.html"

    def grade(self, question: QuestionData, response: Any) -> float:
        raise ValueError("short answers are graded by a person")


class Description(QuestionType):
    """Text only (instructions, a case to read): nothing to answer, no points."""

    name = d.DESCRIPTION
    label = _l("Description")
    widget = "lms/questions/widgets/description.html"

    def validate(self, question: QuestionData) -> list[str]:
        problems = super().validate(question)
        if not question.stem.strip():
            problems.append(str(_l("The description has no text.")))
        return problems

    def grade(self, question: QuestionData, response: Any) -> float:
        return 0.0


class TypeRegistry(dict[str, QuestionType]):
    """Question types by name."""

    def register(self, question_type: type[QuestionType], origin: str = "") -> None:
        """Add a type; a second type with the same name is an error (found at start-up)."""
        name = question_type.name
        if name in self:
            raise RuntimeError(
                f"Two question types are named {name!r}: {type(self[name]).__module__} and "
                f"{question_type.__module__} {origin}".rstrip()
            )
        self[name] = question_type()

    def for_question(self, question: QuestionData) -> QuestionType:
        try:
            return self[question.type]
        except KeyError:
            raise KeyError(f"unknown question type {question.type!r}") from None


def load_types(extra: Iterable[type[QuestionType]] = ()) -> TypeRegistry:
    """Every type declared in the ``lms.question_types`` entry-point group, plus ``extra``."""
    registry = TypeRegistry()
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        cls = entry.load()
        if cls.name != entry.name:
            raise RuntimeError(f"entry point {entry.name!r} loads a type named {cls.name!r}")
        registry.register(cls, origin=f"(entry point {entry.value})")
    for cls in extra:
        registry.register(cls)
    return registry


_default: TypeRegistry | None = None


def registry() -> TypeRegistry:
    """The types of the current app, or (outside an app) the installed ones."""
    from flask import current_app, has_app_context

    global _default
    if has_app_context() and "lms" in current_app.extensions:
        return current_app.extensions["lms"].question_types
    if _default is None:
        _default = load_types()
    return _default
