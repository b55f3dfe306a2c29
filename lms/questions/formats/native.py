"""The native question bank format: YAML, one bank per file (docs/question-bank-format.md).

The reader composes the YAML node tree with PyYAML's safe loader (nothing is constructed, so
no tag can make it build an object) and reads every field itself, by the schema: each value
has its line, every error names the line and the field, unknown fields and wrong types are
errors, and a text is taken as written (``95598``, ``yes`` and ``1.0`` stay texts). Anchors
and aliases are refused (they could multiply the document). The writer writes the same
schema for people: plain texts where the HTML is plain, key order as in the documentation.
"""

from __future__ import annotations

import difflib
import math
import re
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from lms.i18n import gettext as _
from lms.questions import data as d
from lms.questions.data import Choice, MatchPair, NumericAnswer, QuestionData
from lms.questions.formats import Format, ParsedFile
from lms.questions.html import markdown_to_html, plain_to_html, sanitise
from lms.questions.types import BLANK

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_constructor = SafeConstructor()
_TAG = "tag:yaml.org,2002:"
BANK_FIELDS = ("code", "title", "programme", "description")
BANK_CODE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
TYPE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
#: Every question field, in the order the documentation gives them and the writer writes them.
FIELDS = (
    "id", "type", "name", "stem", "options", "answer", "feedback_true", "feedback_false",
    "blanks", "case_sensitive", "numbers", "pairs", "distractors", "reference_answer",
    "explanation", "difficulty", "points", "knowledge_points", "posts", "tags", "source",
    "category",
)  # fmt: skip
COMMON = frozenset(FIELDS) - {
    "options", "answer", "feedback_true", "feedback_false", "blanks", "case_sensitive",
    "numbers", "pairs", "distractors", "reference_answer",
}  # fmt: skip
OWN_FIELDS = {
    d.SINGLE_CHOICE: {"options", "answer"},
    d.MULTIPLE_CHOICE: {"options", "answer"},
    d.TRUE_FALSE: {"answer", "feedback_true", "feedback_false"},
    d.FILL_IN: {"blanks", "case_sensitive"},
    d.NUMERICAL: {"numbers"},
    d.MATCHING: {"pairs", "distractors"},
    d.SHORT_ANSWER: {"reference_answer"},
    d.DESCRIPTION: set(),
}
#: The types the writer writes (every built-in type).
TYPES: frozenset[str] = frozenset(OWN_FIELDS)
#: The QuestionData fields that survive a write and a read, exactly.
CARRIES: frozenset[str] = frozenset(
    {
        "type", "stem", "name", "choices", "answer_true", "feedback_true", "feedback_false",
        "blanks", "case_sensitive", "numbers", "pairs", "reference_answer", "explanation",
        "difficulty", "points", "knowledge_points", "posts", "source", "tags", "external_id",
        "category",
    }
)  # fmt: skip
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
CHOICE_TYPES = (d.SINGLE_CHOICE, d.MULTIPLE_CHOICE)


class Invalid(Exception):
    """A value that breaks the schema: the node it is at, the field, and what is wrong."""

    def __init__(self, node: Node, field: str, message: str) -> None:
        super().__init__(message)
        self.line = node.start_mark.line + 1
        self.field = field
        self.message = message


# Values --------------------------------------------------------------------------------------


def _fields(node: Node, field: str, seen: set[int]) -> dict[str, tuple[Node, Node]]:
    """A mapping's entries by key (keys are texts; a key given twice is an error)."""
    if not isinstance(node, MappingNode):
        raise Invalid(node, field, _("%(field)s must be a mapping (key: value).", field=field))
    entries: dict[str, tuple[Node, Node]] = {}
    for key, value in node.value:
        if not isinstance(key, ScalarNode):
            raise Invalid(key, field, _("A key must be a simple text."))
        if key.value in entries:
            first = entries[key.value][0].start_mark.line + 1
            raise Invalid(
                key,
                key.value,
                _("%(key)s is given twice (also line %(line)d).", key=key.value, line=first),
            )
        _check_alias(value, key.value, seen)
        entries[key.value] = (key, value)
    return entries


