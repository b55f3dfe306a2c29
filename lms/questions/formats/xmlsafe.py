"""XML parsed safely for the question formats: defusedxml (no entity expansion, no external
entities), a depth limit, encodings that expat lacks re-encoded first, and each element's line.
"""

from __future__ import annotations

import re
from typing import Any
from xml.etree.ElementTree import Element, ParseError, TreeBuilder

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from lms.i18n import gettext as _
from lms.questions.formats import ParsedFile

#: Moodle's question type for each type written (fill_in: shortanswer, or cloze for several
#: blanks).

MAX_DEPTH = 200
_ENCODING = re.compile(rb"""(\s*<\?xml[^>]*?encoding\s*=\s*["'])([A-Za-z0-9._-]+)""")
_EXPAT_ENCODINGS = {b"utf-8", b"utf8", b"utf-16", b"us-ascii", b"ascii", b"iso-8859-1", b"latin-1"}


class _TooDeep(Exception):
    pass


class _LineTarget:
    """A tree builder that remembers the line each element starts on."""

    def __init__(self) -> None:
        self.builder = TreeBuilder()
        self.lines: dict[Element, int] = {}
        self.depth = 0
        self.expat: Any = None

    def start(self, tag: str, attrs: dict[str, str]) -> Element:
        self.depth += 1
        if self.depth > MAX_DEPTH:  # the walkers recurse: refuse absurd nesting up front
            raise _TooDeep
        element = self.builder.start(tag, attrs)
        self.lines[element] = self.expat.CurrentLineNumber
        return element

    def end(self, tag: str) -> Element:
        self.depth -= 1
        return self.builder.end(tag)

    def data(self, text: str) -> None:
        self.builder.data(text)

    def close(self) -> Element:
        return self.builder.close()


def parse_xml(data: bytes, parsed: ParsedFile) -> tuple[Element, dict[Element, int]] | None:
    """The root element and every element's line; None (and one error) when the file is not
    well-formed, declares entities or refers to outside files."""
    declared = _ENCODING.match(data)
    if declared and declared.group(2).lower().replace(b"_", b"-") not in _EXPAT_ENCODINGS:
        # expat reads no multi-byte encoding but UTF-8/16: GBK files are re-encoded first.
        try:
            text = data.decode(declared.group(2).decode("ascii"))
        except (LookupError, UnicodeDecodeError):
            parsed.error(1, _("The file is not in the encoding it declares."))
            return None
        data = declared.group(1) + b"UTF-8" + text.encode()[declared.end(2) :]
    target = _LineTarget()
    parser = DefusedXMLParser(target=target)
    target.expat = parser.parser
    try:
        parser.feed(data)
        return parser.close(), target.lines
    except DefusedXmlException:
        parsed.error(
            target.expat.CurrentLineNumber,
            _("The XML declares entities or refers to outside files: refused for safety."),
        )
    except _TooDeep:
        parsed.error(target.expat.CurrentLineNumber, _("The XML is nested too deeply."))
    except ParseError as exc:
        parsed.error(exc.position[0], _("The file is not well-formed XML: %(reason)s.", reason=exc))
    except (ValueError, LookupError) as exc:  # e.g. an encoding expat cannot read
        parsed.error(None, _("The file is not well-formed XML: %(reason)s.", reason=exc))
    return None


def local_name(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""
