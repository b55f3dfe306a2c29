"""Reading one catalogue file (docs/course-catalogue-format.md) into a :class:`CourseData`.

Like the native question bank format, a file is read from PyYAML's safe node tree (nothing is
constructed): every value keeps its line, unknown fields and wrong types are errors, a text is
taken as written (``code: 101`` is the text ``101``), and anchors and aliases are refused.
References to programmes, banks and other courses are checked by the import, which knows the
database.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from lms.courses.models import CompletionRule
from lms.exams.models import ReviewPolicy
from lms.i18n import gettext as _
from lms.sheets import Problem

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TAG = "tag:yaml.org,2002:"
TOP_FIELDS = ("course", "lessons", "exam")
COURSE_FIELDS = (
    "code", "title", "programme", "hours", "summary", "audience", "completion_rule", "banks",
    "certificate", "prerequisites",
)  # fmt: skip
LESSON_FIELDS = ("title", "min_seconds", "video_url", "body")
EXAM_FIELDS = (
    "title", "time_limit_minutes", "pass_mark_percent", "max_attempts", "retake_wait_hours",
    "review", "shuffle_questions", "shuffle_options", "draw",
)  # fmt: skip
DRAW_FIELDS = ("bank", "count", "points_each", "type", "difficulty", "knowledge_point")
#: whole-number exam settings: (lowest, highest), as HR's paper form allows them
EXAM_NUMBERS = {
    "time_limit_minutes": (0, 1440),
    "max_attempts": (0, 100),
    "retake_wait_hours": (0, 8760),
}
HUNDREDTH = Decimal("0.01")
MAX_POINTS = Decimal("999.99")
MAX_DRAW_COUNT = 500
COURSE_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")
BANK_CODE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
DESIGN_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
TENTH = Decimal("0.1")
MAX_HOURS = Decimal("999.9")
MAX_LESSON_SECONDS = 24 * 3600


@dataclass
class LessonData:
    title: str
    body: str = ""
    video_url: str = ""
    min_seconds: int = 0
    line: int = 0


@dataclass
class DrawData:
    """One draw rule of a course's exam: ``count`` enabled questions of ``bank`` matching the
    filters (None: any). ``lines`` holds the line of each field given."""

    bank: str = ""
    count: int = 0
    points_each: Decimal = Decimal(0)
    type: str | None = None
    difficulty: int | None = None
    knowledge_point: str | None = None
    line: int = 0
    lines: dict[str, int] = field(default_factory=dict)


@dataclass
class ExamData:
    """A course's exam as its file gives it (a drawn paper); ``title`` None: the course's
    title followed by 考试."""

    title: str | None = None
    time_limit_minutes: int = 60
    pass_mark_percent: Decimal = Decimal(60)
    max_attempts: int = 0
    retake_wait_hours: int = 0
    review: ReviewPolicy = ReviewPolicy.score
    shuffle_questions: bool = False
    shuffle_options: bool = False
    draw: list[DrawData] = field(default_factory=list)
    line: int = 0


@dataclass
class CourseData:
    """A course as its file gives it. ``lines`` holds the line of each field given, and of each
    item of the lists of codes (``banks.0``, ``prerequisites.1``...), for later checks."""

    file: str
    code: str = ""
    title: str = ""
    programme: str = ""
    hours: Decimal = Decimal("1.0")
    summary: str = ""
    audience: list[str] = field(default_factory=list)
    completion_rule: CompletionRule = CompletionRule.viewed
    banks: list[str] = field(default_factory=list)
    certificate: str | None = None
    prerequisites: list[str] = field(default_factory=list)
    lessons: list[LessonData] = field(default_factory=list)
    exam: ExamData | None = None
    lines: dict[str, int] = field(default_factory=dict)


class Invalid(Exception):
    """A value that breaks the schema: its line, the field, and what is wrong."""

    def __init__(self, where: Node | int, field: str, message: str) -> None:
        super().__init__(message)
        self.line = where if isinstance(where, int) else where.start_mark.line + 1
        self.field = field
        self.message = message


# Values --------------------------------------------------------------------------------------


class _Reader:
    """Reads values off the node tree, refusing a node met twice (an alias)."""

    def __init__(self) -> None:
        self.seen: set[int] = set()

    def once(self, node: Node, name: str, at: Node | None = None) -> Node:
        """The node, unless it was met before (``at``: the key to report the error at)."""
        # The composer returns the anchored node again for every alias: a node met twice is one.
        if id(node) in self.seen:
            raise Invalid(
                at or node,
                name,
                _(
                    "%(field)s reuses the value of line %(line)d: anchors and aliases (& and *) "
                    "are not supported.",
                    field=name,
                    line=node.start_mark.line + 1,
                ),
            )
        self.seen.add(id(node))
        return node

    def mapping(
        self, node: Node, name: str, allowed: tuple[str, ...]
    ) -> dict[str, tuple[Node, Node]]:
        """A mapping's entries by key: only the allowed keys, each once."""
        if not isinstance(node, MappingNode):
            raise Invalid(node, name, _("%(field)s must be a mapping (key: value).", field=name))
        entries: dict[str, tuple[Node, Node]] = {}
        for key, value in node.value:
            if not isinstance(key, ScalarNode):
                raise Invalid(key, name, _("A key must be a simple text."))
            if key.value in entries:
                first = entries[key.value][0].start_mark.line + 1
                raise Invalid(
                    key,
                    key.value,
                    _("%(key)s is given twice (also line %(line)d).", key=key.value, line=first),
                )
            if key.value not in allowed:
                raise Invalid(key, key.value, _unknown(key.value, allowed))
            entries[key.value] = (key, self.once(value, key.value, key))
        return entries

    def items(self, node: Node, name: str) -> list[Node]:
        if not isinstance(node, SequenceNode):
            raise Invalid(node, name, _("%(field)s must be a list.", field=name))
        return [self.once(item, name) for item in node.value]

    def texts(self, node: Node, name: str) -> list[tuple[str, int]]:
        """A list of texts with their lines (a single text counts as a list of one)."""
        if isinstance(node, ScalarNode):
            text = _text(node, name).strip()
            return [(text, node.start_mark.line + 1)] if text else []
        if not isinstance(node, SequenceNode):
            raise Invalid(node, name, _("%(field)s must be a list of texts.", field=name))
        found: list[tuple[str, int]] = []
        for item in self.items(node, name):
            text = _text(item, name).strip()
            if not text:
                raise Invalid(item, name, _("%(field)s has an empty item.", field=name))
            if text not in (t for t, _line in found):  # the same code twice means it once
                found.append((text, item.start_mark.line + 1))
        return found