def _check_alias(node: Node, field: str, seen: set[int]) -> None:
    # The composer returns the anchored node again for every alias: a node met twice is one.
    if id(node) in seen:
        raise Invalid(
            node,
            field,
            _(
                "%(field)s reuses the value of line %(line)d: anchors and aliases (& and *) are "
                "not supported.",
                field=field,
                line=node.start_mark.line + 1,
            ),
        )
    seen.add(id(node))


def _text(node: Node, field: str) -> str:
    """A text as written (a plain ``95598`` or ``yes`` is the text, not a number or a bool)."""
    if not isinstance(node, ScalarNode):
        raise Invalid(node, field, _("%(field)s must be a text.", field=field))
    return "" if node.tag == _TAG + "null" else node.value


def _html(node: Node, field: str, seen: set[int]) -> str:
    """Plain text, ``{html: ...}`` or ``{markdown: ...}``, as safe HTML."""
    if isinstance(node, MappingNode):
        entries = _fields(node, field, seen)
        if len(entries) != 1 or next(iter(entries)) not in ("html", "markdown"):
            raise Invalid(
                node,
                field,
                _("%(field)s must be a text, {html: ...} or {markdown: ...}.", field=field),
            )
        kind, (_key, value) = next(iter(entries.items()))
        text = _text(value, field)
        return sanitise(text) if kind == "html" else markdown_to_html(text)
    return plain_to_html(_text(node, field))


def _number(node: Node, field: str) -> float:
    if not isinstance(node, ScalarNode) or node.tag not in (_TAG + "int", _TAG + "float"):
        raise Invalid(node, field, _("%(field)s must be a number.", field=field))
    try:
        if node.tag == _TAG + "int":
            value = float(_constructor.construct_yaml_int(node))
        else:
            value = float(_constructor.construct_yaml_float(node))
    except (ValueError, OverflowError):
        value = math.nan
    if not math.isfinite(value):
        raise Invalid(node, field, _("%(field)s must be a finite number.", field=field))
    return value


def _fraction(node: Node, field: str) -> float:
    value = _number(node, field)
    if not -1 <= value <= 1:
        raise Invalid(node, field, _("A fraction must be from -1 to 1."))
    return value


def _bool(node: Node, field: str) -> bool:
    if not isinstance(node, ScalarNode) or node.tag != _TAG + "bool":
        raise Invalid(node, field, _("%(field)s must be true or false.", field=field))
    return bool(_constructor.construct_yaml_bool(node))


def _texts(node: Node, field: str, seen: set[int]) -> list[str]:
    """A list of texts (a single text counts as a list of one)."""
    if isinstance(node, ScalarNode):
        text = _text(node, field)
        return [text] if text else []
    if not isinstance(node, SequenceNode):
        raise Invalid(node, field, _("%(field)s must be a list of texts.", field=field))
    items = []
    for item in node.value:
        _check_alias(item, field, seen)
        items.append(_text(item, field))
    return items


def _items(node: Node, field: str, seen: set[int]) -> list[Node]:
    if not isinstance(node, SequenceNode):
        raise Invalid(node, field, _("%(field)s must be a list.", field=field))
    for item in node.value:
        _check_alias(item, field, seen)
    return list(node.value)


def _record(node: Node, field: str, allowed: tuple[str, ...], seen: set[int]) -> dict[str, Node]:
    """A small mapping such as ``{text: ..., fraction: 0.5}``: only the allowed keys."""
    entries = _fields(node, field, seen)
    for key, (key_node, _value) in entries.items():
        if key not in allowed:
            raise Invalid(key_node, field, _unknown(key, allowed))
    return {key: value for key, (_key, value) in entries.items()}


def _unknown(key: str, allowed: tuple[str, ...] | frozenset[str]) -> str:
    close = difflib.get_close_matches(key, list(allowed), n=1)
    if close:
        return _("Unknown field %(field)s (did you mean %(close)s?).", field=key, close=close[0])
    return _("Unknown field %(field)s.", field=key)


