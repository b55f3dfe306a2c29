"""Writing Moodle XML (see :mod:`lms.questions.formats.moodlexml` for what it carries)."""

from __future__ import annotations

import html
import re
import sys
from collections.abc import Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from lms.questions import data as d
from lms.questions.data import (
    Choice,
    QuestionData,
    percent_text,
)

#: Moodle's question type for each type written (fill_in: shortanswer, or cloze for several
#: blanks).
from lms.questions.formats.moodlexml import (
    _DATA_IMAGE,
    _INVALID_XML,
    EXTENSIONS,
    KINDS,
    PREFIXES,
    default_name,
)
from lms.questions.types import BLANK


def _number(value: float) -> str:
    """A float as the shortest decimal that reads back as the same float."""
    return format(Decimal(repr(float(value))).normalize(), "f")


def _midpoint(low: float, high: float) -> tuple[str, str]:
    """A range as Moodle's value and tolerance (decimal: 3.141..3.142 is 3.1415 ± 0.0005); the
    widest range (any number) as Moodle's ``*``."""
    if low <= -sys.float_info.max and high >= sys.float_info.max:
        return "*", "0"
    low_d, high_d = Decimal(repr(float(low))), Decimal(repr(float(high)))
    half = ((high_d - low_d) / 2).normalize()
    return format(((low_d + high_d) / 2).normalize(), "f"), format(abs(half), "f")


def _cdata(text: str) -> str:
    text = _INVALID_XML.sub("", text)
    if not re.search(r"[<>&]", text):
        return text
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


class _Writer:
    def __init__(self) -> None:
        self.out: list[str] = ['<?xml version="1.0" encoding="UTF-8"?>', "<quiz>"]

    def text(self, pad: str, tag: str, value: str, fmt: str = "html", extra: str = "") -> None:
        """``<tag format=...><text>value</text>[files]</tag>``; data: images become files."""
        files: list[str] = []

        def to_file(match: re.Match[str]) -> str:
            name = f"image{len(files) + 1}.{EXTENSIONS[match.group(1)]}"
            files.append(f'<file name="{name}" path="/" encoding="base64">{match.group(2)}</file>')
            return f'src="@@PLUGINFILE@@/{quote(name)}"'

        value = _DATA_IMAGE.sub(to_file, value) if fmt == "html" else value
        attribute = f' format="{fmt}"' if fmt else ""
        self.out.append(f"{pad}<{tag}{attribute}{extra}>\n{pad}  <text>{_cdata(value)}</text>")
        self.out += [f"{pad}  {f}" for f in files] + [f"{pad}</{tag}>"]

    def answer(self, choice: Choice, fmt: str = "html", extra: str = "") -> None:
        self.text(
            "    ", "answer", choice.text, fmt, f' fraction="{percent_text(choice.fraction)}"'
        )
        closing = self.out.pop()
        self.text("      ", "feedback", choice.feedback)
        self.out += [extra, closing] if extra else [closing]

    def category(self, category: str) -> None:
        path = _cdata(category or "$course$/top")
        self.out.append(f'  <question type="category">\n    <category>\n      <text>{path}</text>'
                        "\n    </category>\n  </question>")  # fmt: skip

    def question(self, q: QuestionData) -> None:
        if q.type not in KINDS:
            raise ValueError(f"Moodle XML cannot hold a question of type {q.type!r}")
        cloze = q.type == d.FILL_IN and len(q.blanks) != 1
        self.out.append(f'  <question type="{"cloze" if cloze else KINDS[q.type]}">')
        self.text("    ", "name", q.name or q.external_id or default_name(q.stem), "")
        self.text("    ", "questiontext", _cloze_stem(q) if cloze else q.stem)
        self.text("    ", "generalfeedback", q.explanation)
        self.out.append(
            f"    <defaultgrade>{_number(q.points)}</defaultgrade>\n    <penalty>0.3333333"
            f"</penalty>\n    <hidden>0</hidden>\n    <idnumber>{_cdata(q.external_id)}</idnumber>"
        )
        if not cloze:
            self.body(q)
        tags = ["标签:" + t if t.startswith(tuple(PREFIXES)) else t for t in q.tags]
        tags += [f"知识点:{k}" for k in q.knowledge_points] + [f"岗位:{p}" for p in q.posts]
        tags += [f"出处:{q.source}"] if q.source else []
        tags += [f"难度:{q.difficulty}"] if q.difficulty != 3 else []
        if tags:
            self.out += [
                "    <tags>",
                *(f"      <tag><text>{_cdata(t)}</text></tag>" for t in tags),
            ]
            self.out.append("    </tags>")
        self.out.append("  </question>")

    def body(self, q: QuestionData) -> None:
        """The elements of each type, as Moodle exports them."""
        plain = "moodle_auto_format"  # how Moodle marks answers that are plain text
        if q.type in (d.SINGLE_CHOICE, d.MULTIPLE_CHOICE):
            single = q.type == d.SINGLE_CHOICE
            self.out.append(f"    <single>{'true' if single else 'false'}</single>\n"
                            "    <shuffleanswers>true</shuffleanswers>\n"
                            "    <answernumbering>ABCD</answernumbering>")  # fmt: skip
            for tag in ("correctfeedback", "partiallycorrectfeedback", "incorrectfeedback"):
                self.text("    ", tag, "")
            for choice in q.choices if single else _scaled(q.choices):
                self.answer(choice)
        elif q.type == d.TRUE_FALSE:
            self.answer(Choice("true", float(bool(q.answer_true)), q.feedback_true), plain)
            self.answer(Choice("false", float(not q.answer_true), q.feedback_false), plain)
        elif q.type == d.FILL_IN:
            self.out.append(f"    <usecase>{int(q.case_sensitive)}</usecase>")
            for choice in q.blanks[0]:  # \* is a plain *, * alone Moodle's wildcard
                self.answer(
                    Choice(choice.text.replace("*", "\\*"), choice.fraction, choice.feedback), plain
                )
        elif q.type == d.NUMERICAL:
            for n in q.numbers:
                value, tolerance = _number(n.value or 0.0), _number(abs(n.tolerance))
                if n.low is not None and n.high is not None:
                    value, tolerance = _midpoint(n.low, n.high)
                extra = f"      <tolerance>{tolerance}</tolerance>" if value != "*" else ""
                self.answer(Choice(value, n.fraction, n.feedback), plain, extra)
        elif q.type == d.MATCHING:
            self.out.append("    <shuffleanswers>true</shuffleanswers>")
            for pair in q.pairs:
                self.text("    ", "subquestion", pair.prompt)
                answer = (
                    f"      <answer>\n        <text>{_cdata(pair.answer)}</text>\n      </answer>"
                )
                self.out[-1:] = [answer, self.out[-1]]
        elif q.type == d.SHORT_ANSWER:
            self.out.append("    <responseformat>editor</responseformat>\n"
                            "    <responserequired>1</responserequired>\n"
                            "    <responsefieldlines>10</responsefieldlines>\n"
                            "    <attachments>0</attachments>\n"
                            "    <attachmentsrequired>0</attachmentsrequired>")  # fmt: skip
            self.text("    ", "graderinfo", q.reference_answer)
            self.text("    ", "responsetemplate", "")


