"""Reading and writing HR's files: encodings, XLSX, header aliases, values, formula safety."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

import openpyxl
import pytest

from lms.sheets import (
    Column,
    FileProblem,
    parse_bool,
    parse_date,
    read_table,
    write_csv,
    write_xlsx,
)

COLUMNS = (
    Column("emp_no", "工号", required=True),
    Column("name", "姓名", required=True),
    Column("hired_on", "入职日期"),
)

ROWS = [["工号", "姓名", "入职日期"], ["10001", "张三", "2026-03-15"], ["10002", "李四", ""]]


def csv_text(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def records(data: bytes, columns=COLUMNS) -> list[tuple[int, dict[str, str]]]:
    return read_table(data, "f.csv", columns).rows


@pytest.mark.parametrize(
    "data",
    [
        csv_text(ROWS).encode("utf-8"),
        csv_text(ROWS).encode("utf-8-sig"),
        csv_text(ROWS).encode("gb18030"),
    ],
    ids=["utf-8", "utf-8-bom", "gb18030"],
)
def test_csv_encodings(data):
    """UTF-8, UTF-8 with a BOM and GB18030 CSV all read the same Chinese text."""
    assert records(data) == [
        (2, {"emp_no": "10001", "name": "张三", "hired_on": "2026-03-15"}),
        (3, {"emp_no": "10002", "name": "李四", "hired_on": ""}),
    ]


def test_gb18030_rare_characters():
    """GB18030 beyond GBK (a four-byte character) decodes."""
    text = csv_text([["工号", "姓名"], ["1", "王𠀀"]])
    assert records(text.encode("gb18030"))[0][1]["name"] == "王𠀀"


def test_xlsx_with_numbers_and_dates():
    """XLSX cells: a numeric 工号 reads as its digits and a date cell as an ISO date."""
    data = xlsx_bytes([["工号", "姓名", "入职日期"], [10001, "张三", datetime(2026, 3, 15)]])
    assert records(data) == [(2, {"emp_no": "10001", "name": "张三", "hired_on": "2026-03-15"})]


def test_english_header_aliases():
    """English column names (any case, extra spaces) are accepted for the Chinese headers."""
    data = csv_text([[" Emp_No ", "NAME"], ["1", "张三"]]).encode()
    table = read_table(data, "f.csv", COLUMNS)
    assert table.rows == [(2, {"emp_no": "1", "name": "张三"})]
    assert table.headers == {"emp_no": "Emp_No", "name": "NAME"}


def test_missing_columns_named_on_line_one():
    """Each missing required column gives one problem on line 1 naming the column."""
    with pytest.raises(FileProblem) as info:
        read_table(csv_text([["入职日期"], ["2026-03-15"]]).encode(), "bad.csv", COLUMNS)
    problems = info.value.problems
    assert [(p.file, p.line, p.column) for p in problems] == [
        ("bad.csv", 1, "工号"),
        ("bad.csv", 1, "姓名"),
    ]
    assert "工号" in problems[0].message


def test_empty_file_is_a_problem():
    """A file without a header row is refused with a message."""
    with pytest.raises(FileProblem):
        read_table(b"", "empty.csv", COLUMNS)


def test_blank_rows_skipped_and_lines_kept():
    """Blank rows are skipped but the following rows keep their line numbers."""
    data = csv_text([["工号", "姓名"], ["1", "甲"], ["", ""], [" ", ""], ["2", "乙"]]).encode()
    assert [line for line, _row in records(data)] == [2, 5]


def test_short_rows_read_as_empty():
    """A row with fewer cells than the header gives empty values for the missing ones."""
    data = "工号,姓名,入职日期\r\n1,A\r\n".encode()
    assert records(data) == [(2, {"emp_no": "1", "name": "A", "hired_on": ""})]


def test_semicolon_separated_csv():
    """A semicolon-separated file (some European Excel installations) is read too."""
    data = "工号;姓名\r\n1;甲\r\n2;乙\r\n".encode()
    assert [r["name"] for _line, r in records(data)] == ["甲", "乙"]


def test_binary_garbage_is_refused():
    """A file that is neither text nor XLSX is a file problem, not a crash."""
    with pytest.raises(FileProblem):
        read_table(b"\x00\x01\x02\xff\xfe" * 20, "x.csv", COLUMNS)


def test_damaged_xlsx_is_refused():
    """A damaged XLSX (a zip that is not a workbook) is a file problem."""
    with pytest.raises(FileProblem):
        read_table(b"PK\x03\x04" + b"\x00" * 100, "x.xlsx", COLUMNS)


def test_too_many_rows():
    """More rows than allowed is a file problem."""
    data = csv_text([["工号", "姓名"]] + [[str(i), "x"] for i in range(5)]).encode()
    with pytest.raises(FileProblem):
        read_table(data, "f.csv", COLUMNS, max_rows=3)


@pytest.mark.parametrize("text", ["2026-03-15", "2026/3/15", "2026.3.15", "2026年3月15日"])
def test_dates(text):
    """Dates are accepted as 2026-03-15 and 2026/3/15 (and the Chinese form)."""
    assert parse_date(text) == date(2026, 3, 15)


@pytest.mark.parametrize("text", ["2026-02-30", "15/3/2026", "tomorrow", "2026-3"])
def test_bad_dates(text):
    """Impossible or foreign date forms are errors that quote the value."""
    with pytest.raises(ValueError, match=text.replace("/", ".")[:4]):
        parse_date(text)


def test_empty_date_is_none():
    """An empty date cell is no date."""
    assert parse_date("  ") is None


@pytest.mark.parametrize("text", ["是", "Y", "y", "yes", "true", "TRUE", "1"])
def test_true_words(text):
    """是, Y, true and 1 are yes."""
    assert parse_bool(text) is True


@pytest.mark.parametrize("text", ["否", "N", "no", "false", "False", "0"])
def test_false_words(text):
    """否, N, false and 0 are no."""
    assert parse_bool(text) is False


def test_bool_empty_and_unknown():
    """Empty gives the default (an error without one); anything else is an error."""
    assert parse_bool("", default=True) is True
    with pytest.raises(ValueError):
        parse_bool("")
    with pytest.raises(ValueError, match="也许"):
        parse_bool("也许")


def test_xlsx_export_reads_back():
    """An exported XLSX reads back to the same rows."""
    data = write_xlsx(["工号", "姓名", "入职日期"], [["10001", "张三", "2026-03-15"]])
    assert records(data) == [(2, {"emp_no": "10001", "name": "张三", "hired_on": "2026-03-15"})]


DANGEROUS = ['=HYPERLINK("x")', "+1+2", "-3+4", "@SUM(A1)"]


def test_xlsx_export_is_formula_safe():
    """Text that looks like a formula is stored as text in XLSX, with its value unchanged."""
    data = write_xlsx(["工号", "姓名"], [[str(i), name] for i, name in enumerate(DANGEROUS)])
    sheet = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
    cells = [row[1] for row in sheet.iter_rows(min_row=2)]
    assert [c.value for c in cells] == DANGEROUS
    assert {c.data_type for c in cells} == {"s"}
    assert [r["name"] for _line, r in records(data)] == DANGEROUS


def test_csv_export_is_formula_safe_and_reimports():
    """CSV export puts an apostrophe before formula text; reading it back restores the value."""
    data = write_csv(["工号", "姓名"], [[str(i), name] for i, name in enumerate(DANGEROUS)])
    assert data.startswith("\ufeff".encode())
    written = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert [row[1] for row in written[1:]] == ["'" + name for name in DANGEROUS]
    assert [r["name"] for _line, r in records(data)] == DANGEROUS


def test_csv_export_keeps_numbers_and_none():
    """Numbers are written as they are and None as an empty cell."""
    data = write_csv(["a", "b", "c"], [[1, None, -2]])
    assert data.decode("utf-8-sig").splitlines()[1] == "1,,-2"


def test_xlsx_reader_does_not_evaluate_formulas():
    """A formula in an uploaded XLSX is not computed: its text (no cached value) is empty."""
    data = xlsx_bytes([["工号", "姓名"], ["1", "=1+1"]])
    assert records(data)[0][1]["name"] in ("", "=1+1")


def test_control_characters_removed_and_exportable():
    """Control characters in a cell are dropped on reading and never break an XLSX export."""
    data = csv_text([["工号", "姓名"], ["1", "张\x01三\x1f"]]).encode()
    assert records(data)[0][1]["name"] == "张三"
    exported = write_xlsx(["姓名"], [["李\x02四"]])
    sheet = openpyxl.load_workbook(io.BytesIO(exported)).worksheets[0]
    assert sheet["A2"].value == "李四"


def test_quoted_commas_and_newlines():
    """Quoted cells may hold commas, quotes and line breaks."""
    data = csv_text([["工号", "姓名"], ["1", 'a,b "c"\nd']]).encode()
    assert records(data)[0][1]["name"] == 'a,b "c"\nd'


def test_tab_separated():
    """A tab-separated file (copied out of Excel) is read too."""
    data = "工号\t姓名\r\n1\t甲\r\n".encode()
    assert records(data) == [(2, {"emp_no": "1", "name": "甲"})]


def test_excel_unicode_text():
    """Excel's "Unicode text" (UTF-16 with BOM, tab-separated) is read too."""
    data = "工号\t姓名\r\n1\t甲\r\n".encode("utf-16")
    assert records(data) == [(2, {"emp_no": "1", "name": "甲"})]


def test_an_apostrophe_typed_in_xlsx_is_kept():
    """XLSX cells are text, so an apostrophe before = is what was typed (only CSV escapes)."""
    from lms.sheets import Column, read_table, write_xlsx

    data = write_xlsx(["题目"], [["'=0.5"]])
    table = read_table(data, "x.xlsx", [Column("stem", "题目", required=True)])
    assert table.rows[0][1]["stem"] == "'=0.5"