def _text(node: Node, name: str, *, limit: int | None = None) -> str:
    """A text as written (a plain ``95598`` is the text, not a number)."""
    if not isinstance(node, ScalarNode):
        raise Invalid(node, name, _("%(field)s must be a text.", field=name))
    text = "" if node.tag == _TAG + "null" else node.value
    if limit is not None and len(text.strip()) > limit:
        raise Invalid(
            node, name, _("%(field)s is longer than %(n)d characters.", field=name, n=limit)
        )
    return text


def _required(node: Node, name: str, *, limit: int) -> str:
    text = _text(node, name, limit=limit).strip()
    if not text:
        raise Invalid(node, name, _("%(field)s must not be empty.", field=name))
    return text


def _decimal(node: Node, name: str) -> Decimal:
    if not isinstance(node, ScalarNode) or node.tag not in (_TAG + "int", _TAG + "float"):
        raise Invalid(node, name, _("%(field)s must be a number.", field=name))
    try:
        value = Decimal(node.value.replace("_", ""))
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        raise Invalid(node, name, _("%(field)s must be a finite number.", field=name))
    return value


def _unknown(key: str, allowed: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, list(allowed), n=1)
    if close:
        return _("Unknown field %(field)s (did you mean %(close)s?).", field=key, close=close[0])
    return _("Unknown field %(field)s.", field=key)


