"""Writing GIFT that this reader and Moodle read back to the same questions."""

from __future__ import annotations

from lms.i18n import gettext as _
from lms.questions import data as d
from lms.questions.data import QuestionData, percent_text
from lms.questions.formats.gift.reader import ANY_NUMBER, CONTROL
from lms.questions.html import is_plain

#: The question types the writer can write (fill_in: one blank only, see :func:`unwritable`).
TYPES = frozenset({
    d.SINGLE_CHOICE, d.MULTIPLE_CHOICE, d.TRUE_FALSE, d.FILL_IN,
    d.NUMERICAL, d.MATCHING, d.SHORT_ANSWER, d.DESCRIPTION,
})  # fmt: skip
#: The QuestionData fields that survive a write and a read. Not carried: difficulty, points,
#: knowledge points, posts, source, case_sensitive and reference_answer (GIFT has no place for
#: them), nor a description's explanation (a description has no ``{...}`` to hold ``####``).
CARRIES = frozenset({
    "type", "stem", "name", "choices", "answer_true", "feedback_true", "feedback_false",
    "blanks", "numbers", "pairs", "explanation", "tags", "external_id", "category",
})  # fmt: skip

_ESCAPES = str.maketrans({c: "\\" + c for c in "\\~=#{}:"} | {"\n": "\\n", "\r": "", "\0": ""})


def _escape(text: str) -> str:
    return text.translate(_ESCAPES)


def _text(html: str, default: str) -> str:
    """A text (HTML) in GIFT. Plain text is written as its escaped HTML (``&lt;``, ``<br>``),
    which every format reads back the same; other HTML gets ``[html]`` unless that is the
    default. A text starting with ``[`` (or ``/`` or ``$``, which at the start of a line make a
    comment or a category) gets a marker, so that the start is not taken for one."""
    body = _escape(html)
    fmt = "moodle" if is_plain(html) else "html"
    if (fmt == "html" and default != "html") or body.startswith(("[", "/", "$")):
        return f"[{fmt}]{body}"
    return body


def _plain(text: str) -> str:
    """A fill-in answer (plain text): escaped, guarded against a format marker."""
    body = _escape(text.strip())
    return "[moodle]" + body if body.startswith("[") else body


def _number(value: float) -> str:
    text = repr(float(value))
    return text.removesuffix(".0")


def _label(text: str) -> str:
    """An id or a tag in a comment: one line, ``]`` escaped."""
    return " ".join(CONTROL.sub("", text).split()).replace("]", "\\]")


def unwritable(question: QuestionData) -> str | None:
    """Why GIFT cannot hold ``question`` (None when it can)."""
    if question.type not in TYPES:
        return _("GIFT has no %(type)s questions.", type=question.type)
    if question.type == d.FILL_IN:
        if len(question.blanks) != 1:
            return _("A GIFT fill-in question has exactly one blank.")
        if any("->" in answer.text for answer in question.blanks[0]):
            return _("A GIFT fill-in answer cannot contain “->”.")
    return None


def _feedback(html: str, fmt: str) -> str:
    return "#" + _text(html, fmt) if html else ""


def _answer_lines(question: QuestionData, fmt: str) -> list[str]:
    """The lines between the braces of a choice, fill-in, numerical or matching question."""
    kind, lines = question.type, []
    if kind in (d.SINGLE_CHOICE, d.MULTIPLE_CHOICE):
        equals = kind == d.SINGLE_CHOICE  # one "=" makes Moodle's single-answer question
        for choice in question.choices:
            text = _text(choice.text, fmt)
            if equals and choice.fraction == 1:
                mark, equals = "=", False
            elif choice.fraction or text.startswith("%"):  # "%" would read as a weight
                mark = f"~%{percent_text(choice.fraction)}%"
            else:
                mark = "~"
            lines.append(mark + text + _feedback(choice.feedback, fmt))
    elif kind == d.FILL_IN:
        for answer in question.blanks[0]:
            weight = f"=%{percent_text(answer.fraction)}%"
            lines.append(weight + _plain(answer.text) + _feedback(answer.feedback, fmt))
    elif kind == d.NUMERICAL:
        for n in question.numbers:
            if n.low is not None and n.high is not None and -n.low == n.high == ANY_NUMBER:
                number = "*"
            elif n.low is not None and n.high is not None:
                number = f"{_number(n.low)}..{_number(n.high)}"
            else:
                number = f"{_number(n.value or 0.0)}:{_number(n.tolerance)}"
            if number == "*" and not n.fraction:
                lines.append("~" + _feedback(n.feedback, fmt))
            else:
                lines.append(f"=%{percent_text(n.fraction)}%{number}{_feedback(n.feedback, fmt)}")
        lines.sort(key=lambda line: line.startswith("~"))  # Moodle reads "~" to the end
    elif kind == d.MATCHING:
        for pair in question.pairs:
            # "->" ends the prompt: in HTML, "-&gt;" shows the same.
            prompt = _text(pair.prompt, fmt).replace("->", "-&gt;") if pair.prompt else ""
            lines.append(f"={prompt} -> {_escape(pair.answer.strip())}")  # plain, no marker
    if question.explanation:
        lines.append("####" + _text(question.explanation, fmt))
    return lines


def _question(question: QuestionData) -> str:
    reason = unwritable(question)
    if reason:
        raise ValueError(f"{question.external_id or question.name or question.line}: {reason}")
    # One comment line each: a "\" ending an id or tag cannot then swallow the next one.
    parts = [f"// [id:{_label(question.external_id)}]\n"] if question.external_id.strip() else []
    parts.extend(f"// [tag:{_label(tag)}]\n" for tag in question.tags if tag.strip())
    if question.name.strip():
        parts.append(f"::{_escape(' '.join(question.name.split()))}::")
    stem = _text(question.stem, "moodle")
    fmt = "html" if stem.startswith("[html]") else "moodle"
    parts.append(stem)
    explanation = "####" + _text(question.explanation, fmt) if question.explanation else ""
    if question.type == d.DESCRIPTION:
        pass  # no braces: no room for an explanation either
    elif question.type == d.TRUE_FALSE:
        right, wrong = question.feedback_true, question.feedback_false
        if not question.answer_true:
            right, wrong = wrong, right
        answer = "TRUE" if question.answer_true else "FALSE"
        if wrong or right:
            answer += "#" + (_text(wrong, fmt) if wrong else "")
        if right:
            answer += "#" + _text(right, fmt)
        parts.append("{" + answer + explanation + "}")
    elif question.type == d.SHORT_ANSWER:
        parts.append("{" + explanation + "}")
    else:
        lines = _answer_lines(question, fmt)
        opening = "{#\n" if question.type == d.NUMERICAL else "{\n"
        parts.append(opening + "".join(f"\t{line}\n" for line in lines) + "}")
    return "".join(parts)


def write(questions: list[QuestionData], bank: dict) -> bytes:
    """GIFT for ``questions`` (UTF-8): ``$CATEGORY:`` where the category changes, each question
    after its ``[id:]`` and ``[tag:]`` comments. ValueError for a question GIFT cannot hold."""
    out: list[str] = []
    about = [" ".join(str(bank.get(key) or "").split()) for key in ("title", "code")]
    if any(about):
        out.append("// " + " · ".join(a for a in about if a) + "\n\n")
    category = ""
    for question in questions:
        if question.category != category:
            category = question.category
            path = " ".join(category.split()).replace("\\", "\\\\")
            out.append(f"$CATEGORY: {path}\n\n")
        out.append(_question(question) + "\n\n")
    return "".join(out).encode("utf-8")
