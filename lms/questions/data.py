"""The format-neutral form of a question: what every reader produces and every writer takes.

A :class:`QuestionData` is plain data (no database): readers build it from a file, the import
service stores it as a question version (``as_dict`` / ``from_dict``), writers turn it back
into a file. Text fields that hold HTML (``stem``, choice texts, feedback, ``explanation``) are
already sanitised by :func:`lms.questions.html.sanitise` when a reader hands them over.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

#: The built-in type names (the registry in :mod:`lms.questions.types` may add more).
SINGLE_CHOICE = "single_choice"
MULTIPLE_CHOICE = "multiple_choice"
TRUE_FALSE = "true_false"
FILL_IN = "fill_in"
NUMERICAL = "numerical"
MATCHING = "matching"
SHORT_ANSWER = "short_answer"
DESCRIPTION = "description"


#: Shares that Moodle writes as rounded percentages (33.33333...): read back as the exact share.
EXACT_PERCENTAGES = {
    1 / 3: "33.33333",
    2 / 3: "66.66667",
    1 / 6: "16.66667",
    5 / 6: "83.33333",
    1 / 7: "14.28571",
    1 / 9: "11.11111",
}


def fraction_from_percent(text: str) -> float:
    """A percentage weight (``"50"``, ``"-33.33333"``) as a fraction; Moodle's rounded thirds,
    sixths, sevenths and ninths as the exact shares, so that GIFT and Moodle XML agree."""
    from decimal import Decimal

    fraction = float(Decimal(text.strip()) / 100)
    for exact in EXACT_PERCENTAGES:
        if abs(abs(fraction) - exact) < 1e-6:
            return math.copysign(exact, fraction)
    return fraction


def percent_text(fraction: float) -> str:
    """A fraction as the percentage Moodle writes (``0.5`` → ``50``, ``1/3`` → ``33.33333``)."""
    from decimal import Decimal

    for exact, written in EXACT_PERCENTAGES.items():
        if abs(abs(fraction) - exact) < 1e-9:
            return ("-" if fraction < 0 else "") + written
    return format((Decimal(repr(float(fraction))) * 100).normalize(), "f")


@dataclass
class Choice:
    """An option of a choice question, or one accepted answer of a blank.

    ``fraction`` is the share of the question's points it earns, from -1 to 1 (GIFT and Moodle
    weights divided by 100): > 0 is right, 0 is wrong, < 0 is a penalty.
    """

    text: str
    fraction: float = 0.0
    feedback: str = ""


@dataclass
class NumericAnswer:
    """An accepted number: ``value`` ± ``tolerance``, or the range ``low``..``high``."""

    value: float | None = None
    tolerance: float = 0.0
    low: float | None = None
    high: float | None = None
    fraction: float = 1.0
    feedback: str = ""

    def accepts(self, number: float) -> bool:
        if self.low is not None and self.high is not None:
            return self.low <= number <= self.high
        if self.value is None:
            return False
        return abs(number - self.value) <= abs(self.tolerance) + 1e-12 * max(1.0, abs(self.value))


@dataclass
class MatchPair:
    """A prompt and its answer; a pair with an empty prompt is a distractor answer."""

    prompt: str
    answer: str


@dataclass
class QuestionData:
    """One question, in any type. Only the fields of its type are filled in."""

    type: str
    stem: str
    name: str = ""
    #: single_choice, multiple_choice
    choices: list[Choice] = field(default_factory=list)
    #: true_false: the right answer, and the feedback shown for each answer given
    answer_true: bool | None = None
    feedback_true: str = ""
    feedback_false: str = ""
    #: fill_in: one list of accepted answers per blank (the blank is marked ``___`` in the stem)
    blanks: list[list[Choice]] = field(default_factory=list)
    case_sensitive: bool = False
    #: numerical
    numbers: list[NumericAnswer] = field(default_factory=list)
    #: matching
    pairs: list[MatchPair] = field(default_factory=list)
    #: short_answer: a model answer for the person who grades it
    reference_answer: str = ""
    #: every type
    explanation: str = ""
    difficulty: int = 3
    points: float = 1.0
    knowledge_points: list[str] = field(default_factory=list)
    posts: list[str] = field(default_factory=list)
    source: str = ""
    tags: list[str] = field(default_factory=list)
    #: the file's identifier: GIFT ``[id:]``, Moodle ``idnumber``, QTI ``identifier``, YAML ``id``
    external_id: str = ""
    #: the category path in the file (GIFT ``$CATEGORY``, Moodle categories)
    category: str = ""
    #: where the question starts in its file (not content: excluded from the hash)
    line: int | None = field(default=None, compare=False)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-able data, without the line and without empty fields."""
        data = asdict(self)
        data.pop("line")
        defaults = QuestionData(type="", stem="")
        return {k: v for k, v in data.items() if k in ("type", "stem") or v != getattr(defaults, k)}

    @classmethod
    def from_dict(cls, data: dict[str, Any], line: int | None = None) -> QuestionData:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known and k != "line"}
        values["choices"] = [Choice(**c) for c in values.get("choices", [])]
        values["blanks"] = [[Choice(**c) for c in blank] for blank in values.get("blanks", [])]
        values["numbers"] = [NumericAnswer(**n) for n in values.get("numbers", [])]
        values["pairs"] = [MatchPair(**p) for p in values.get("pairs", [])]
        return cls(**values, line=line)

    def content_hash(self) -> str:
        """A digest of everything but the line: equal questions have equal hashes."""
        payload = json.dumps(self.as_dict(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()