# Reading -------------------------------------------------------------------------------------


def _compose(data: bytes, file: str, problems: list[Problem]) -> Node | None:
    def error(line: int | None, message: str) -> None:
        problems.append(Problem(file, line, None, message))

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        error(data[: exc.start].count(b"\n") + 1, _("The file is not UTF-8 text."))
        return None
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        error(mark.line + 1 if mark else None, _("YAML syntax error: %(problem)s", problem=problem))
        return None
    except yaml.YAMLError as exc:
        error(None, _("YAML syntax error: %(problem)s", problem=exc))
        return None
    except RecursionError:
        error(None, _("The YAML is nested too deeply."))
        return None
    if root is None:
        error(1, _("The file is empty."))
    return root


def read_course_file(data: bytes, file: str) -> tuple[CourseData | None, list[Problem]]:
    """Read one catalogue file: the course, or None with the errors (each with its line and
    field). References to programmes, banks and other courses are checked on import."""
    problems: list[Problem] = []
    root = _compose(data, file, problems)
    if root is None:
        return None, problems
    course = CourseData(file)
    reader = _Reader()
    try:
        top = reader.mapping(reader.once(root, "course"), "course", TOP_FIELDS)
        if "course" not in top:
            raise Invalid(root, "course", _("The file has no course: part."))
        _course_fields(reader, top["course"][1], course, problems)
        if "lessons" not in top:
            raise Invalid(root, "lessons", _("The file has no lessons: list."))
        _lessons(reader, top["lessons"][1], course, problems)
        if "exam" in top:
            course.lines["exam"] = top["exam"][0].start_mark.line + 1
            _exam(reader, top["exam"], course, problems)
    except Invalid as problem:
        problems.append(Problem(file, problem.line, problem.field, problem.message))
    problems.sort(key=lambda problem: problem.line or 0)
    return (None if problems else course), problems


def _course_fields(
    reader: _Reader, node: Node, course: CourseData, problems: list[Problem]
) -> None:
    entries = reader.mapping(node, "course", COURSE_FIELDS)
    for name, (key, value) in entries.items():
        course.lines[name] = key.start_mark.line + 1
        try:
            _course_field(reader, course, name, value)
        except Invalid as problem:
            problems.append(Problem(course.file, problem.line, problem.field, problem.message))
    for name in ("code", "title", "programme", "hours"):
        if name not in entries:
            problems.append(
                Problem(
                    course.file,
                    node.start_mark.line + 1,
                    name,
                    _("The course has no %(field)s.", field=name),
                )
            )


def _course_field(reader: _Reader, course: CourseData, name: str, node: Node) -> None:
    if name == "code":
        course.code = _required(node, name, limit=64)
        if not COURSE_CODE.match(course.code):
            raise Invalid(node, name, _("A course code is letters, digits and -."))
    elif name == "title":
        course.title = _required(node, name, limit=200)
    elif name == "programme":
        course.programme = _required(node, name, limit=64)
    elif name == "hours":
        hours = _decimal(node, name)
        if not (0 < hours <= MAX_HOURS) or hours != hours.quantize(TENTH):
            raise Invalid(
                node, name, _("Hours must be above 0, with at most one decimal (like 1.5).")
            )
        course.hours = hours.quantize(TENTH)
    elif name == "summary":
        course.summary = _text(node, name).strip()
    elif name == "completion_rule":
        text = _text(node, name).strip()
        if text not in CompletionRule.__members__:
            raise Invalid(node, name, _("The completion rule is viewed or min_time."))
        course.completion_rule = CompletionRule(text)
    elif name == "certificate":
        text = _text(node, name, limit=64).strip()
        if text and not DESIGN_NAME.match(text):
            raise Invalid(
                node, name, _("A certificate design name is lower-case letters, digits, - and _.")
            )
        course.certificate = text or None
    else:  # audience, banks, prerequisites
        items = reader.texts(node, name)
        for index, (text, line) in enumerate(items):
            course.lines[f"{name}.{index}"] = line
            if name == "audience" and len(text) > 100:
                raise Invalid(
                    line, name, _("%(field)s is longer than %(n)d characters.", field=name, n=100)
                )
            if name == "banks" and not BANK_CODE.match(text):
                raise Invalid(line, name, _("A bank code is lower-case letters, digits and -."))
            if name == "prerequisites" and not COURSE_CODE.match(text):
                raise Invalid(line, name, _("A course code is letters, digits and -."))
        setattr(course, name, [text for text, _line in items])


