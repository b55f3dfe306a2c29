"""How questions read on HR's pages: option letters, a one-line answer summary, safe HTML.

Stored question text is sanitised HTML already (readers and the edit form sanitise it); the
pages sanitise it once more as they render it, so that nothing stored by another route (a
plug-in, a script writing to the database) can ever run in a browser.
"""

from __future__ import annotations

import functools
from typing import Any

from markupsafe import Markup

from lms.i18n import gettext as _
from lms.questions import data as d
from lms.questions.data import QuestionData
from lms.questions.html import html_to_text, sanitise

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def letter(index: int) -> str:
    """A, B, C... for option 0, 1, 2... (then 27, 28... past Z)."""
    return LETTERS[index] if index < len(LETTERS) else str(index + 1)


class SanitisedHTML(Markup):
    """Question HTML that :func:`sanitised_html` has cleaned already: the filter passes it on
    as it is. Only this module makes them, from the sanitiser's output; plain ``Markup`` from
    elsewhere is sanitised like any other text."""

    __slots__ = ()


def safe_html(text: Any) -> Markup:
    """Question HTML, sanitised again, ready for a template (the ``lms_question_html`` filter)."""
    if type(text) is SanitisedHTML:
        return text
    return Markup(_sanitised(str(text or "")))


def sanitised_html(text: Any) -> SanitisedHTML:
    """Question HTML cleaned now, for views kept across requests (the exam page's public
    views of versions): the template's filter then has nothing left to do."""
    return SanitisedHTML(_sanitised(str(text or "")))


@functools.lru_cache(maxsize=8192)
def _sanitised(text: str) -> str:
    # An exam page shows a few hundred stems and options, the same for every candidate of a
    # paper: sanitising is a pure function of the text, so each text is cleaned once per process.
    return sanitise(text)


def _number(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{value:g}"


def answer_summary(question: QuestionData) -> str:
    """The right answer in one short line of plain text: ``B``, ``A, C``, ``95598 | 95``..."""
    kind = question.type
    if kind in (d.SINGLE_CHOICE, d.MULTIPLE_CHOICE):
        return ", ".join(letter(i) for i, c in enumerate(question.choices) if c.fraction > 0)
    if kind == d.TRUE_FALSE:
        if question.answer_true is None:
            return ""
        return _("True") if question.answer_true else _("False")
    if kind == d.FILL_IN:
        return " | ".join(
            " / ".join(a.text for a in blank if a.fraction > 0)  # blank answers are plain text
            for blank in question.blanks
        )
    if kind == d.NUMERICAL:
        parts = []
        for n in question.numbers:
            if n.fraction <= 0:
                continue
            if n.low is not None and n.high is not None:
                parts.append(f"{_number(n.low)}–{_number(n.high)}")
            elif n.tolerance:
                parts.append(f"{_number(n.value)} ± {_number(n.tolerance)}")
            else:
                parts.append(_number(n.value))
        return " | ".join(parts)
    if kind == d.MATCHING:
        return "; ".join(
            f"{html_to_text(p.prompt)} → {p.answer}"  # the answers are plain text
            for p in question.pairs
            if p.prompt.strip()
        )
    if kind == d.SHORT_ANSWER:
        text = html_to_text(question.reference_answer)
        return text if len(text) <= 80 else text[:79] + "…"
    return ""


def stem_text(question: QuestionData, limit: int = 200) -> str:
    """The stem as plain text, cut to ``limit`` characters."""
    text = " ".join(html_to_text(question.stem).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
