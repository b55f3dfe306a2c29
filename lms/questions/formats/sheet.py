"""Question spreadsheets: CSV (UTF-8 with or without BOM, GB18030) and XLSX, in the column
conventions of Chinese exam platforms and in our own XLSX template (docs/question-bank-format.md,
"Spreadsheets").

One question per row; the header row is found among the first rows (title rows above it are
skipped) and numbered as its line in the file, so every problem names the row's line and the
column as its header is written. Nothing in a cell is evaluated: XLSX is opened read-only with
cached values, formulas are never computed.
"""

from __future__ import annotations

import csv
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time
from io import BytesIO
from typing import Any

from lms.i18n import gettext as _
from lms.questions import data as d
from lms.questions.data import Choice, MatchPair, QuestionData
from lms.questions.formats import Format, ParsedFile
from lms.questions.formats import sheet_values as v
from lms.questions.types import BLANK
from lms.sheets import FileProblem, cell_text, clean_cell, decode_csv, is_xlsx, iter_rows
from lms.sheets import normalise_header as _normalise

#: Rows after the header, at most (the XLSX unpacked size is bounded by lms.sheets).
MAX_ROWS = 50_000
#: The header is looked for in this many first rows.
HEADER_SEARCH = 10
COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("编号", "试题编号", "题目编号", "id"),
    "type": ("题型", "类型", "试题类型", "题目类型", "type", "question_type"),
    "name": ("题目名称", "名称", "标题", "name", "title"),
    "stem": (
        "题干",
        "题目",
        "题目内容",
        "试题",
        "试题内容",
        "题目描述",
        "问题",
        "stem",
        "question",
    ),
    "answer": ("答案", "正确答案", "正确选项", "参考答案", "标准答案", "answer", "correct"),
    "explanation": ("解析", "答案解析", "试题解析", "题目解析", "explanation", "analysis"),
    "difficulty": ("难度", "难易程度", "难度等级", "难易度", "级别", "difficulty", "level"),
    "points": ("分值", "分数", "每题分值", "points", "score"),
    "knowledge": ("知识点", "章节", "科目", "科目名称", "考点", "knowledge_points", "chapter"),
    "posts": ("岗位", "适用岗位", "posts", "post"),
    "source": ("出处", "来源", "依据", "source"),
    "tags": ("标签", "tags"),
    "category": ("分类", "题库名称", "category"),
    "case": ("区分大小写", "case_sensitive"),
    "ignored": ("序号", "题号", "no", "number"),
}
_ALIASES = {_normalise(name): key for key, names in COLUMNS.items() for name in names}
QUESTION_COLUMNS = {name for name, key in _ALIASES.items() if key == "stem"}
OPTION_HEADER = re.compile(r"^(?:选项|option|选择项)?[_.\-]?([a-z])$")
TYPE_WORDS: dict[str, str] = {}
for _kind, _words in {
    d.SINGLE_CHOICE: "单选题 单选 单项选择题 单项选择 单选择题 single single_choice radio",
    d.MULTIPLE_CHOICE: "多选题 多选 多项选择题 多项选择 不定项选择题 不定项 multiple "
    "multiple_choice multi checkbox",
    # decided by the number of letters in the answer
    "choice": "选择题 选择 choice 综合分析题 综合分析 comprehensive 案例分析题 案例分析 "
    "共用题干题 共用选项题",
    "compatibility": "配伍题 配伍 match",  # 配伍: one answer from shared options, or pairs
    d.TRUE_FALSE: "判断题 判断 是非题 对错题 正误题 judge judgement judgment truefalse true_false "
    "tf boolean",
    d.FILL_IN: "填空题 填空 fill fill_in blank fill_blank cloze completion",
    d.NUMERICAL: "数值题 数值 numerical numeric number",
    "calculation": "计算题 计算 calculation",  # numerical when the answer is numbers
    d.MATCHING: "匹配题 匹配 连线题 连线 matching",
    d.SHORT_ANSWER: "简答题 简答 问答题 问答 主观题 论述题 论述 名词解释 essay short short_answer "
    "subjective",
    d.DESCRIPTION: "说明 描述 材料 阅读材料 description",
}.items():
    TYPE_WORDS.update({v.fold(word).replace("_", ""): _kind for word in _words.split()})
#: The types the template writer writes, and the fields that survive a write and a read.
TYPES: frozenset[str] = frozenset(
    {d.SINGLE_CHOICE, d.MULTIPLE_CHOICE, d.TRUE_FALSE, d.FILL_IN, d.NUMERICAL, d.MATCHING,
     d.SHORT_ANSWER, d.DESCRIPTION}
)  # fmt: skip
#: Options and accepted answers keep their texts and fractions, not their feedback;
#: ``feedback_true`` and ``feedback_false`` are not carried.
CARRIES: frozenset[str] = frozenset(
    {"type", "stem", "name", "choices", "answer_true", "blanks", "case_sensitive", "numbers",
     "pairs", "reference_answer", "explanation", "difficulty", "points", "knowledge_points",
     "posts", "source", "tags", "external_id", "category"}
)  # fmt: skip


