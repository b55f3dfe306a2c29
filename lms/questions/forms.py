"""Forms of the question bank pages: import (upload, confirm), enable/disable, edit."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable

import yaml
from flask_wtf import FlaskForm
from flask_wtf.file import FileRequired, MultipleFileField
from wtforms import (
    FieldList,
    FloatField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, NumberRange, Optional

from lms.i18n import gettext as _
from lms.i18n import lazy_gettext as _l
from lms.org.forms import choices
from lms.questions import data as d
from lms.questions.data import Choice, QuestionData
from lms.questions.formats import Format
from lms.questions.html import html_to_text, is_plain, plain_to_html, sanitise
from lms.questions.types import TypeRegistry

#: Most options the edit form offers (A to H, as the spreadsheet templates have).
MAX_OPTIONS = 8
#: Separators HR types between knowledge points or posts: commas, 、 and semicolons.
LIST_SEPARATORS = re.compile(r"[,，、;；\n]+")

#: The target select: each file's own bank, a new bank, or ``bank:<code>``.
TARGET_FILE = "file"
TARGET_NEW = "new"


def split_list(text: str | None) -> list[str]:
    """``服务承诺、故障抢修`` -> ``["服务承诺", "故障抢修"]`` (empty items dropped, order kept)."""
    return list(dict.fromkeys(p.strip() for p in LIST_SEPARATORS.split(text or "") if p.strip()))


class ImportUploadForm(FlaskForm):
    files = MultipleFileField(_l("Question files"), validators=[FileRequired()])
    format = SelectField(_l("Format"))
    target = SelectField(_l("Import into"))
    new_code = StringField(_l("New bank code"), validators=[Optional(), Length(max=64)])
    new_title = StringField(_l("New bank title"), validators=[Optional(), Length(max=200)])


class ImportConfirmForm(FlaskForm):
    token = HiddenField(validators=[DataRequired()])


class EnableForm(FlaskForm):
    enabled = HiddenField(validators=[AnyOf(["0", "1"])])


TEXT_FORMATS = [("plain", _l("Plain text")), ("html", _l("HTML"))]


class QuestionForm(FlaskForm):
    """The fields most questions share; choice options and true/false answers too. The answers
    of other types (blanks, numbers, pairs) are kept as they are: edit them as YAML."""

    text_format = SelectField(_l("Text format"), choices=choices(TEXT_FORMATS))
    stem = TextAreaField(_l("Question text (题干)"), validators=[Length(max=20000)])
    options = FieldList(
        TextAreaField(validators=[Optional(), Length(max=2000)]),
        min_entries=MAX_OPTIONS,
        max_entries=MAX_OPTIONS,
    )
    right = SelectMultipleField(
        _l("Right options"),
        coerce=int,
        choices=choices([(i, str(i)) for i in range(MAX_OPTIONS)]),
        validate_choice=True,
    )
    answer_true = SelectField(
        _l("Answer"), choices=choices([("true", _l("True")), ("false", _l("False"))])
    )
    reference_answer = TextAreaField(_l("Model answer"), validators=[Length(max=20000)])
    explanation = TextAreaField(_l("Explanation (解析)"), validators=[Length(max=20000)])
    difficulty = SelectField(
        _l("Difficulty"), coerce=int, choices=choices([(n, str(n)) for n in range(1, 6)])
    )
    points = FloatField(_l("Points"), validators=[InputRequired(), NumberRange(min=0, max=1000)])
    knowledge_points = StringField(_l("Knowledge points (知识点)"), validators=[Length(max=2000)])
    posts = StringField(_l("Posts (岗位)"), validators=[Length(max=2000)])
    source = StringField(_l("Source clause (出处)"), validators=[Length(max=500)])

    #: the types whose answers this form edits (others keep theirs; YAML edits them)
    CHOICE_TYPES = (d.SINGLE_CHOICE, d.MULTIPLE_CHOICE)

    def fill(self, question: QuestionData) -> None:
        """Show ``question`` in the form: as plain text when every text is plain, else HTML."""
        texts = [question.stem, question.explanation, question.reference_answer]
        texts += [c.text for c in question.choices]
        html = not all(is_plain(t) for t in texts)
        shown = (lambda t: t) if html else html_to_text
        self.text_format.data = "html" if html else "plain"
        self.stem.data = shown(question.stem)
        self.explanation.data = shown(question.explanation)
        self.reference_answer.data = shown(question.reference_answer)
        for entry, choice in zip(self.options.entries, question.choices, strict=False):
            entry.data = shown(choice.text)
        self.right.data = [i for i, c in enumerate(question.choices) if c.fraction > 0]
        self.answer_true.data = "false" if question.answer_true is False else "true"
        self.difficulty.data = question.difficulty
        self.points.data = question.points
        self.knowledge_points.data = "、".join(question.knowledge_points)
        self.posts.data = "、".join(question.posts)
        self.source.data = question.source

    def to_data(self, current: QuestionData) -> QuestionData:
        """``current`` with the form's changes (texts sanitised). Raises ValueError when the
        options cannot make a question of its type; the type itself validates the rest."""
        html = self.text_format.data == "html"

        def text(value: str | None) -> str:
            value = (value or "").strip()
            return sanitise(value) if html else plain_to_html(value)

        edited = copy.deepcopy(current)
        edited.stem = text(self.stem.data)
        edited.explanation = text(self.explanation.data)
        edited.difficulty = self.difficulty.data
        edited.points = float(self.points.data)
        edited.knowledge_points = split_list(self.knowledge_points.data)
        edited.posts = split_list(self.posts.data)
        edited.source = (self.source.data or "").strip()
        if current.type in self.CHOICE_TYPES:
            edited.choices = self._choices(current, text)
        elif current.type == d.TRUE_FALSE:
            edited.answer_true = self.answer_true.data == "true"
        elif current.type == d.SHORT_ANSWER:
            edited.reference_answer = text(self.reference_answer.data)
        return edited

    def _choices(self, current: QuestionData, text: Callable[[str | None], str]) -> list[Choice]:
        rows = [(i, (v or "").strip()) for i, v in enumerate(self.options.data)]
        rows = [(i, v) for i, v in rows if v]  # an emptied row removes its option
        ticked = set(self.right.data or [])
        right = {n for n, (i, _v) in enumerate(rows) if i in ticked}
        if current.type == d.SINGLE_CHOICE and len(right) > 1:
            raise ValueError(_("A single-choice question has exactly one right option."))
        old_right = {n for n, c in enumerate(current.choices) if c.fraction > 0}
        # Weights from a file (partial credit, penalties) survive an edit of the texts; a
        # change of the right options sets the plain weights again.
        keep = len(rows) == len(current.choices) and right == old_right
        share = 1.0 / len(right) if right and current.type == d.MULTIPLE_CHOICE else 1.0
        edited = []
        for n, (_i, value) in enumerate(rows):
            old = current.choices[n] if n < len(current.choices) else None
            fraction = old.fraction if keep and old else (share if n in right else 0.0)
            edited.append(Choice(text(value), fraction, old.feedback if old else ""))
        return edited


class YamlForm(FlaskForm):
    yaml = TextAreaField(
        _l("The question in YAML"), validators=[DataRequired(), Length(max=100000)]
    )


# Editing one question as native YAML -----------------------------------------------------------

#: Wrapped around the edited question so that the native reader reads it as a one-question bank;
#: the reader's line numbers then run ``YAML_HEADER_LINES`` ahead of the text HR typed.
YAML_HEADER = "bank:\n  code: edit\n  title: edit\nquestions:\n"
YAML_HEADER_LINES = YAML_HEADER.count("\n")


def _native() -> Format | None:
    from lms.questions.formats import writable_formats

    return writable_formats().get("yaml")


def question_yaml(question: QuestionData) -> str | None:
    """``question`` as one entry of the native YAML format (without its ``- ``), as its writer
    puts it; None while no writer for the native format is installed."""
    fmt = _native()
    if fmt is None or fmt.write is None:
        return None
    text = fmt.write([question], {"code": "edit", "title": "edit"}).decode("utf-8")
    document = yaml.safe_load(text)
    entry = (document or {}).get("questions", [None])[0]
    if not isinstance(entry, dict):
        return None
    return yaml.safe_dump(
        entry, allow_unicode=True, sort_keys=False, default_flow_style=None, width=100
    )


def parse_question_yaml(text: str, types: TypeRegistry) -> tuple[QuestionData | None, list[str]]:
    """The question written in ``text`` (one native YAML entry), read by the native reader
    (which sanitises its texts) and checked by its type; or None and the problems, each
    naming its line."""
    from lms.questions.services import validate

    fmt = _native()
    if fmt is None:
        return None, [_("Editing as YAML is not available: the YAML format is not installed.")]
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    body = "\n".join(("  - " if n == 0 else "    ") + line for n, line in enumerate(lines))
    parsed = fmt.read((YAML_HEADER + body + "\n").encode("utf-8"), "question.yaml")
    if not parsed.errors:
        validate(parsed, types)
    problems = [
        _("Line %(line)d: %(message)s", line=p.line - YAML_HEADER_LINES, message=p.message)
        if p.line and p.line > YAML_HEADER_LINES
        else p.message
        for p in parsed.errors
    ]
    if not problems and len(parsed.questions) != 1:
        problems.append(_("Write exactly one question."))
    if problems:
        return None, problems
    return parsed.questions[0], []