def _letters(node: Node, count: int) -> list[int]:
    """Option indexes from ``B``, ``[A, C]`` or ``ACD``; letters beyond the options are errors."""
    if isinstance(node, ScalarNode) and node.tag in (_TAG + "bool", _TAG + "int", _TAG + "float"):
        raise Invalid(node, "answer", _("The answer of a choice question is option letters."))
    nodes = node.value if isinstance(node, SequenceNode) else [node]
    indexes: list[int] = []
    for item in nodes:
        text = re.sub(r"[\s,，、;；]", "", _text(item, "answer")).upper()
        if not text or any(c not in LETTERS for c in text):
            raise Invalid(item, "answer", _("The answer must be option letters, like B or [A, C]."))
        for letter in text:
            index = LETTERS.index(letter)
            if index >= count:
                raise Invalid(
                    item,
                    "answer",
                    _(
                        "Answer %(letter)s: there are only %(n)d options.",
                        letter=letter,
                        n=count,
                    ),
                )
            if index in indexes:
                raise Invalid(item, "answer", _("Answer %(letter)s is given twice.", letter=letter))
            indexes.append(index)
    return indexes


# Questions -----------------------------------------------------------------------------------


def _choices(q: QuestionData, fields: dict[str, tuple[Node, Node]], seen: set[int]) -> None:
    if "options" not in fields:
        raise Invalid(fields["type"][0], "options", _("A choice question needs options."))
    weighted = False
    for item in _items(fields["options"][1], "options", seen):
        if isinstance(item, MappingNode) and not _is_text_wrapper(item):
            values = _record(item, "options", ("text", "fraction", "feedback"), seen)
            if "text" not in values:
                raise Invalid(item, "options", _("An option needs its text."))
            choice = Choice(_html(values["text"], "options", seen))
            if "fraction" in values:
                choice.fraction = _fraction(values["fraction"], "options")
                weighted = True
            if "feedback" in values:
                choice.feedback = _html(values["feedback"], "options", seen)
        else:
            choice = Choice(_html(item, "options", seen))
        q.choices.append(choice)
    answer = fields.get("answer")
    if answer is None:
        if not weighted:
            raise Invalid(fields["options"][0], "answer", _("The answer is missing."))
        return
    indexes = _letters(answer[1], len(q.choices))
    if q.type == d.SINGLE_CHOICE and len(indexes) > 1:
        raise Invalid(answer[1], "answer", _("A single choice question has one right option."))
    if weighted:
        if set(indexes) != {i for i, c in enumerate(q.choices) if c.fraction > 0}:
            raise Invalid(
                answer[1], "answer", _("The answer disagrees with the options' fractions.")
            )
        return
    for index in indexes:
        q.choices[index].fraction = 1.0 / len(indexes)


def _is_text_wrapper(node: MappingNode) -> bool:
    keys = [k.value for k, _v in node.value if isinstance(k, ScalarNode)]
    return keys in (["html"], ["markdown"])


def _blanks(q: QuestionData, node: Node, seen: set[int]) -> None:
    for blank in _items(node, "blanks", seen):
        answers = _items(blank, "blanks", seen) if isinstance(blank, SequenceNode) else [blank]
        accepted = []
        for item in answers:
            if isinstance(item, MappingNode):
                values = _record(item, "blanks", ("text", "fraction", "feedback"), seen)
                if "text" not in values:
                    raise Invalid(item, "blanks", _("An answer needs its text."))
                choice = Choice(_text(values["text"], "blanks"), 1.0)
                if "fraction" in values:
                    choice.fraction = _fraction(values["fraction"], "blanks")
                if "feedback" in values:
                    choice.feedback = _html(values["feedback"], "blanks", seen)
            else:
                choice = Choice(_text(item, "blanks"), 1.0)
            accepted.append(choice)
        q.blanks.append(accepted)


def _numbers(q: QuestionData, node: Node, seen: set[int]) -> None:
    for item in _items(node, "numbers", seen):
        if isinstance(item, ScalarNode):
            q.numbers.append(NumericAnswer(value=_number(item, "numbers")))
            continue
        fields = ("value", "tolerance", "low", "high", "fraction", "feedback")
        values = _record(item, "numbers", fields, seen)
        number = NumericAnswer()
        for key in ("value", "tolerance", "low", "high"):
            if key in values:
                setattr(number, key, _number(values[key], "numbers"))
        if "fraction" in values:
            number.fraction = _fraction(values["fraction"], "numbers")
        if "feedback" in values:
            number.feedback = _html(values["feedback"], "numbers", seen)
        ranged = "low" in values or "high" in values
        if ranged == ("value" in values) or (ranged and not ("low" in values and "high" in values)):
            raise Invalid(item, "numbers", _("A number is {value, tolerance} or {low, high}."))
        if "tolerance" in values and ranged:
            raise Invalid(item, "numbers", _("A range has no tolerance."))
        q.numbers.append(number)


