"""Spreadsheet questions (being written)."""

from __future__ import annotations

from lms.questions.formats import Format, ParsedFile


def read(data: bytes, file: str) -> ParsedFile:
    parsed = ParsedFile(file)
    parsed.error(None, "sheet: reader not written yet")
    return parsed


XLSX = Format("xlsx", "XLSX", (".xlsx",), lambda data, file: False, read)
CSV = Format("csv", "CSV", (".csv",), lambda data, file: False, read)
