"""Moodle XML: read and write, with Moodle's meaning of every element kept.

Reading (as Moodle's ``qformat_xml`` reads, format.php):

==================================  =========================================================
Moodle                              here
==================================  =========================================================
``<question type="category">``      ``category`` of the questions that follow: the path as
                                    written (``$course$/top/A/B``; ``//`` is Moodle's escaped
                                    ``/``), as GIFT's ``$CATEGORY:``; the top category alone
                                    (``$course$/top``) is no category
multichoice                         single_choice (``<single>false</single>``: multiple_choice)
truefalse                           true_false, with the feedback of each answer
shortanswer                         fill_in with one blank (``<usecase>`` -> case_sensitive)
numerical                           numerical (value ± ``<tolerance>``, several answers)
matching                            matching (a ``<subquestion>`` with empty text is a
                                    distractor answer)
essay                               short_answer (``<graderinfo>`` -> reference_answer)
description                         description
cloze / multianswer                 fill_in when every gap is SHORTANSWER (``SA``, ``MW``;
                                    ``SAC``/``MWC`` case-sensitive); a gap of another kind
                                    (MULTICHOICE, NUMERICAL, ...) is an error naming the question
any other type                      an error naming the question and its type
``<name>``, ``<idnumber>``          name, external_id
``<questiontext format=...>``       stem: html sanitised, plain_text escaped, markdown
                                    rendered, moodle_auto_format line breaks kept
``<generalfeedback>``               explanation
``<defaultgrade>``                  points
``<answer fraction>``, feedback     Choice.fraction (percent / 100), Choice.feedback
``<tags>``                          tags; ``知识点:`` / ``岗位:`` / ``出处:`` / ``难度:`` tags
                                    become knowledge_points / posts / source / difficulty
==================================  =========================================================

Decisions:

- A numerical answer ``*`` (any number) is the widest range, as the GIFT reader has it.
- Units of a numerical question (``<units>``) are not kept: the answer is the number in the
  base unit, and a warning says which units were dropped.
- Embedded files (``<file encoding="base64">`` referred to as ``@@PLUGINFILE@@/name``): a PNG,
  JPEG, GIF or WebP image of at most 1 MB (judged by its bytes, not its name) becomes a
  ``data:`` URI in the ``src`` that refers to it; any other file, and a reference to a missing
  file, is dropped with a warning naming the question.
- A name equal to the name the writer makes up for a nameless question (its external id,
  else its first words) reads back as no name.
- Fractions are percentages in the file; Moodle's seven-decimal grades (33.33333, 14.28571, ...)
  read back as the exact thirds, sevenths etc., and the writer writes those as Moodle does.

Writing gives a file that Moodle and :func:`read` both read back: a category element whenever
the category changes (Moodle creates a path without a ``$course$``-style context under the
course's top category; questions without a category go to ``$course$/top``), the elements
Moodle exports, a multiple-choice question's positive fractions scaled to add up to 100 %
(Moodle refuses others), a fill-in question with several blanks as a Cloze question of
SHORTANSWER gaps, a range ``low..high`` as its midpoint ± half its width, and images held as
``data:`` URIs as embedded files again. Knowledge points, posts, source and difficulty (other
than 3) travel as tags with the prefixes above (Moodle keeps tags of up to 50 characters).

:func:`parse_xml` (defusedxml: no entity expansion, no external entities, no deep nesting;
each element's line recorded) serves the QTI reader too.
"""

from __future__ import annotations

import base64
import binascii
import html
import math
import re
import sys
from collections.abc import Sequence
from dataclasses import fields
from decimal import InvalidOperation
from typing import Any
from urllib.parse import unquote
from xml.etree.ElementTree import Element

from lms.i18n import gettext as _
from lms.questions import data as d
from lms.questions.data import (
    Choice,
    MatchPair,
    NumericAnswer,
    QuestionData,
    fraction_from_percent,
)
from lms.questions.formats import Format, ParsedFile

