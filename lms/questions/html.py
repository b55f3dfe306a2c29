"""Question text as safe HTML: sanitised against an allowlist, Markdown rendered safely.

Readers call :func:`sanitise` (HTML), :func:`markdown_to_html` or :func:`plain_to_html` for every
text they take from a file, so that stored questions never carry script, event handlers or
``javascript:`` links, whatever the file held.
"""

from __future__ import annotations

import html
import re

import nh3
from markdown_it import MarkdownIt

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt", "em", "h2", "h3",
    "h4", "h5", "h6", "hr", "i", "img", "li", "ol", "p", "pre", "s", "span", "strong", "sub", "sup",
    "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "*": {"lang"},
}
#: ``data:`` only for images; no ``javascript:``, no ``file:``.
URL_SCHEMES = {"http", "https", "mailto", "data"}

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


DATA_IMAGE = re.compile(r"^\s*data:image/(png|jpeg|gif|webp);base64,", re.IGNORECASE)


def _only_images_are_data(tag: str, attribute: str, value: str) -> str | None:
    """``data:`` URLs are allowed for embedded images (``img src``) only, and only for raster
    image types: a ``data:text/html`` link or an SVG (which may hold script) is dropped."""
    if value.strip().lower().startswith("data:"):
        return value if tag == "img" and attribute == "src" and DATA_IMAGE.match(value) else None
    return value


def sanitise(text: str) -> str:
    """HTML with only harmless tags and attributes; links get ``rel="noopener noreferrer"``."""
    if not text:
        return ""
    return nh3.clean(
        text,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=_only_images_are_data,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    ).strip()


def markdown_to_html(text: str) -> str:
    """Markdown (raw HTML inside it is shown as text, not run) to sanitised HTML."""
    return sanitise(_markdown.render(text))


def plain_to_html(text: str) -> str:
    """Plain text to HTML: escaped, line breaks kept."""
    return html.escape(text.strip(), quote=False).replace("\r\n", "\n").replace("\n", "<br>")


_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def html_to_text(text: str) -> str:
    """The words of an HTML fragment, for search and for plain-text formats."""
    text = re.sub(r"<br\s*/?>|</p>|</div>|</li>", "\n", text or "", flags=re.I)
    text = html.unescape(_TAG.sub("", text))
    return "\n".join(_SPACE.sub(" ", line).strip() for line in text.splitlines()).strip()


def is_plain(text: str) -> bool:
    """True when ``text`` (HTML) is just escaped text with line breaks: writers may then use a
    format's plain-text form."""
    return plain_to_html(html_to_text(text)) == text
