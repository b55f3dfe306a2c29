"""Reading and writing the tabular files that HR exchanges: CSV (UTF-8 with or without BOM, or
GB18030) and XLSX, with Chinese headers first and English aliases accepted.

Readers never evaluate anything: XLSX is opened read-only with cached values (formulas are not
computed), and sizes are bounded before anything is decompressed. Writers make every text cell
formula-safe, so ``=HYPERLINK(...)`` in a name arrives as text.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from lms.i18n import gettext as _

#: Decompressed XLSX content larger than this is refused (zip bombs).
MAX_XLSX_UNCOMPRESSED = 256 * 1024 * 1024
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
#: Removed from every cell read: invisible, and XLSX (XML) cannot store them on export.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Column:
    """One column of a file format: its key, its Chinese header, and accepted aliases."""

    key: str
    header: str
    required: bool = False
    aliases: tuple[str, ...] = ()

    def names(self) -> set[str]:
        return {normalise_header(n) for n in (self.header, self.key, *self.aliases)}


@dataclass
class Problem:
    """An error or warning about one place in a file (line: header = 1)."""

    file: str
    line: int | None
    column: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "message": self.message,
        }

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
        if self.column:
            where += f" [{self.column}]"
        return f"{where}: {self.message}"


@dataclass
class ImportResult:
    """What an import did (or, in a dry run, would do): the ``--json`` object of every import."""

    imported: int = 0
    unchanged: int = 0
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        return {
            "imported": self.imported,
            "unchanged": self.unchanged,
            "errors": [p.as_dict() for p in self.errors],
            "warnings": [p.as_dict() for p in self.warnings],
            **self.details,
        }


class FileProblem(Exception):
    """The file as a whole cannot be read (encoding, format, size, header)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


@dataclass
class Table:
    """Rows of a file keyed by column key, each with its line number in the file."""

    file: str
    rows: list[tuple[int, dict[str, str]]]
    headers: dict[str, str]  # key -> the header as written in the file


def normalise_header(text: str) -> str:
    text = str(text or "").strip().lstrip("\ufeff").strip()
    text = re.sub(r"\s+", "", text).replace("（", "(").replace("）", ")")
    return text.lower()