#: Moodle's question type for each type written (fill_in: shortanswer, or cloze for several
#: blanks).
from lms.questions.formats.xmlsafe import local_name, parse_xml
from lms.questions.html import html_to_text, markdown_to_html, plain_to_html, sanitise
from lms.questions.types import BLANK, parse_number

KINDS = {
    d.SINGLE_CHOICE: "multichoice", d.MULTIPLE_CHOICE: "multichoice", d.TRUE_FALSE: "truefalse",
    d.FILL_IN: "shortanswer", d.NUMERICAL: "numerical", d.MATCHING: "matching",
    d.SHORT_ANSWER: "essay", d.DESCRIPTION: "description",
}  # fmt: skip
TYPES = frozenset(KINDS)
CARRIES = frozenset(f.name for f in fields(QuestionData)) - {"line"}

MAX_IMAGE_BYTES = 1024 * 1024
IMAGE_MAGIC = {
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"GIF87a": "image/gif",
    b"GIF89a": "image/gif",
}
EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp"}
#: Fields carried as prefixed tags; a plain tag that starts with a prefix is written "标签:tag".
PREFIXES = {
    "知识点:": "knowledge_points",
    "岗位:": "posts",
    "出处:": "source",
    "难度:": "difficulty",
    "标签:": "tags",
}
WILDCARD = re.compile(r"(?<!\\)\*")
CLOZE = re.compile(r"\{(\d*):([A-Z_]+):((?:\\.|[^\\}])*)\}")
SHORTANSWER_GAPS = {
    "SHORTANSWER": False,
    "SA": False,
    "MW": False,
    "SHORTANSWER_C": True,
    "SAC": True,
    "MWC": True,
}
_PLUGINFILE = re.compile(r"""\b(src|href)\s*=\s*(["'])@@PLUGINFILE@@/([^"']*)\2""", re.I)
_DATA_IMAGE = re.compile(r'src="data:(image/(?:png|jpeg|gif|webp));base64,([A-Za-z0-9+/=]+)"')
_INVALID_XML = re.compile(r"[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


# --- reading ------------------------------------------------------------------------------------


def image_type(content: bytes) -> str | None:
    """The MIME type of a PNG, JPEG, GIF or WebP image, from its first bytes."""
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return next((t for magic, t in IMAGE_MAGIC.items() if content.startswith(magic)), None)


class _Reader:
    """Reads one file's questions into ``parsed``."""

    def __init__(self, parsed: ParsedFile, lines: dict[Element, int]) -> None:
        self.parsed = parsed
        self.lines = lines
        self.category = ""
        self.line: int | None = None
        self.label = ""

    def warn(self, message: str) -> None:
        self.parsed.warning(self.line, f"{self.label}: {message}")

    def fail(self, message: str) -> None:
        self.parsed.error(self.line, f"{self.label}: {message}")

    def html(
        self, element: Element | None, default_format: str = "html", raw: str | None = None
    ) -> str:
        """The HTML of a text element (``format`` attribute, ``<text>``, ``<file>``s)."""
        if element is None:
            return ""
        text = (element.findtext("text") or "") if raw is None else raw
        text = self._embed_files(element, text.strip())
        kind = element.get("format", default_format).strip()
        if kind == "plain_text" or kind == "wiki_like":
            return plain_to_html(text)
        if kind == "markdown":
            return markdown_to_html(text)
        if kind == "moodle_auto_format":  # Moodle's text_to_html: line breaks kept, HTML allowed
            text = text.replace("\r\n", "\n").replace("\n", "<br>")
        return sanitise(text)

    def _embed_files(self, element: Element, text: str) -> str:
        images: dict[str, str] = {}
        names = set()
        for file in element.findall("file"):
            name = (file.get("path") or "/").lstrip("/") + (file.get("name") or "")
            names.add(name)
            try:
                content = base64.b64decode("".join((file.text or "").split()), validate=True)
            except (binascii.Error, ValueError):
                content = b""
            kind = image_type(content)
            if kind is None or len(content) > MAX_IMAGE_BYTES:
                self.warn(
                    _(
                        "the embedded file “%(name)s” is dropped: only images (PNG, JPEG, "
                        "GIF, WebP) of up to 1 MB are kept.",
                        name=name,
                    )
                )
                continue
            images[name] = f"data:{kind};base64,{base64.b64encode(content).decode()}"

        def replace(match: re.Match[str]) -> str:
            name = unquote(match.group(3))
            if name in images:
                return f'{match.group(1)}="{images[name]}"'
            if name not in names:
                self.warn(
                    _(
                        "it refers to the file “%(name)s”, which is not in the file: the "
                        "reference is dropped.",
                        name=name,
                    )
                )
            return ""

        return _PLUGINFILE.sub(replace, text)

    def answers(self, question: Element, html_answers: bool, qformat: str) -> list[Choice]:
        """The ``<answer>``s: text (HTML or plain), fraction, feedback."""
        choices = []
        for answer in question.findall("answer"):
            if html_answers:
                text = self.html(answer, qformat)
            else:
                text = (answer.findtext("text") or answer.text or "").strip()
            choices.append(
                Choice(text, self.fraction(answer), self.html(answer.find("feedback"), qformat))
            )
        return choices

    def fraction(self, answer: Element) -> float:
        try:
            return fraction_from_percent(
                answer.findtext("fraction") or answer.get("fraction") or "0"
            )
        except (InvalidOperation, ValueError):
            self.fail(
                _("the answer grade “%(value)s” is not a number.", value=answer.get("fraction"))
            )
            return 0.0

    def number(self, text: str | None, default: float, message: str) -> float:
        """``text`` as a number; ``default`` when empty; ``message`` (a translated template
        with ``%(value)s``) as an error when it is not a number."""
        if text is None or not text.strip():
            return default
        value = parse_number(text)
        if value is None or not math.isfinite(value):
            self.fail(message % {"value": text.strip()})
            return default
        return value

    def read(self, root: Element) -> None:
        if local_name(root.tag) != "quiz":
            self.parsed.error(
                self.lines.get(root),
                _(
                    "Not a Moodle XML question file: its root element is <%(tag)s>, not <quiz>.",
                    tag=local_name(root.tag),
                ),
            )
            return
        for number, element in enumerate(root.findall("question"), start=1):
            self.line = self.lines.get(element)
            kind = (element.get("type") or "").strip()
            name = (element.findtext("name/text") or "").strip()
            self.label = _("Question %(n)d “%(name)s”", n=number, name=name or kind)
            if kind == "category":
                self.category = category_of(element.findtext("category/text") or "")
                continue
            question = self.question(element, kind, name)
            if question is not None:
                self.parsed.questions.append(question)
        if not self.parsed.questions and not self.parsed.errors:
            self.parsed.error(self.lines.get(root), _("The file holds no question."))

    def question(self, element: Element, kind: str, name: str) -> QuestionData | None:
        qtext = element.find("questiontext")
        qformat = qtext.get("format", "html") if qtext is not None else "html"
        question = QuestionData(
            type="",
            stem=self.html(qtext),
            name=name,
            explanation=self.html(element.find("generalfeedback"), qformat),
            points=self.number(
                element.findtext("defaultgrade"), 1.0, _("the grade “%(value)s” is not a number.")
            ),
            external_id=(element.findtext("idnumber") or "").strip(),
            category=self.category,
            line=self.line,
        )
        self.labels(question, element)
        if kind == "multichoice":
            single = (element.findtext("single") or "true").strip() not in ("false", "0", "")
            question.type = d.SINGLE_CHOICE if single else d.MULTIPLE_CHOICE
            question.choices = self.answers(element, True, qformat)
        elif kind == "truefalse":
            self.truefalse(question, element, qformat)
        elif kind == "shortanswer":
            question.type = d.FILL_IN
            question.case_sensitive = (element.findtext("usecase") or "0").strip() not in ("0", "")
            question.blanks = [self.answers(element, False, qformat)]
            for answer in question.blanks[0]:
                self.wildcard(answer.text)
                answer.text = answer.text.replace("\\*", "*")
        elif kind == "numerical":
            self.numerical(question, element, qformat)
        elif kind in ("matching", "match"):
            question.type = d.MATCHING
            for sub in element.findall("subquestion"):
                pair = MatchPair(
                    self.html(sub, qformat), (sub.findtext("answer/text") or "").strip()
                )
                if pair.prompt or pair.answer:  # Moodle skips a subquestion with neither
                    question.pairs.append(pair)
        elif kind == "essay":
            question.type = d.SHORT_ANSWER
            question.reference_answer = self.html(element.find("graderinfo"), qformat)
        elif kind == "description":
            question.type = d.DESCRIPTION
        elif kind in ("cloze", "multianswer"):
            self.cloze(question, element, qtext)
        else:
            self.fail(_("the question type “%(type)s” cannot be imported.", type=kind))
            return None
        if question.name == (question.external_id or default_name(question.stem)):
            question.name = ""  # the writer made it up for a nameless question
        return question if question.type else None

    def labels(self, question: QuestionData, element: Element) -> None:
        """Tags, and the fields the writer carries as prefixed tags."""
        for tag in element.findall("tags/tag"):
            text = (tag.findtext("text") or "").strip()
            prefix = next((p for p in PREFIXES if text.startswith(p)), "")
            field, value = PREFIXES.get(prefix, "tags"), text[len(prefix) :]
            if field == "source":
                question.source = value
            elif field == "difficulty" and value in ("1", "2", "3", "4", "5"):
                question.difficulty = int(value)
            elif field != "difficulty" and text:
                getattr(question, field).append(value)
            elif text:
                question.tags.append(text)

    def truefalse(self, question: QuestionData, element: Element, qformat: str) -> None:
        question.type = d.TRUE_FALSE
        answers = element.findall("answer")
        if not answers:
            self.fail(_("a true/false question needs its answers."))
        for index, answer in enumerate(answers):
            text = (answer.findtext("text") or "").strip()
            if text not in ("true", "false"):  # old files: true first, then false (as Moodle)
                self.warn(_("answers not named true/false are taken as true, then false."))
                text = "true" if index == 0 else "false"
            feedback = self.html(answer.find("feedback"), qformat)
            right = self.fraction(answer) == 1.0
            if text == "true":
                question.answer_true, question.feedback_true = right, feedback
            else:
                question.answer_true, question.feedback_false = not right, feedback

    def numerical(self, question: QuestionData, element: Element, qformat: str) -> None:
        question.type = d.NUMERICAL
        for answer in element.findall("answer"):
            text = (answer.findtext("text") or answer.text or "").strip()
            number = NumericAnswer(
                fraction=self.fraction(answer), feedback=self.html(answer.find("feedback"), qformat)
            )
            if text == "*":  # any number: the widest range, as the GIFT reader reads {#~...}
                number.low, number.high = -sys.float_info.max, sys.float_info.max
            else:
                number.value = self.number(text, 0.0, _("the answer “%(value)s” is not a number."))
                tolerance = answer.findtext("tolerance")
                message = _("the tolerance “%(value)s” is not a number.")
                number.tolerance = abs(self.number(tolerance, 0.0, message))
            question.numbers.append(number)
        units = [(u.findtext("unit_name") or "").strip() for u in element.findall("units/unit")]
        if any(units):
            self.warn(
                _(
                    "the units (%(units)s) are dropped: the answer is the number in the base unit.",
                    units=", ".join(u for u in units if u),
                )
            )

    def cloze(self, question: QuestionData, element: Element, qtext: Element | None) -> None:
        """A Cloze question of SHORTANSWER gaps as a fill-in question (``___`` per gap)."""
        question.type = d.FILL_IN
        raw = (qtext.findtext("text") or "") if qtext is not None else ""
        weights: list[float] = []
        senses: set[bool] = set()
        for match in CLOZE.finditer(raw):
            if match.group(2) not in SHORTANSWER_GAPS:
                self.fail(
                    _(
                        "a Cloze gap of type %(gap)s cannot be imported: only SHORTANSWER "
                        "gaps can (as fill-in blanks).",
                        gap=match.group(2),
                    )
                )
                return
            senses.add(SHORTANSWER_GAPS[match.group(2)])
            weights.append(float(match.group(1) or 1))
            question.blanks.append(self.gap(match.group(3)))
        if not question.blanks:
            self.fail(_("the Cloze question has no embedded answers."))
            return
        if len(senses) > 1:
            self.warn(_("case-sensitive and other gaps are mixed: every blank is case-sensitive."))
        question.case_sensitive = True in senses
        question.stem = self.html(qtext, raw=CLOZE.sub("___", raw))
        if element.find("defaultgrade") is None:
            question.points = sum(weights)

    def wildcard(self, answer: str) -> None:
        if WILDCARD.search(answer):
            self.warn(_("Moodle's wildcard * in an answer is matched here as a plain *."))

    def gap(self, body: str) -> list[Choice]:
        answers = []
        for alternative in _split(body, "~"):
            fraction = 0.0
            weight = re.match(r"=|%(-?\d+(?:[.,]\d*)?)%", alternative)
            if weight:
                fraction = (
                    fraction_from_percent(weight.group(1).replace(",", "."))
                    if weight.group(1)
                    else 1.0
                )
                alternative = alternative[weight.end() :]
            parts = _split(alternative, "#", entity_hash=True)
            text, feedback = parts[0], "#".join(parts[1:])
            self.wildcard(text)
            answers.append(
                Choice(
                    html.unescape(_unescape(text)).strip(), fraction, sanitise(_unescape(feedback))
                )
            )
        return answers


def _split(text: str, separator: str, entity_hash: bool = False) -> list[str]:
    """``text`` split at ``separator`` not escaped by ``\\`` (nor, for ``#``, part of ``&#``)."""
    parts, current, index = [], "", 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            current += text[index : index + 2]
            index += 2
            continue
        if char == separator and not (entity_hash and current.endswith("&")):
            parts.append(current)
            current = ""
        else:
            current += char
        index += 1
    return [*parts, current]


def _unescape(text: str) -> str:
    return re.sub(r"\\([\\}#~/\"*])", r"\1", text)


def category_of(path: str) -> str:
    """A category path as written (as the GIFT reader keeps ``$CATEGORY:``); a path to the top
    category itself (``$course$/top``) is no category."""
    path = path.strip()
    return "" if re.fullmatch(r"(\$\w+\$)?/?(top)?/?", path) else path


def default_name(stem: str) -> str:
    """The name written for a nameless question without an id: its first words."""
    text = " ".join(BLANK.sub("___", html_to_text(stem)).split())
    return (text if len(text) <= 50 else text[:49] + "…") or "-"


def read(data: bytes, file: str) -> ParsedFile:
    parsed = ParsedFile(file)
    result = parse_xml(data, parsed)
    if result is not None:
        _Reader(parsed, result[1]).read(result[0])
    return parsed


def sniff(data: bytes, file: str) -> bool:
    """XML whose root element is ``<quiz>``."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head.startswith(b"<"):
        return False
    head = re.sub(rb"<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>", b"", head, flags=re.S).lstrip()
    return re.match(rb"<quiz[\s>/]", head) is not None


def write(questions: Sequence[QuestionData], bank: dict[str, Any] | None = None) -> bytes:
    """Moodle XML of ``questions`` (see :mod:`.moodlexml_writer`)."""
    from lms.questions.formats.moodlexml_writer import write as write_xml

    return write_xml(questions, bank)


FORMAT = Format("moodlexml", "Moodle XML", (".xml",), sniff, read, write)
