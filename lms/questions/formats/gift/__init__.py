"""GIFT, Moodle's text format for questions: read with Moodle's semantics, written so that both
this reader and Moodle read it back to the same questions.

Reading follows ``qformat_gift::readquestion`` (moodle/moodle ``question/format/gift/format.php``)
and its tests. A question is a run of non-blank lines (lines are trimmed; a blank line ends it);
lines starting with ``//`` are comments, whose ``[id:...]`` and ``[tag:...]`` give the question's
``external_id`` and ``tags``. ``$CATEGORY: path`` sets the category of the questions after it.
``::name::`` names a question; the first ``{...}`` holds the answers; ``\\~ \\= \\# \\{ \\} \\:``
and ``\\\\`` are escapes, ``\\n`` is a line break, any other backslash is itself. A text may start
with ``[html]``, ``[markdown]``, ``[plain]`` or ``[moodle]`` (the default: HTML allowed, line breaks
kept); answers and feedback default to the question text's format. Moodle's types map to ours:

==========================================  ===================================================
``{}`` (essay)                              short_answer
no ``{...}`` at all                         description
``{#...}`` (numerical)                      numerical: ``n``, ``n:tolerance``, ``low..high``,
                                            weighted ``=%50%n``; the ``~#`` catch-all is a
                                            range over every number with fraction 0
``{... ~ ...}`` with ``=`` (Moodle single)  single_choice (``=`` is 100%, ``~%w%`` weights)
``{... ~ ...}`` without ``=``               multiple_choice (Moodle's "multiple answers")
``{=a -> b ...}``                           matching (``= -> x`` is a distractor answer)
``{T}`` ``{TRUE}`` ``{F}`` ``{FALSE}``      true_false: ``#feedback if wrong#if right``
anything else (``{=a =%50%b}``, ``{a}``)    fill_in, one blank
==========================================  ===================================================

When the ``{...}`` stands inside the text, Moodle puts a blank where it stood (``_____``; a
fill-in gets ``___``, our blank marker); ``####`` starts the general feedback (the explanation).
Where Moodle would import nonsense this reader refuses the question instead: a second ``{...}``
or a nested ``{``, a ``}`` before its ``{``, an answer that is not a number in a numerical
question, a weight outside -100..100. Unlike Moodle, comment lines leave no empty line in the
text, and lines after a ``$CATEGORY:`` line in the same paragraph are read as a question.

A question's ``line`` is its first line that is not a comment; errors name that line. Files
are UTF-8 (with or without BOM) or UTF-16 with a BOM; GB18030 (what Chinese Windows editors
save) is read too, with a warning. Two warnings flag what Moodle would silently mangle: ``//``
inside a line (only whole lines are comments) and ``@@PLUGINFILE@@`` files that GIFT lacks.

Writing (:func:`write`) gives what Moodle's exporter gives, one question per paragraph:
``$CATEGORY:`` where the category changes, ``// [id:...]`` and ``// [tag:...]`` on lines of
their own, ``::name::``, texts escaped. Plain text is written bare, as its escaped HTML with
``<br>`` for line breaks, which reads back the same in any format; other HTML gets ``[html]``.
Weights are exact decimals (``%33.33333%``); a single choice gets one ``=`` (its first 100%
option), a multiple choice none. GIFT has no place for difficulty, points, knowledge points,
posts, source, case sensitivity, a model answer or a description's explanation (see
``CARRIES``), and cannot hold a fill-in with several blanks or with ``->`` in an answer:
:func:`unwritable` says so beforehand, :func:`write` raises ValueError.
"""

from __future__ import annotations

import codecs
import re

from lms.questions.data import QuestionData
from lms.questions.formats import Format, ParsedFile
from lms.questions.formats.gift import reader, writer
from lms.questions.formats.gift.reader import ANY_NUMBER
from lms.questions.formats.gift.writer import CARRIES, TYPES, unwritable

__all__ = ["ANY_NUMBER", "CARRIES", "FORMAT", "TYPES", "read", "sniff", "unwritable", "write"]


# Defined here, not re-exported, so that ``read.__module__`` and ``write.__module__`` (where
# callers look for TYPES and CARRIES) name this package.
def read(data: bytes, file: str) -> ParsedFile:
    """The questions of a GIFT file; everything wrong with it is an error naming the line."""
    return reader.read(data, file)


def write(questions: list[QuestionData], bank: dict) -> bytes:
    """GIFT for ``questions``; ValueError for one that GIFT cannot hold (see unwritable)."""
    return writer.write(questions, bank)


_SNIFF_BLOCK = re.compile(r"\{\s*(?:[~=#}]|(?:T|F|TRUE|FALSE)\s*[#}])")
_SNIFF_NAME = re.compile(r"^[ \t]*(?:::.+?::|\$CATEGORY:)", re.M)
_SNIFF_OTHER = re.compile(r"^(?:bank|questions)\s*:|^[ \t]*ANSWER:[ \t]*[A-Z]", re.M)


def sniff(data: bytes, file: str) -> bool:
    """GIFT text: ``::names::``, ``$CATEGORY:`` or answer blocks such as ``{=`` ``{~`` ``{#``
    ``{T}``; never XML, YAML (``bank:``/``questions:``) or Aiken (``ANSWER: X``)."""
    if b"\x00" in data[:4096] and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    head = codecs.getincrementaldecoder("utf-8-sig")(errors="replace").decode(data[:65536])
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        head = data[:65536].decode("utf-16", errors="replace")
    if head.lstrip().startswith("<"):
        return False
    if file.lower().endswith(".gift"):
        return True
    if _SNIFF_NAME.search(head):
        return True
    if _SNIFF_OTHER.search(head):
        return False
    return _SNIFF_BLOCK.search(re.sub(r"\\.", "", head)) is not None


FORMAT = Format("gift", "GIFT", (".gift", ".txt"), sniff, read, write)
