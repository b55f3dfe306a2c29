"""Writing the native YAML format for people: block style, short lists on one line, plain
texts where the HTML is plain (``{html: ...}`` otherwise), ``answer:`` letters where the
options' fractions are what the letters give, the key order of docs/question-bank-format.md.
"""

from __future__ import annotations

from typing import Any

import yaml

from lms.questions import data as d
from lms.questions.data import NumericAnswer, QuestionData
from lms.questions.formats.native import (
    BANK_FIELDS,
    CHOICE_TYPES,
    FIELDS,
    LETTERS,
    OWN_FIELDS,
)
from lms.questions.html import html_to_text, is_plain

_TAG = "tag:yaml.org,2002:"


class _Flow(list):  # type: ignore[type-arg]
    """A short list, written on one line."""


class _FlowMap(dict):  # type: ignore[type-arg]
    """A short mapping, written on one line."""


class _Dumper(yaml.SafeDumper):
    """Block style, sequences indented under their key, multi-line texts as ``|`` blocks."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, text: str) -> yaml.Node:
    style = None
    if any(c in text for c in "\x85\u2028\u2029"):
        style = '"'  # line breaks to YAML: escaped
    elif "\n" in text:
        # a block (|) only for trimmed texts: others could take the next lines in or need "..."
        trimmed = text == text.strip() and all(line == line.rstrip() for line in text.split("\n"))
        style = "|" if trimmed else '"'
    return dumper.represent_scalar(_TAG + "str", text, style=style)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(
    _Flow, lambda dumper, items: dumper.represent_sequence(_TAG + "seq", items, flow_style=True)
)
_Dumper.add_representer(
    _FlowMap, lambda dumper, items: dumper.represent_mapping(_TAG + "map", items, flow_style=True)
)
FLOW_WIDTH = 72


def _short(values: list[Any]) -> bool:
    texts = [str(v) for v in values]
    return all("\n" not in t for t in texts) and sum(len(t) + 2 for t in texts) <= FLOW_WIDTH


def _list(values: list[Any]) -> list[Any]:
    scalars = all(not isinstance(v, dict | list) for v in values)
    return _Flow(values) if scalars and _short(values) else list(values)


def _map(values: dict[str, Any]) -> dict[str, Any]:
    scalars = all(not isinstance(v, dict | list) for v in values.values())
    return _FlowMap(values) if scalars and _short([*values, *values.values()]) else values


def _out_html(html: str) -> Any:
    """Plain text where the HTML is plain, else ``{html: ...}``."""
    if is_plain(html):
        return html_to_text(html)
    return _map({"html": html})


def _out_number(value: float) -> float | int:
    return int(value) if value.is_integer() and abs(value) < 1e15 else value


def answer_letters(q: QuestionData) -> list[str] | None:
    """The right options' letters when the fractions are what ``answer:`` gives, else None."""
    right = [i for i, c in enumerate(q.choices) if c.fraction > 0]
    if not right or len(q.choices) > len(LETTERS):
        return None
    if q.type == d.SINGLE_CHOICE and len(right) != 1:
        return None
    share = 1.0 / len(right)
    for i, choice in enumerate(q.choices):
        if choice.fraction != (share if i in right else 0.0):
            return None
    return [LETTERS[i] for i in right]


def _out_choices(q: QuestionData, out: dict[str, Any]) -> None:
    letters = answer_letters(q) if q.type in CHOICE_TYPES else None
    options = []
    for choice in q.choices:
        text = _out_html(choice.text)
        if letters is not None and not choice.feedback:
            options.append(text)
            continue
        option: dict[str, Any] = {"text": text}
        if letters is None:
            option["fraction"] = _out_number(choice.fraction)
        if choice.feedback:
            option["feedback"] = _out_html(choice.feedback)
        options.append(_map(option))
    out["options"] = _list(options)
    if letters is not None:
        out["answer"] = letters[0] if q.type == d.SINGLE_CHOICE else _Flow(letters)