def _lessons(reader: _Reader, node: Node, course: CourseData, problems: list[Problem]) -> None:
    items = reader.items(node, "lessons") if node.tag != _TAG + "null" else []
    if not items:
        raise Invalid(node, "lessons", _("The course needs at least one lesson."))
    timed = course.completion_rule is CompletionRule.min_time
    for item in items:
        line = item.start_mark.line + 1
        try:
            entries = reader.mapping(item, "lessons", LESSON_FIELDS)
            if "title" not in entries:
                raise Invalid(item, "title", _("The lesson has no title."))
            lesson = LessonData(_required(entries["title"][1], "title", limit=200), line=line)
            twin = next((other for other in course.lessons if other.title == lesson.title), None)
            if twin is not None:
                message = _("Lesson title also used at line %(line)d.", line=twin.line)
                raise Invalid(entries["title"][1], "title", message)
            if "body" in entries:
                lesson.body = _text(entries["body"][1], "body").strip()
            if "video_url" in entries:
                lesson.video_url = _video_url(entries["video_url"][1])
            if not lesson.body and not lesson.video_url:
                raise Invalid(item, "body", _("The lesson has neither a body nor a video."))
            if "min_seconds" in entries:  # kept with the viewed rule too (for a later switch)
                lesson.min_seconds = _seconds(entries["min_seconds"][1])
            if timed and not lesson.min_seconds:
                raise Invalid(
                    item,
                    "min_seconds",
                    _("With completion_rule: min_time every lesson needs min_seconds."),
                )
            course.lessons.append(lesson)
        except Invalid as problem:
            problems.append(Problem(course.file, problem.line, problem.field, problem.message))


def _video_url(node: Node) -> str:
    url = _text(node, "video_url", limit=500).strip()
    if url:
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.netloc:
            raise Invalid(node, "video_url", _("A video link must be an https:// address."))
    return url


def _seconds(node: Node) -> int:
    value = _decimal(node, "min_seconds")
    if value != value.to_integral_value() or not 0 <= value <= MAX_LESSON_SECONDS:
        raise Invalid(
            node,
            "min_seconds",
            _("min_seconds must be a whole number from 0 to %(n)d.", n=MAX_LESSON_SECONDS),
        )
    return int(value)


# The exam ------------------------------------------------------------------------------------


def _whole(node: Node, name: str, low: int, high: int) -> int:
    value = _decimal(node, name)
    if value != value.to_integral_value() or not low <= value <= high:
        raise Invalid(
            node,
            name,
            _(
                "%(field)s must be a whole number from %(low)d to %(high)d.",
                field=name,
                low=low,
                high=high,
            ),
        )
    return int(value)


def _flag(node: Node, name: str) -> bool:
    if not isinstance(node, ScalarNode) or node.tag != _TAG + "bool":
        raise Invalid(node, name, _("%(field)s must be true or false.", field=name))
    return node.value.lower() in ("true", "yes", "on")