def _pairs(q: QuestionData, node: Node, seen: set[int]) -> None:
    for item in _items(node, "pairs", seen):
        values = _record(item, "pairs", ("prompt", "answer"), seen)
        if "answer" not in values:
            raise Invalid(item, "pairs", _("A pair needs its answer."))
        prompt = _html(values["prompt"], "pairs", seen) if "prompt" in values else ""
        q.pairs.append(MatchPair(prompt, _text(values["answer"], "pairs")))


def _apply(q: QuestionData, name: str, node: Node, seen: set[int]) -> None:
    """Set one field (other than options and answer, which go together)."""
    if name == "id":
        q.external_id = _text(node, name)
    elif name in ("name", "source", "category"):
        setattr(q, name, _text(node, name))
    elif name in ("stem", "explanation", "reference_answer", "feedback_true", "feedback_false"):
        setattr(q, name, _html(node, name, seen))
    elif name == "blanks":
        _blanks(q, node, seen)
    elif name == "case_sensitive":
        q.case_sensitive = _bool(node, name)
    elif name == "numbers":
        _numbers(q, node, seen)
    elif name == "pairs":
        _pairs(q, node, seen)
    elif name == "distractors":
        q.pairs.extend(MatchPair("", text) for text in _texts(node, name, seen))
    elif name == "difficulty":
        value = _number(node, name)
        if not value.is_integer() or not 1 <= value <= 5:
            raise Invalid(node, name, _("Difficulty must be a whole number from 1 to 5."))
        q.difficulty = int(value)
    elif name == "points":
        q.points = _number(node, name)
        if q.points < 0:
            raise Invalid(node, name, _("Points cannot be negative."))
    elif name in ("knowledge_points", "posts", "tags"):
        setattr(q, name, _texts(node, name, seen))


def _question(node: Node, parsed: ParsedFile, seen: set[int]) -> QuestionData | None:
    line = node.start_mark.line + 1
    try:
        fields = _fields(node, "questions", seen)
    except Invalid as problem:
        parsed.error(problem.line, problem.message, problem.field)
        return None
    if "type" not in fields:
        parsed.error(line, _("The question has no type."), "type")
        return None
    type_node = fields["type"][1]
    type_name = type_node.value if isinstance(type_node, ScalarNode) else ""
    if not TYPE_NAME.match(type_name):
        parsed.error(type_node.start_mark.line + 1, _("The type must be a type name."), "type")
        return None
    q = QuestionData(type=type_name, stem="", line=line)
    allowed = COMMON | OWN_FIELDS.get(type_name, set(FIELDS))
    for name, (key, value) in fields.items():
        try:
            if name not in FIELDS:
                raise Invalid(key, name, _unknown(name, FIELDS))
            if name not in allowed:
                raise Invalid(
                    key,
                    name,
                    _("%(field)s does not apply to %(type)s.", field=name, type=type_name),
                )
            if name not in ("options", "answer"):
                _apply(q, name, value, seen)
        except Invalid as problem:
            parsed.error(problem.line, problem.message, problem.field)
    try:
        if ("options" in fields and "options" in allowed) or type_name in CHOICE_TYPES:
            _choices(q, fields, seen)
        elif "answer" in fields and "answer" in allowed:
            q.answer_true = _bool(fields["answer"][1], "answer")
        elif type_name == d.TRUE_FALSE:
            parsed.error(line, _("The answer is missing."), "answer")
    except Invalid as problem:
        parsed.error(problem.line, problem.message, problem.field)
    if "stem" not in fields:
        parsed.error(line, _("The question has no stem."), "stem")
    if q.type == d.FILL_IN and q.blanks and len(BLANK.findall(q.stem)) != len(q.blanks):
        parsed.warning(
            line,
            _(
                "The stem marks %(marks)d blanks (___) but %(n)d are given.",
                marks=len(BLANK.findall(q.stem)),
                n=len(q.blanks),
            ),
            "blanks",
        )
    return q