def _out_blanks(q: QuestionData) -> list[Any]:
    blanks = []
    for blank in q.blanks:
        answers: list[Any] = []
        for choice in blank:
            if choice.fraction == 1.0 and not choice.feedback:
                answers.append(choice.text)
                continue
            answer: dict[str, Any] = {"text": choice.text, "fraction": _out_number(choice.fraction)}
            if choice.feedback:
                answer["feedback"] = _out_html(choice.feedback)
            answers.append(_map(answer))
        blanks.append(_list(answers))
    return blanks


def _out_number_answer(number: NumericAnswer) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if number.value is not None:
        out["value"] = _out_number(number.value)
    if number.tolerance or (number.value is not None and number.low is not None):
        out["tolerance"] = _out_number(number.tolerance)
    for key in ("low", "high"):
        if getattr(number, key) is not None:
            out[key] = _out_number(getattr(number, key))
    if number.fraction != 1.0:
        out["fraction"] = _out_number(number.fraction)
    if number.feedback:
        out["feedback"] = _out_html(number.feedback)
    return _map(out)


def _out_pairs(q: QuestionData, out: dict[str, Any]) -> None:
    prompts = [i for i, p in enumerate(q.pairs) if p.prompt]
    tail = prompts[-1] + 1 if prompts else 0
    # Distractors after the last pair go to ``distractors``; any earlier stay in place.
    out["pairs"] = [
        _map({"prompt": _out_html(p.prompt), "answer": p.answer}) for p in q.pairs[:tail]
    ]
    if q.pairs[tail:]:
        out["distractors"] = _list([p.answer for p in q.pairs[tail:]])


def _out_question(q: QuestionData) -> dict[str, Any]:
    own = OWN_FIELDS.get(q.type, set(FIELDS))
    out: dict[str, Any] = {}
    if q.external_id:
        out["id"] = q.external_id
    out["type"] = q.type
    if q.name:
        out["name"] = q.name
    out["stem"] = _out_html(q.stem)
    if "options" in own and (q.choices or q.type in CHOICE_TYPES):
        _out_choices(q, out)
    if q.answer_true is not None and (q.type == d.TRUE_FALSE or q.type not in OWN_FIELDS):
        out["answer"] = q.answer_true
    for key in ("feedback_true", "feedback_false"):
        if key in own and getattr(q, key):
            out[key] = _out_html(getattr(q, key))
    if "blanks" in own and q.blanks:
        out["blanks"] = _out_blanks(q)
    if "case_sensitive" in own and q.case_sensitive:
        out["case_sensitive"] = True
    if "numbers" in own and q.numbers:
        out["numbers"] = [_out_number_answer(n) for n in q.numbers]
    if "pairs" in own and q.pairs:
        _out_pairs(q, out)
    if "reference_answer" in own and q.reference_answer:
        out["reference_answer"] = _out_html(q.reference_answer)
    if q.explanation:
        out["explanation"] = _out_html(q.explanation)
    if q.difficulty != 3:
        out["difficulty"] = q.difficulty
    if q.points != 1.0:
        out["points"] = _out_number(q.points)
    for key in ("knowledge_points", "posts", "tags"):
        if getattr(q, key):
            out[key] = _list(list(getattr(q, key)))
    for key in ("source", "category"):
        if getattr(q, key):
            out[key] = getattr(q, key)
    return out


def _dump(value: Any) -> str:
    return yaml.dump(value, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100)


def write_bank(questions: list[QuestionData], bank: dict[str, Any]) -> bytes:
    """The bank as a native YAML file: ``bank:`` (its non-empty fields), then ``questions:``,
    a blank line between questions."""
    header = {
        key: str(bank[key]).strip() for key in BANK_FIELDS if str(bank.get(key) or "").strip()
    }
    parts = [_dump({"bank": header}) + "\n"] if header else []
    parts.append("questions:\n" if questions else "questions: []\n")
    for number, question in enumerate(questions):
        if number:
            parts.append("\n")
        for line in _dump([_out_question(question)]).removesuffix("...\n").splitlines(True):
            parts.append("  " + line if line.strip() else line)
    return "".join(parts).encode("utf-8")
