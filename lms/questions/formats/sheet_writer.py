"""Writing our XLSX question template: one question per row, the columns HR offices know
(编号, 题型, 题目名称, 题干, 选项A..选项H, 答案, 解析, 难度, 分值, 知识点, 岗位, 出处) and three of
ours (标签, 分类, 区分大小写). Every text cell is stored as text (``=SUM(A1)`` stays words),
the header is bold and frozen. :mod:`lms.questions.formats.sheet` reads it back.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from lms.questions import data as d
from lms.questions.data import QuestionData
from lms.questions.formats import sheet_values as v
from lms.questions.formats.native_writer import answer_letters
from lms.sheets import write_xlsx

BEFORE = ("编号", "题型", "题目名称", "题干")
AFTER = ("答案", "解析", "难度", "分值", "知识点", "岗位", "出处", "标签", "分类", "区分大小写")
TYPE_LABELS = {
    d.SINGLE_CHOICE: "单选题",
    d.MULTIPLE_CHOICE: "多选题",
    d.TRUE_FALSE: "判断题",
    d.FILL_IN: "填空题",
    d.NUMERICAL: "数值题",
    d.MATCHING: "匹配题",
    d.SHORT_ANSWER: "简答题",
    d.DESCRIPTION: "说明",
}
#: At least this many option columns (选项A..选项H); more when a question needs them.
OPTION_COLUMNS = 8


def _options(q: QuestionData) -> list[str]:
    if q.type == d.MATCHING:
        return [v.write_pair(p.prompt, p.answer) for p in q.pairs]
    if q.type in (d.SINGLE_CHOICE, d.MULTIPLE_CHOICE):
        return [v.html_to_cell(c.text) for c in q.choices]
    return []


def _answer(q: QuestionData) -> str:
    if q.type in (d.SINGLE_CHOICE, d.MULTIPLE_CHOICE):
        letters = answer_letters(q)
        return "".join(letters) if letters is not None else v.write_weighted(q.choices)
    if q.type == d.TRUE_FALSE:
        return "" if q.answer_true is None else ("正确" if q.answer_true else "错误")
    if q.type == d.FILL_IN:
        return v.write_blanks(q.blanks)
    if q.type == d.NUMERICAL:
        return v.write_numbers(q.numbers)
    if q.type == d.SHORT_ANSWER:
        return v.html_to_cell(q.reference_answer)
    return ""


def _number(value: float) -> int | float:
    return int(value) if value.is_integer() and abs(value) < 1e15 else value


def _rows(questions: list[QuestionData], width: int) -> Iterator[list[Any]]:
    for q in questions:
        options = _options(q)
        row = [
            q.external_id,
            TYPE_LABELS.get(q.type, q.type),
            q.name,
            v.html_to_cell(q.stem),
            *options,
            *[""] * (width - len(options)),
            _answer(q),
            v.html_to_cell(q.explanation),
            q.difficulty,
            _number(q.points),
            v.write_list(q.knowledge_points),
            v.write_list(q.posts),
            q.source,
            v.write_list(q.tags),
            q.category,
            "是" if q.case_sensitive else "",
        ]
        yield [None if value == "" else value for value in row]  # empty cells are not written


def write_bank(questions: list[QuestionData], bank: dict[str, Any]) -> bytes:
    """The questions as our XLSX template (``bank`` is not written: a sheet has no room)."""
    width = max([OPTION_COLUMNS, *(len(_options(q)) for q in questions)])
    options = [f"选项{v.LETTERS[i]}" if i < 26 else f"选项{i + 1}" for i in range(width)]
    widths = [12, 10, 16, 60, *[20] * width, 14, 40, 6, 6, 20, 16, 20, 12, 12, 10]
    rows = list(_rows(questions, width))
    return write_xlsx([*BEFORE, *options, *AFTER], rows, "题库", widths)