def normalise_header(text: str) -> str:
    """Header as compared: NFKC, no spaces, lower case, no ``*`` or ``(必填)`` marks."""
    text = _normalise(unicodedata.normalize("NFKC", str(text)))
    return re.sub(r"^\*|\*$|\((?:必填|选填|可选|必选)\)$", "", text)


@dataclass
class Layout:
    """Where each column is: key -> index, option letter -> index, the headers as written."""

    line: int
    columns: dict[str, int] = field(default_factory=dict)
    knowledge: list[int] = field(default_factory=list)
    options: dict[int, int] = field(default_factory=dict)
    headers: dict[int, str] = field(default_factory=dict)
    unread: dict[int, bool] = field(default_factory=dict)  # index -> seen non-empty
    #: XLSX cells keep their type: a date there is a date cell, and text that reads like a date
    #: is what was typed. In CSV every cell is text, so a date-like text is suspicious.
    typed_cells: bool = False

    @classmethod
    def of(cls, line: int, row: list[Any]) -> Layout | None:
        layout = cls(line)
        for index, value in enumerate(row):
            header = cell_text(value)
            name = normalise_header(header)
            if not name:
                continue
            layout.headers[index] = header
            key = _ALIASES.get(name)
            if key == "ignored":
                continue
            option = OPTION_HEADER.match(name)
            if key == "knowledge":
                layout.knowledge.append(index)
            elif key and key not in layout.columns:
                layout.columns[key] = index
            elif (
                option and key is None and v.LETTERS.index(option[1].upper()) not in layout.options
            ):
                layout.options[v.LETTERS.index(option[1].upper())] = index
            else:
                layout.unread[index] = False
        return layout if "stem" in layout.columns else None


@dataclass
class Row:
    """One row's cells, as the reader needs them."""

    line: int
    cells: list[Any]
    layout: Layout

    def raw(self, index: int | None) -> Any:
        return self.cells[index] if index is not None and index < len(self.cells) else None

    def at(self, index: int | None) -> str:
        value = self.raw(index)
        if isinstance(value, str):
            return clean_cell(value).strip()
        return clean_cell(cell_text(value))

    def text(self, key: str) -> str:
        return self.at(self.layout.columns.get(key))

    def header(self, key: str) -> str | None:
        index = self.layout.columns.get(key)
        return self.layout.headers.get(index) if index is not None else None


def _find_layout(rows: Any, parsed: ParsedFile) -> Layout | None:
    for line, row in enumerate(rows, start=1):
        layout = Layout.of(line, row)
        if layout is not None:
            return layout
        if line >= HEADER_SEARCH:
            break
    parsed.error(
        1, _("No question column (题干, 题目, 题目内容, 试题...) in the first rows: no header.")
    )
    return None


def read(data: bytes, file: str) -> ParsedFile:
    """Read a question spreadsheet (CSV or XLSX): one question per row, problems by line and
    column."""
    parsed = ParsedFile(file)
    ids: dict[str, int] = {}
    try:
        rows = iter_rows(data, file, MAX_ROWS + HEADER_SEARCH, raw=True)
        layout = _find_layout(rows, parsed)
        if layout is None:
            return parsed
        layout.typed_cells = is_xlsx(data)
        for line, cells in enumerate(rows, start=layout.line + 1):
            if line > layout.line + MAX_ROWS:
                parsed.error(line, _("Too many rows (at most %(n)d).", n=MAX_ROWS))
                break
            if not any(c not in (None, "") for c in cells):
                continue
            row = Row(line, cells, layout)
            for index in layout.unread:
                layout.unread[index] = layout.unread[index] or bool(row.at(index))
            question = _question(row, parsed)
            if question is None:
                continue
            if question.external_id in ids:
                parsed.error(
                    line,
                    _(
                        "Id %(id)s is used twice: lines %(first)d and %(line)d.",
                        id=question.external_id,
                        first=ids[question.external_id],
                        line=line,
                    ),
                    row.header("id"),
                )
            elif question.external_id:
                ids[question.external_id] = line
            parsed.questions.append(question)
    except FileProblem as problem:
        parsed.errors.extend(problem.problems)
        return parsed
    for index, seen in layout.unread.items():
        if seen:
            header = layout.headers[index]
            parsed.warning(layout.line, _("Column %(name)s is not read.", name=header), header)
    return parsed


# Rows ----------------------------------------------------------------------------------------


