"""Aiken: single-choice questions in plain text, read as Moodle reads them (read only).

::

    城区故障抢修人员到达现场的时限是？
    A) 30分钟
    B. 45分钟
    C) 90分钟
    ANSWER: B

Each question is one line of text, then its options (a capital letter, ``)`` or ``.``, an
optional space, the text), then ``ANSWER: X``. As in Moodle's ``qformat_aiken`` (format.php):
lines are trimmed and lines shorter than two bytes skipped; any other line starts a question;
everything is plain text, so ``<`` and ``&`` are shown as written. Moodle's errors keep their
meaning and line numbers: an option or ``ANSWER`` before any question ("question not started"),
fewer than two options, and a question left without ``ANSWER`` when the next one starts. Two
checks Moodle lacks are errors here too, because Moodle would silently lose or break the
question: an answer letter that names no option, and a question still open at the end of the
file.
"""

from __future__ import annotations

import re

from lms.i18n import gettext as _
from lms.questions.data import SINGLE_CHOICE, Choice, QuestionData
from lms.questions.formats import Format, ParsedFile
from lms.questions.html import plain_to_html

OPTION = re.compile(r"^[A-Z][).][ \t]?")
ANSWER = re.compile(r"^ANSWER:")
#: For sniffing: an option line, blank lines perhaps, then ``ANSWER: X``.
_SNIFF = re.compile(r"^[ \t]*[A-Z][).].*\r?\n(?:[ \t]*\r?\n)*[ \t]*ANSWER:[ \t]*[A-Z]", re.M)
_LINES = re.compile(r"\r\n|\r|\n")


def decode(data: bytes) -> str | None:
    """UTF-8 (with or without BOM), else GB18030 (Chinese Windows editors); None if neither."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def _label(text: str) -> str:
    """A question's first words, to name it in messages (Moodle names it by its text too)."""
    return text if len(text) <= 50 else text[:49] + "…"


class _Open:
    """The question being read: its text, the line it starts on, its options."""

    def __init__(self, text: str, line: int) -> None:
        self.text = text
        self.line = line
        self.options: list[str] = []


def read(data: bytes, file: str) -> ParsedFile:
    parsed = ParsedFile(file)
    text = decode(data)
    if text is None:
        parsed.error(None, _("The file is neither UTF-8 nor GB18030 text."))
        return parsed
    current: _Open | None = None
    number = 0
    for number, raw in enumerate(_LINES.split(text), start=1):
        line = raw.strip()
        # Moodle skips lines shorter than 2 bytes (PHP strlen), not characters.
        if len(line.encode("utf-8")) < 2:
            continue
        if OPTION.match(line):
            if current is None:
                parsed.error(
                    number, _("Question not started: an option comes before any question.")
                )
                continue
            current.options.append(line[2:].strip())
        elif ANSWER.match(line):
            if current is None:
                parsed.error(number, _("Question not started: ANSWER comes before any question."))
                continue
            _finish(parsed, current, line.split(":", 1)[1].strip()[:1], number)
            current = None
        else:
            if current is not None:
                parsed.error(
                    number,
                    _(
                        "Question “%(name)s” (line %(line)d) not completed before the next "
                        "question starts: it has no ANSWER line.",
                        name=_label(current.text),
                        line=current.line,
                    ),
                )
            current = _Open(line, number)
    if current is not None:
        parsed.error(
            current.line,
            _(
                "Question “%(name)s” not completed: the file ends before its ANSWER line.",
                name=_label(current.text),
            ),
        )
    if not parsed.questions and not parsed.errors:
        parsed.error(None, _("The file holds no Aiken question."))
    return parsed


def _finish(parsed: ParsedFile, question: _Open, letter: str, number: int) -> None:
    """Close ``question`` at its ANSWER line (``number``): add it, or say what is wrong."""
    name = _label(question.text)
    if len(question.options) < 2:
        parsed.error(
            number,
            _("Question “%(name)s” must have at least 2 answers.", name=name),
        )
        return
    right = ord(letter) - ord("A") if letter else -1
    if not 0 <= right < len(question.options):
        parsed.error(
            number,
            _(
                "Question “%(name)s”: the answer “%(letter)s” names none of its options "
                "(A to %(last)s).",
                name=name,
                letter=letter,
                last=chr(ord("A") + len(question.options) - 1),
            ),
        )
        return
    parsed.questions.append(
        QuestionData(
            type=SINGLE_CHOICE,
            stem=plain_to_html(question.text),
            choices=[
                Choice(plain_to_html(option), 1.0 if index == right else 0.0)
                for index, option in enumerate(question.options)
            ],
            line=question.line,
        )
    )


def sniff(data: bytes, file: str) -> bool:
    """Aiken text: an option line (``A) text`` / ``A. text``) followed by ``ANSWER: X``."""
    head = data[:65536]
    text = decode(head) or head.decode("utf-8", errors="replace")
    return _SNIFF.search(text) is not None


#: What a file of this format can say about a question; re-importing one keeps the rest.
CARRIES = frozenset({"type", "stem", "choices"})

FORMAT = Format("aiken", "Aiken", (".txt", ".aiken"), sniff, read)
