"""native questions (being written)."""

from __future__ import annotations

from lms.questions.formats import Format, ParsedFile


def read(data: bytes, file: str) -> ParsedFile:
    parsed = ParsedFile(file)
    parsed.error(None, "native: reader not written yet")
    return parsed


FORMAT = Format("native", "native", (".native",), lambda data, file: False, read)