def _scaled(choices: list[Choice]) -> list[Choice]:
    """Multiple-choice options whose positive fractions add up to 1, as Moodle requires."""
    total = sum(c.fraction for c in choices if c.fraction > 0)
    if total <= 0 or abs(total - 1) < 1e-6:
        return choices
    return [
        Choice(c.text, c.fraction / total if c.fraction > 0 else c.fraction, c.feedback)
        for c in choices
    ]


def _gap(q: QuestionData, blank: list[Choice]) -> str:
    def escape(text: str) -> str:
        return re.sub(r"([\\}#~*])", r"\\\1", text)

    alternatives = []
    for choice in blank:
        weight = "=" if choice.fraction == 1 else f"%{percent_text(choice.fraction)}%"
        answer = escape(html.escape(choice.text, quote=False))
        alternatives.append(
            weight + answer + (f"#{escape(choice.feedback)}" if choice.feedback else "")
        )
    kind = "SHORTANSWER_C" if q.case_sensitive else "SHORTANSWER"
    return "{1:" + kind + ":" + "~".join(alternatives) + "}"


def _cloze_stem(q: QuestionData) -> str:
    """The stem with each blank marker replaced by its gap (missing markers: gaps at the end)."""
    gaps = [_gap(q, blank) for blank in q.blanks]
    stem = BLANK.sub(lambda m: gaps.pop(0) if gaps else m.group(0), q.stem)
    return stem + "".join(" " + g for g in gaps)


def write(questions: Sequence[QuestionData], bank: dict[str, Any] | None = None) -> bytes:
    """Moodle XML of ``questions`` (``bank`` is not needed: Moodle imports into a category)."""
    writer = _Writer()
    category: str | None = "" if not any(q.category for q in questions) else None
    for question in questions:
        if question.category != category:
            category = question.category
            writer.category(category)
        writer.question(question)
    writer.out.append("</quiz>\n")
    return "\n".join(writer.out).encode("utf-8")