def _options(row: Row, parsed: ParsedFile) -> list[tuple[str, str]]:
    """The option cells up to the last one filled in: (text, header); a gap is an error."""
    layout = row.layout
    if not layout.options:
        return []
    found = [(row.at(layout.options.get(i)), i) for i in range(max(layout.options) + 1)]
    while found and not found[-1][0]:
        found.pop()
    options = []
    for text, letter in found:
        index = layout.options.get(letter)
        header = layout.headers.get(index, v.LETTERS[letter]) if index is not None else ""
        header = header or _("Option %(letter)s", letter=v.LETTERS[letter])
        if not text:
            parsed.error(row.line, _("An option is empty while a later one is not."), header)
        raw = row.raw(index)
        typed_date = isinstance(raw, datetime | date | time)
        if typed_date or (text and not layout.typed_cells and v.DATE_LIKE.match(text)):
            parsed.warning(
                row.line,
                _(
                    "%(value)s looks like a date or time: a spreadsheet may have changed what "
                    "was typed.",
                    value=text,
                ),
                header,
            )
        options.append((text, header))
    return options


def _kind(row: Row, parsed: ParsedFile, options: list[tuple[str, str]]) -> str | None:
    word = row.text("type")
    if word:
        kind = TYPE_WORDS.get(v.fold(word).replace("_", "").rstrip("。."))
        if kind is None:
            parsed.error(
                row.line, _("Unknown question type %(type)s.", type=word), row.header("type")
            )
        return kind
    answer = row.text("answer")
    if options and (v.letters(answer) or v.weighted_letters(answer)):
        return "choice"
    if not options and v.truth(answer) is not None:
        return d.TRUE_FALSE
    if answer and BLANK.search(row.text("stem")):
        return d.FILL_IN
    parsed.error(row.line, _("The question type is missing."), row.header("type"))
    return None


def _question(row: Row, parsed: ParsedFile) -> QuestionData | None:
    options = _options(row, parsed)
    kind = _kind(row, parsed, options)
    stem = row.text("stem")
    if kind is None:
        return None
    if not stem:
        parsed.error(row.line, _("The question text is empty."), row.header("stem"))
        return None
    q = QuestionData(type=kind, stem=v.cell_to_html(stem), line=row.line)
    _common(q, row, parsed)
    answer = row.text("answer")
    if kind == "compatibility":
        paired = options and all(v.first_equals(t) >= 0 for t, _h in options)
        kind = q.type = d.MATCHING if paired and not v.letters(answer) else "choice"
    if kind == "calculation":
        q.type = d.NUMERICAL if v.numbers(answer) else d.SHORT_ANSWER
    if kind in (d.SINGLE_CHOICE, d.MULTIPLE_CHOICE, "choice"):
        _choice(q, row, parsed, options, answer)
    elif q.type == d.TRUE_FALSE:
        _true_false(q, row, parsed, options, answer)
    elif q.type == d.FILL_IN:
        _fill_in(q, row, parsed, answer)
    elif q.type == d.NUMERICAL:
        numbers = v.numbers(answer)
        if numbers is None:
            parsed.error(
                row.line,
                _("The answer must be numbers like 99.89±0.001 or 1..5."),
                row.header("answer"),
            )
        q.numbers = numbers or []
    elif q.type == d.MATCHING:
        for text, header in options:
            pair = v.pair(text)
            if pair is None:
                parsed.error(row.line, _("A matching option is prompt=answer."), header)
            else:
                q.pairs.append(MatchPair(*pair))
    elif q.type == d.SHORT_ANSWER:
        q.reference_answer = v.cell_to_html(answer)
        if options:
            parsed.warning(row.line, _("Options of a short answer question are not read."))
    return q


def _common(q: QuestionData, row: Row, parsed: ParsedFile) -> None:
    q.external_id = row.text("id")
    q.name = row.text("name")
    q.explanation = v.cell_to_html(row.text("explanation"))
    q.source = row.text("source")
    q.category = row.text("category")
    q.posts = v.read_list(row.text("posts"))
    q.tags = v.read_list(row.text("tags"))
    for index in row.layout.knowledge:
        q.knowledge_points.extend(v.read_list(row.at(index)))
    q.case_sensitive = v.truth(row.text("case")) is True
    if difficulty := row.text("difficulty"):
        level = v.difficulty(difficulty)
        if level is None:
            parsed.warning(
                row.line,
                _("Unknown difficulty %(value)s: 3 is used.", value=difficulty),
                row.header("difficulty"),
            )
        elif not 1 <= level <= 5:
            parsed.error(row.line, _("Difficulty must be from 1 to 5."), row.header("difficulty"))
        else:
            q.difficulty = level
    if points := row.text("points"):
        value = v.number(points.removesuffix("分"))
        if value is None or value < 0:
            parsed.error(row.line, _("Points must be a number, 0 or more."), row.header("points"))
        else:
            q.points = value