# Reading -------------------------------------------------------------------------------------


def _compose(data: bytes, parsed: ParsedFile) -> Node | None:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        parsed.error(data[: exc.start].count(b"\n") + 1, _("The file is not UTF-8 text."))
        return None
    try:
        return yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        parsed.error(
            mark.line + 1 if mark else None, _("YAML syntax error: %(problem)s", problem=problem)
        )
    except yaml.reader.ReaderError as exc:
        line = text[: max(0, exc.position)].count("\n") + 1
        parsed.error(
            line,
            _(
                "The file holds a character YAML does not allow (%(code)s).",
                code=hex(exc.character if isinstance(exc.character, int) else 0),
            ),
        )
    except yaml.YAMLError as exc:
        parsed.error(None, _("YAML syntax error: %(problem)s", problem=exc))
    except RecursionError:
        parsed.error(None, _("The YAML is nested too deeply."))
    return None


def read(data: bytes, file: str) -> ParsedFile:
    """Read a native YAML bank: its ``bank:`` header and its questions, every error with its
    line and field."""
    parsed = ParsedFile(file)
    root = _compose(data, parsed)
    if root is None:
        if not parsed.errors:
            parsed.error(1, _("The file is empty."))
        return parsed
    seen: set[int] = {id(root)}
    if not isinstance(root, MappingNode):
        parsed.error(1, _("The file must be a mapping with bank: and questions:."))
        return parsed
    try:
        top = _fields(root, "questions", seen)
        for key, (key_node, _value) in top.items():
            if key not in ("bank", "questions"):
                raise Invalid(key_node, key, _unknown(key, ("bank", "questions")))
        if "bank" in top:
            _bank(top["bank"][1], parsed, seen)
        if "questions" not in top:
            raise Invalid(root, "questions", _("The file has no questions: list."))
        items = (
            _items(top["questions"][1], "questions", seen)
            if top["questions"][1].tag != _TAG + "null"
            else []
        )
    except Invalid as problem:
        parsed.error(problem.line, problem.message, problem.field)
        return parsed
    ids: dict[str, int] = {}
    for item in items:
        question = _question(item, parsed, seen)
        if question is None:
            continue
        if question.external_id:
            if question.external_id in ids:
                parsed.error(
                    question.line,
                    _(
                        "Id %(id)s is used twice: lines %(first)d and %(line)d.",
                        id=question.external_id,
                        first=ids[question.external_id],
                        line=question.line,
                    ),
                    "id",
                )
            ids.setdefault(question.external_id, question.line or 0)
        parsed.questions.append(question)
    return parsed


def _bank(node: Node, parsed: ParsedFile, seen: set[int]) -> None:
    entries = _fields(node, "bank", seen)
    for key, (key_node, value) in entries.items():
        try:
            if key not in BANK_FIELDS:
                raise Invalid(key_node, key, _unknown(key, BANK_FIELDS))
            text = _text(value, key).strip()
            if key == "code" and not BANK_CODE.match(text):
                raise Invalid(value, key, _("A bank code is lower-case letters, digits and -."))
            if text:
                parsed.bank[key] = text
        except Invalid as problem:
            parsed.error(problem.line, problem.message, problem.field)
    for key in ("code", "title"):
        if key not in parsed.bank and not any(p.column == key for p in parsed.errors):
            parsed.error(node.start_mark.line + 1, _("The bank has no %(field)s.", field=key), key)


def sniff(data: bytes, file: str) -> bool:
    """A top-level ``bank:`` or ``questions:`` line."""
    head = data[:65536].removeprefix(b"\xef\xbb\xbf")
    return re.search(rb"^(?:bank|questions)[ \t]*:[ \t]*(?:#[^\n]*)?\r?$", head, re.M) is not None


def write(questions: list[QuestionData], bank: dict[str, Any]) -> bytes:
    """The bank as a native YAML file (see :mod:`lms.questions.formats.native_writer`)."""
    from lms.questions.formats.native_writer import write_bank

    return write_bank(questions, bank)


FORMAT = Format("yaml", "YAML", (".yaml", ".yml"), sniff, read, write)