def _exam(
    reader: _Reader, entry: tuple[Node, Node], course: CourseData, problems: list[Problem]
) -> None:
    """The ``exam:`` mapping (its key and value): every field checked, each problem at its
    line; the exam as a whole is placed at the ``exam:`` key's line."""
    key, node = entry
    exam = ExamData(line=key.start_mark.line + 1)
    entries = reader.mapping(node, "exam", EXAM_FIELDS)
    for name, (_key, value) in entries.items():
        try:
            _exam_field(reader, exam, name, value, course, problems)
        except Invalid as problem:
            problems.append(Problem(course.file, problem.line, problem.field, problem.message))
    if "draw" not in entries:
        problems.append(
            Problem(
                course.file,
                exam.line,
                "exam.draw",
                _("The exam has no draw: list of rules."),
            )
        )
    course.exam = exam


def _exam_field(
    reader: _Reader,
    exam: ExamData,
    name: str,
    node: Node,
    course: CourseData,
    problems: list[Problem],
) -> None:
    label = f"exam.{name}"
    if name == "title":
        exam.title = _text(node, label, limit=200).strip() or None
    elif name in EXAM_NUMBERS:
        setattr(exam, name, _whole(node, label, *EXAM_NUMBERS[name]))
    elif name == "pass_mark_percent":
        value = _decimal(node, label)
        if not 0 <= value <= 100 or value != value.quantize(HUNDREDTH):
            raise Invalid(
                node, label, _("exam.pass_mark_percent must be a percentage from 0 to 100.")
            )
        exam.pass_mark_percent = value.quantize(HUNDREDTH)
    elif name == "review":
        text = _text(node, label).strip()
        if text not in ReviewPolicy.__members__:
            raise Invalid(
                node,
                label,
                _("exam.review is none, score, answers_after_close or answers_at_once."),
            )
        exam.review = ReviewPolicy(text)
    elif name in ("shuffle_questions", "shuffle_options"):
        setattr(exam, name, _flag(node, label))
    else:  # draw
        items = reader.items(node, label) if node.tag != _TAG + "null" else []
        if not items:
            raise Invalid(node, label, _("The exam needs at least one draw rule."))
        for item in items:
            try:
                exam.draw.append(_draw_rule(reader, item))
            except Invalid as problem:
                problems.append(Problem(course.file, problem.line, problem.field, problem.message))


def _draw_rule(reader: _Reader, node: Node) -> DrawData:
    from lms.questions.types import registry

    rule = DrawData(line=node.start_mark.line + 1)
    entries = reader.mapping(node, "exam.draw", DRAW_FIELDS)
    for name, (key, value) in entries.items():
        rule.lines[name] = key.start_mark.line + 1
        label = f"exam.draw.{name}"
        if name == "bank":
            rule.bank = _required(value, label, limit=64)
            if not BANK_CODE.match(rule.bank):
                raise Invalid(value, label, _("A bank code is lower-case letters, digits and -."))
        elif name == "count":
            rule.count = _whole(value, label, 1, MAX_DRAW_COUNT)
        elif name == "points_each":
            points = _decimal(value, label)
            if not 0 < points <= MAX_POINTS or points != points.quantize(HUNDREDTH):
                raise Invalid(
                    value,
                    label,
                    _("exam.draw.points_each must be above 0 and at most 999.99 (two decimals)."),
                )
            rule.points_each = points.quantize(HUNDREDTH)
        elif name == "type":
            text = _text(value, label, limit=40).strip()
            types = registry()
            if text and text not in types:
                close = difflib.get_close_matches(text, list(types), n=1)
                message = _("Unknown question type %(type)s.", type=text)
                if close:
                    message += " " + _("Did you mean %(close)s?", close=close[0])
                raise Invalid(value, label, message)
            rule.type = text or None
        elif name == "difficulty":
            if not (isinstance(value, ScalarNode) and value.tag == _TAG + "null"):
                rule.difficulty = _whole(value, label, 1, 5)
        else:  # knowledge_point
            rule.knowledge_point = _text(value, label, limit=200).strip() or None
    for name in ("bank", "count", "points_each"):
        if name not in entries:
            raise Invalid(
                node, f"exam.draw.{name}", _("The draw rule has no %(field)s.", field=name)
            )
    return rule