def _choice(
    q: QuestionData, row: Row, parsed: ParsedFile, options: list[tuple[str, str]], answer: str
) -> None:
    q.choices = [Choice(v.cell_to_html(text)) for text, _h in options]
    picks = v.letters(answer)
    fractions = {i: 1.0 / len(picks) for i in picks} if picks else v.weighted_letters(answer) or {}
    if not fractions:
        parsed.error(
            row.line, _("The answer must be option letters, like B or ACD."), row.header("answer")
        )
    beyond = [v.LETTERS[i] for i in fractions if i >= len(q.choices)]
    if beyond:
        parsed.warning(
            row.line,
            _(
                "Answer %(letters)s: there are only %(n)d options.",
                letters="".join(beyond),
                n=len(q.choices),
            ),
            row.header("answer"),
        )
        fractions = {i: f for i, f in fractions.items() if i < len(q.choices)}
        if picks:
            fractions = {i: 1.0 / len(fractions) for i in fractions}
        if not fractions:
            parsed.error(row.line, _("No option is marked as right."), row.header("answer"))
    for index, fraction in fractions.items():
        q.choices[index].fraction = fraction
    right = sum(1 for f in fractions.values() if f > 0)
    if q.type == "choice":
        q.type = d.MULTIPLE_CHOICE if right > 1 else d.SINGLE_CHOICE
    elif q.type == d.SINGLE_CHOICE and picks and len(picks) > 1:
        parsed.error(
            row.line,
            _("A single choice question has one right option, not %(answer)s.", answer=answer),
            row.header("answer"),
        )


def _true_false(
    q: QuestionData, row: Row, parsed: ParsedFile, options: list[tuple[str, str]], answer: str
) -> None:
    q.answer_true = v.truth(answer)
    picks = v.letters(answer)
    if q.answer_true is None and picks and len(picks) == 1 and picks[0] < len(options):
        # the letter of an option that says 正确 or 错误 (in either order)
        q.answer_true = v.truth(options[picks[0]][0])
    if q.answer_true is None:
        parsed.error(
            row.line,
            _("The answer of a true/false question is 正确 or 错误 (or a letter of such option)."),
            row.header("answer"),
        )


def _fill_in(q: QuestionData, row: Row, parsed: ParsedFile, answer: str) -> None:
    marks = len(BLANK.findall(row.text("stem")))
    if not answer:
        parsed.error(row.line, _("The answer is empty."), row.header("answer"))
        return
    if not marks:
        q.type = d.SHORT_ANSWER
        q.reference_answer = v.cell_to_html(answer)
        parsed.warning(
            row.line,
            _("No blank (___ or （ ）) in the text: read as a short answer question."),
            row.header("stem"),
        )
        return
    q.blanks = v.blanks(answer)
    if len(q.blanks) == 1 and marks > 1 and len(q.blanks[0]) == marks:
        q.blanks = [[choice] for choice in q.blanks[0]]  # one answer per blank, cut by ;
    if len(q.blanks) != marks:
        parsed.warning(
            row.line,
            _(
                "The text has %(marks)d blanks but the answer gives %(n)d.",
                marks=marks,
                n=len(q.blanks),
            ),
            row.header("answer"),
        )


# Detection and writing -----------------------------------------------------------------------


def sniff_xlsx(data: bytes, file: str) -> bool:
    """A zip archive holding ``xl/workbook.xml``."""
    if not is_xlsx(data):
        return False
    try:
        with zipfile.ZipFile(BytesIO(data)) as archive:
            return "xl/workbook.xml" in archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False


def sniff_csv(data: bytes, file: str) -> bool:
    """A header row (among the first lines) with a question column and an answer, type or
    option column."""
    head = data[:65536]
    try:
        text = decode_csv(head)
    except UnicodeDecodeError:
        try:
            text = decode_csv(head[: head.rfind(b"\n")])
        except UnicodeDecodeError:
            return False
    for line in text.splitlines()[:HEADER_SEARCH]:
        delimiter = max(",\t;", key=line.count)
        try:
            cells = next(csv.reader([line], delimiter=delimiter), [])
        except csv.Error:
            return False
        names = {normalise_header(c) for c in cells}
        others = {_ALIASES.get(n) for n in names} & {"answer", "type"}
        if names & QUESTION_COLUMNS and (others or any(OPTION_HEADER.match(n) for n in names)):
            return True
    return False


def write(questions: list[QuestionData], bank: dict[str, Any]) -> bytes:
    """Our XLSX template (see :mod:`lms.questions.formats.sheet_writer`)."""
    from lms.questions.formats.sheet_writer import write_bank

    return write_bank(questions, bank)


XLSX = Format("xlsx", "XLSX", (".xlsx",), sniff_xlsx, read, write)
CSV = Format("csv", "CSV", (".csv",), sniff_csv, read)