def decode_csv(data: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030 (a superset of GBK and GB2312); UTF-16 with
    its BOM too (Excel's "Unicode text", tab-separated)."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnicodeDecodeError("utf-8", data, 0, 1, "neither UTF-8 nor GB18030")


def is_xlsx(data: bytes) -> bool:
    return data[:4] == b"PK\x03\x04"


def cell_text(value: Any) -> str:
    """A cell's value as the text a person would have typed."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return (
            value.date().isoformat()
            if value.time() == datetime.min.time()
            else value.isoformat(" ")
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value).strip()


def _xlsx_rows(data: bytes, file: str, max_rows: int, raw: bool = False) -> Iterator[list[Any]]:
    import openpyxl

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_XLSX_UNCOMPRESSED:
                raise FileProblem(
                    [Problem(file, None, None, _("The XLSX file is too large when unpacked."))]
                )
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except FileProblem:
        raise
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise FileProblem(
            [Problem(file, None, None, _("Not a readable XLSX file: %(error)s", error=exc))]
        ) from exc
    count = 0
    try:
        sheet = workbook.worksheets[0]
        for count, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            if count > max_rows + 1:
                raise FileProblem(
                    [Problem(file, count, None, _("Too many rows (at most %(n)d).", n=max_rows))]
                )
            yield list(row) if raw else [cell_text(v) for v in row]
    except FileProblem:
        raise
    except Exception as exc:  # a damaged sheet fails while its rows are read
        raise FileProblem(
            [Problem(file, count + 1, None, _("Not a readable XLSX file: %(error)s", error=exc))]
        ) from exc
    finally:
        workbook.close()


def _delimiter(text: str) -> str:
    """The separator used in the header line: a comma unless tabs or semicolons dominate.

    Only the delimiter is guessed: csv.Sniffer also guesses the quoting, and gets it wrong for
    cells like ``"'=HYPERLINK(""x"")"`` that our own exports write.
    """
    header = text.split("\n", 1)[0]
    counts = {d: header.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > counts[","] else ","


def _csv_rows(data: bytes, file: str, max_rows: int) -> Iterator[list[str]]:
    try:
        text = decode_csv(data)
    except UnicodeDecodeError as exc:
        raise FileProblem(
            [Problem(file, None, None, _("The file is neither UTF-8 nor GB18030 text."))]
        ) from exc
    if "\x00" in text:
        raise FileProblem(
            [Problem(file, None, None, _("The file is not a text (CSV) or XLSX file."))]
        )
    reader = csv.reader(io.StringIO(text, newline=""), csv.excel, delimiter=_delimiter(text))
    try:
        for count, row in enumerate(reader, start=1):
            if count > max_rows + 1:
                raise FileProblem(
                    [Problem(file, count, None, _("Too many rows (at most %(n)d).", n=max_rows))]
                )
            yield [_unescape_formula(cell.strip()) for cell in row]
    except csv.Error as exc:
        raise FileProblem(
            [Problem(file, reader.line_num, None, _("Malformed CSV: %(error)s", error=exc))]
        ) from exc


def iter_rows(
    data: bytes, file: str, max_rows: int = 200000, *, raw: bool = False
) -> Iterator[list[Any]]:
    """Every row of a CSV file or of an XLSX file's first sheet, the header included, as the
    texts :func:`cell_text` gives; with ``raw``, XLSX cells keep their own values (a date stays
    a ``datetime``, so that a reader can tell what a spreadsheet turned into a date).

    Nothing is cleaned (see :func:`clean_cell`). Raises :class:`FileProblem` for unreadable
    files and for more than ``max_rows`` rows after the header.
    """
    if is_xlsx(data):
        return _xlsx_rows(data, file, max_rows, raw=raw)
    return _csv_rows(data, file, max_rows)


def clean_cell(value: str) -> str:
    """A cell's text without control characters."""
    return CONTROL_CHARACTERS.sub("", value)


def _unescape_formula(value: str) -> str:
    """Drop the apostrophe that our CSV exports put before a formula character. Only CSV gets
    one: XLSX cells are stored as text, so an apostrophe there is part of what was typed."""
    if value[:1] == "'" and value[1:2] in FORMULA_PREFIXES:
        return value[1:]
    return value


def read_table(data: bytes, file: str, columns: Sequence[Column], max_rows: int = 200000) -> Table:
    """Read a CSV or XLSX file into rows keyed by the columns' keys.

    Raises :class:`FileProblem` naming every missing required column, and for unreadable files.
    Blank rows are skipped; control characters are removed; in CSV, a leading apostrophe that our
    own exports add before a formula character is removed again.
    """
    rows_iter = iter_rows(data, file, max_rows)
    header = next(rows_iter, None)
    if not header or not any(header):
        raise FileProblem([Problem(file, 1, None, _("The file is empty: no header row."))])
    index: dict[str, int] = {}
    written: dict[str, str] = {}
    for position, name in enumerate(header):
        for column in columns:
            if normalise_header(name) in column.names() and column.key not in index:
                index[column.key] = position
                written[column.key] = name
    missing = [c for c in columns if c.required and c.key not in index]
    if missing:
        raise FileProblem(
            [
                Problem(
                    file, 1, c.header, _("Missing column %(name)s.", name=f"{c.header} [{c.key}]")
                )
                for c in missing
            ]
        )
    rows: list[tuple[int, dict[str, str]]] = []
    for line, values in enumerate(rows_iter, start=2):
        if not any(values):
            continue
        record = {}
        for key, position in index.items():
            record[key] = clean_cell(values[position] if position < len(values) else "")
        rows.append((line, record))
    return Table(file=file, rows=rows, headers=written)


# Values ------------------------------------------------------------------------------------

TRUE_WORDS = {"是", "y", "yes", "true", "1", "t", "√", "对"}
FALSE_WORDS = {"否", "n", "no", "false", "0", "f", "×", "x", "错", ""}


def parse_bool(text: str, default: bool | None = None) -> bool:
    """是/否, Y/N, true/false, 1/0. Empty gives ``default`` (an error when there is none)."""
    value = text.strip().lower()
    if value == "" and default is not None:
        return default
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS and value != "":
        return False
    raise ValueError(_("%(value)s is not 是/否 (yes/no).", value=text))


DATE_PATTERN = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T]00:00(?::00)?)?$")


def parse_date(text: str) -> date | None:
    """``2026-03-15``, ``2026/3/15`` (also ``2026.3.15``, ``2026年3月15日``); empty gives None."""
    value = text.strip()
    if not value:
        return None
    match = DATE_PATTERN.match(value)
    if match:
        try:
            return date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            pass
    raise ValueError(_("%(value)s is not a date like 2026-03-15.", value=text))


def format_bool(value: bool | None) -> str:
    return "" if value is None else ("是" if value else "否")


def safe_cell(value: Any) -> Any:
    """Make a text value inert in a spreadsheet: a leading formula character gets an apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def write_csv(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """CSV in UTF-8 with a BOM (so that Excel shows Chinese correctly), formula-safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow(["" if v is None else safe_cell(v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def write_xlsx(
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    title: str = "Sheet1",
    widths: Sequence[float] = (),
) -> bytes:
    """XLSX with a bold, frozen header; text cells are always stored as text, never formulas.
    ``widths`` gives the first columns' widths (in characters). When ``rows`` is a sequence,
    the sheet states its size, which spares read-only readers a pass over the whole sheet."""
    import openpyxl
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(title[:31])
    sheet.freeze_panes = "A2"
    for number, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(number)].width = width
    if isinstance(rows, Sequence):
        columns = max([len(headers), *(len(row) for row in rows)])
        size = f"A1:{get_column_letter(max(1, columns))}{len(rows) + 1}"
        # openpyxl's write-only sheets write a <dimension> only when they can calculate it
        sheet.calculate_dimension = lambda: size
    bold = Font(bold=True)
    header_cells = []
    for name in headers:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)
    for row in rows:
        cells = []
        for value in row:
            if isinstance(value, str):
                value = ILLEGAL_CHARACTERS_RE.sub("", value)  # XML cannot hold them
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # openpyxl would otherwise store "=..." as a formula
            cells.append(cell)
        sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def read_path(path: str | Path) -> tuple[bytes, str]:
    """A file's bytes and the name to use in messages."""
    path = Path(path)
    return path.read_bytes(), path.name
