"""Reading GIFT as Moodle's ``qformat_gift::readquestion`` does (see the package docstring)."""

from __future__ import annotations

import codecs
import logging
import math
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import InvalidOperation

from lms.i18n import gettext as _
from lms.questions import data as d
from lms.questions.data import Choice, MatchPair, NumericAnswer, QuestionData, fraction_from_percent
from lms.questions.formats import ParsedFile
from lms.questions.html import markdown_to_html, plain_to_html, sanitise

log = logging.getLogger(__name__)

#: Moodle's catch-all numerical answer ``*`` (``~#feedback``): a range holding every number.
ANY_NUMBER = sys.float_info.max

FORMATS = ("moodle", "html", "plain", "markdown")
TRIM = " \t\n"  # PHP's trim(), less the control characters that CONTROL removes first
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Escaped characters become control characters while a question is taken apart (as Moodle's
# "&&058;" placeholders do), so that they are never mistaken for GIFT's own; ``\\`` is ``\``.
_ESCAPE = re.compile(r"\\([\\:#={}~n])")
_PLACEHOLDER = {":": "\x01", "#": "\x02", "=": "\x03", "{": "\x04", "}": "\x05", "~": "\x06"}
_PLACEHOLDER |= {"n": "\x07", "\\": "\\"}
_RESTORE = str.maketrans({v: k for k, v in _PLACEHOLDER.items() if k not in "n\\"} | {"\x07": "\n"})
_WEIGHT = re.compile(r"%-*[0-9]{1,2}\.?[0-9]*%")  # Moodle's $giftanswerweightregex
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
# [id:...] and [tag:...] in comments, ``\]`` standing for ``]`` (Moodle's patterns; a tag may
# also hold < > ` here, which Moodle's tag cleaning would drop).
_ID = re.compile(r"\[id:((?:\\\]|[^\]\x00-\x1f\x7f])+)\]")
_TAG = re.compile(r"\[tag:((?:\\\]|[^\]\x00-\x1f\x7f])+)\]")
_INLINE_COMMENT = re.compile(r"(?:^|[\s{])//")
_TAGS_SPACE = re.compile(r">[ \t\n\r\f\v]+<")


class _Invalid(Exception):
    """A question Moodle would refuse (or take apart wrongly): the message says why."""


@dataclass
class _Block:
    """A paragraph of the file: its content lines with their numbers, and its comments."""

    lines: list[str]
    numbers: list[int]
    comments: str


def _decode(data: bytes, parsed: ParsedFile) -> str | None:
    """UTF-8 (BOM or not), UTF-16 with a BOM, else GB18030 with a warning; None if none fits."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        return None
    # Chinese Windows editors save GBK by default: read it, but say so.
    parsed.warning(None, _("The file is not UTF-8: it was read as GB18030. Check its text."))
    return text


def _blocks(text: str) -> Iterator[_Block]:
    """Moodle's paragraphs: runs of non-blank trimmed lines; ``//`` lines are comments."""
    lines: list[str] = []
    numbers: list[int] = []
    comments: list[str] = []
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip(TRIM)
        if not line:
            if lines or comments:
                yield _Block(lines, numbers, "\n".join(comments))
                lines, numbers, comments = [], [], []
        elif line.startswith("//"):
            comments.append(line)
        else:
            lines.append(line)
            numbers.append(number)
    if lines or comments:
        yield _Block(lines, numbers, "\n".join(comments))


def _split_format(raw: str, default: str) -> tuple[str, str]:
    """Moodle's parse_text_with_format: a leading ``[format]``, then the text, unescaped."""
    fmt = default
    if raw.startswith("["):
        end = raw.find("]")
        if end > 0 and raw[1:end] in FORMATS:
            fmt, raw = raw[1:end], raw[end + 1 :]
    return fmt, raw.translate(_RESTORE).strip(TRIM)


def moodle_to_html(text: str) -> str:
    """Moodle's auto-format (weblib text_to_html): white space between tags goes, line breaks
    next to tags become spaces, other line breaks become ``<br>``; then the allowlist."""
    if not any(c in text for c in "<>&\xa0"):
        return text.strip().replace("\n", "<br>")  # nothing the sanitiser would change
    text = _TAGS_SPACE.sub("><", text)
    text = re.sub(r"[\n\r]<", " <", text)
    text = re.sub(r">[\n\r]", "> ", text)
    return sanitise(text.replace("\n", "<br>"))


def _to_html(text: str, fmt: str) -> str:
    if fmt == "html":
        return sanitise(text)
    if fmt == "markdown":
        return markdown_to_html(text)
    if fmt == "plain":
        return plain_to_html(text)
    return moodle_to_html(text)


def _html(raw: str, default: str) -> str:
    fmt, text = _split_format(raw, default)
    return _to_html(text, fmt)


def _comment(raw: str, default: str) -> tuple[str, str]:
    """An answer and its ``#feedback`` (as HTML)."""
    answer, separator, feedback = raw.partition("#")
    return answer.strip(TRIM), _html(feedback.strip(TRIM), default) if separator else ""


def _weight(answer: str, default: float) -> tuple[float, str]:
    """A leading ``%w%`` as a fraction (else ``default``), and the rest of the answer."""
    match = _WEIGHT.match(answer)
    if match is None:
        return default, answer
    weight = match.group()[1:-1]
    try:
        value = fraction_from_percent(weight)
    except InvalidOperation:
        raise _Invalid(_("“%(weight)s” is not a weight.", weight=match.group())) from None
    if not -1 <= value <= 1:
        raise _Invalid(_("The weight %(weight)s is not from -100%% to 100%%.", weight=weight))
    return value, answer[match.end() :]


def _answers(text: str, separator: str) -> list[str]:
    """Moodle's explode: the trimmed parts after each separator, and the text before the first
    one when there is any."""
    parts = [part.strip(TRIM) for part in text.split(separator)]
    return parts if parts[0] else parts[1:]


def _number(text: str) -> float:
    text = text.strip(TRIM)
    if not _NUMBER.fullmatch(text) or not math.isfinite(value := float(text)):
        raise _Invalid(_("Error parsing numerical answer: “%(text)s” is not a number.", text=text))
    return value


def _numerical(body: str, fmt: str) -> list[NumericAnswer]:
    wrong = ""
    if (tilde := body.find("~")) >= 0:
        body, wrong = body[:tilde], body[tilde:]
    answers = _answers(body, "=")
    if not answers:
        raise _Invalid(_("No answers found for numerical question."))
    numbers = []
    for part in answers:
        share, part = _weight(part, 1.0)
        raw, feedback = _comment(part, fmt)
        text = _split_format(raw, fmt)[1]
        if text == "*":
            numbers.append(NumericAnswer(None, 0.0, -ANY_NUMBER, ANY_NUMBER, share, feedback))
        elif (dots := text.find("..")) > 0:
            low, high = _number(text[:dots]), _number(text[dots + 2 :])
            numbers.append(NumericAnswer(low=low, high=high, fraction=share, feedback=feedback))
        elif (colon := text.find(":")) > 0:
            value, tolerance = _number(text[:colon]), _number(text[colon + 1 :])
            numbers.append(NumericAnswer(value, tolerance, fraction=share, feedback=feedback))
        else:
            numbers.append(NumericAnswer(_number(text), fraction=share, feedback=feedback))
    if wrong:  # Moodle adds the catch-all for a bare "~" too
        feedback = _comment(wrong, fmt)[1]
        numbers.append(NumericAnswer(None, 0.0, -ANY_NUMBER, ANY_NUMBER, 0.0, feedback))
    return numbers


def _qtype(answer: str) -> str:
    """Moodle's choice of question type from the text between the braces."""
    if not answer:
        return d.SHORT_ANSWER
    if answer[0] == "#":
        return d.NUMERICAL
    if "~" in answer:
        return d.SINGLE_CHOICE if "=" in answer else d.MULTIPLE_CHOICE
    if "=" in answer and "->" in answer:
        return d.MATCHING
    head = answer.partition("#")[0].strip(TRIM) if answer.find("#") > 0 else answer
    return d.TRUE_FALSE if head in ("T", "TRUE", "F", "FALSE") else d.FILL_IN


def _fill(question: QuestionData, answer: str, fmt: str) -> None:
    """The answers of the question's type, from the text between the braces."""
    kind = question.type
    if kind in (d.SINGLE_CHOICE, d.MULTIPLE_CHOICE):
        options = _answers(answer.replace("=", "~="), "~")
        if len(options) < 2:
            raise _Invalid(_("A choice question needs at least two options."))
        for option in options:
            if option.startswith("="):
                share, option = 1.0, option[1:]
            else:
                share, option = _weight(option, 0.0)
            text, feedback = _comment(option, fmt)
            question.choices.append(Choice(_html(text, fmt), share, feedback))
    elif kind == d.MATCHING:
        pairs = _answers(answer, "=")
        if len(pairs) < 2:
            raise _Invalid(_("A matching question needs at least two pairs."))
        for pair in pairs:
            prompt, arrow, right = pair.partition("->")
            if not arrow:
                raise _Invalid(_("Matching answers are improperly formatted: “%(a)s”.", a=pair))
            # Moodle keeps the answer as plain text (a menu item) and the prompt formatted.
            answer_text = right.translate(_RESTORE).strip(TRIM)
            question.pairs.append(MatchPair(_html(prompt.strip(TRIM), fmt), answer_text))
    elif kind == d.TRUE_FALSE:
        bits = [bit.strip(TRIM) for bit in answer.split("#", 2)] + ["", ""]
        question.answer_true = bits[0] in ("T", "TRUE")
        # "#first" is the feedback for a wrong answer, "#second" for the right one.
        wrong, right = _html(bits[1], fmt), _html(bits[2], fmt)
        question.feedback_true, question.feedback_false = (
            (right, wrong) if question.answer_true else (wrong, right)
        )
    elif kind == d.FILL_IN:
        blank = []
        for part in _answers(answer, "="):
            share, part = _weight(part, 1.0)
            text, feedback = _comment(part, fmt)
            blank.append(Choice(_split_format(text, fmt)[1], share, feedback))
        question.blanks = [blank]
    elif kind == d.NUMERICAL:
        question.numbers = _numerical(answer[1:], fmt)


def _question(text: str, category: str) -> QuestionData:
    """One question from its paragraph (comments removed, escapes replaced)."""
    name = ""
    if text.startswith("::"):
        text = text[2:]
        end = text.find("::")
        if end >= 0:
            name = " ".join(text[:end].translate(_RESTORE).split())
            text = text[end + 2 :].strip(TRIM)
    start, finish = text.find("{"), text.find("}")
    if start < 0 and finish < 0:
        fmt, stem = _split_format(text, "moodle")
        return QuestionData(d.DESCRIPTION, _to_html(stem, fmt), name, category=category)
    if start < 0 or 0 <= finish < start:
        raise _Invalid(_("Could not find a { before the }: write \\} for a } in the text."))
    if finish < 0:
        raise _Invalid(_("Unclosed {: could not find its } (a blank line ends a question)."))
    answer, tail = text[start + 1 : finish].strip(TRIM), text[finish + 1 :]
    if "{" in answer or "{" in tail or "}" in tail:
        raise _Invalid(
            _(
                "A question has one {...}: separate questions with a blank line, and write "
                "\\{ and \\} for braces in the text."
            )
        )
    explanation = ""
    if (separator := answer.rfind("####")) >= 0:
        explanation, answer = answer[separator + 4 :], answer[:separator].strip(TRIM)
    kind = _qtype(answer)
    # Moodle's missing-word format: a blank where the answers stood, unless they end the text.
    stem = text[:start] + ("" if not tail else "___" if kind == d.FILL_IN else "_____") + tail
    fmt, stem = _split_format(stem, "moodle")
    question = QuestionData(kind, _to_html(stem, fmt), name, category=category)
    question.explanation = _html(explanation.strip(TRIM), fmt)
    _fill(question, answer, fmt)
    return question


def _labels(comments: str) -> tuple[str, list[str]]:
    """The ``[id:...]`` and ``[tag:...]`` in a question's comments."""
    found = _ID.search(comments)
    external_id = found.group(1).replace("\\]", "]").strip() if found else ""
    tags = [tag.replace("\\]", "]").strip() for tag in _TAG.findall(comments)]
    return external_id, [tag for tag in tags if tag]


def _unescape(text: str) -> str:
    return _ESCAPE.sub(lambda m: _PLACEHOLDER[m.group(1)], text)


def _read(data: bytes, parsed: ParsedFile) -> None:
    text = _decode(data, parsed)
    if text is None:
        parsed.error(None, _("The file is not UTF-8 text: save it as UTF-8 and import it again."))
        return
    text = CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    category = ""
    for block in _blocks(text):
        lines, numbers = block.lines, block.numbers
        if lines and lines[0].startswith("$CATEGORY:"):
            category = _unescape(lines[0][10:]).translate(_RESTORE).strip(TRIM)
            # Moodle would fold the rest of the paragraph into the category's name.
            lines, numbers = lines[1:], numbers[1:]
        if not lines:
            continue  # comments alone, or the category alone
        line = numbers[0]
        body = _unescape("\n".join(lines))
        try:
            question = _question(body, category)
        except _Invalid as problem:
            parsed.error(line, str(problem))
            continue
        question.external_id, question.tags = _labels(block.comments)
        question.line = line
        parsed.questions.append(question)
        if any(_INLINE_COMMENT.search(text_line) for text_line in lines):
            parsed.warning(
                line,
                _(
                    "Only lines that start with // are comments in GIFT: the // in this "
                    "question is part of its text."
                ),
            )
        if "@@PLUGINFILE@@" in body:
            parsed.warning(
                line, _("The question refers to a Moodle file (@@PLUGINFILE@@) that GIFT lacks.")
            )
    if not parsed.questions and not parsed.errors:
        parsed.error(None, _("The file holds no GIFT question."))


def read(data: bytes, file: str) -> ParsedFile:
    """The questions of a GIFT file; everything wrong with it is an error naming the line."""
    parsed = ParsedFile(file)
    try:
        _read(data, parsed)
    except Exception:  # a reader bug must not crash an import: the file is refused instead
        log.exception("GIFT reader failed on %s", file)
        parsed.questions.clear()
        parsed.error(None, _("The GIFT file could not be read."))
    return parsed
