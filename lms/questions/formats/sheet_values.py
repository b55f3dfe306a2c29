"""Cell values of question spreadsheets: texts and HTML, answer notations, lists, numbers.

Shared by the spreadsheet reader and the template writer so that what one writes the other
reads back. A backslash escapes a separator inside an item (``\\|``, ``\\;``, ``\\=``,
``\\、``...): the writer adds it only where a text holds a separator, and a backslash before
any other character is just a backslash.
"""

from __future__ import annotations

import math
import re
import unicodedata

from lms.questions.data import Choice, NumericAnswer
from lms.questions.html import html_to_text, is_plain, plain_to_html, sanitise

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#: A cell holding a tag or an entity is HTML; anything else is plain text.
LOOKS_HTML = re.compile(
    r"</?[a-zA-Z][a-zA-Z0-9]*(?:\s[^<>]*)?/?>|&(?:[a-zA-Z][a-zA-Z0-9]*|#[0-9]+|#x[0-9a-fA-F]+);"
)
TRUE_WORDS = {
    "正确",
    "对",
    "是",
    "√",
    "✓",
    "✔",
    "t",
    "true",
    "y",
    "yes",
    "1",
    "对的",
    "correct",
    "right",
}
FALSE_WORDS = {
    "错误",
    "错",
    "否",
    "×",
    "✗",
    "✘",
    "x",
    "f",
    "false",
    "n",
    "no",
    "0",
    "错的",
    "wrong",
}
DIFFICULTY_WORDS = {
    "容易": 1, "易": 1, "简单": 1, "很容易": 1, "easy": 1,
    "较易": 2, "较容易": 2, "较简单": 2, "初级": 2,
    "中": 3, "中等": 3, "一般": 3, "适中": 3, "普通": 3, "中级": 3, "medium": 3, "normal": 3,
    "较难": 4, "高级": 4,
    "难": 5, "困难": 5, "很难": 5, "hard": 5, "difficult": 5,
}  # fmt: skip
#: Texts that a spreadsheet program makes of what was typed: dates, times, 1月2日, 2-Jan.
DATE_LIKE = re.compile(
    r"^(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?|\d{1,2}:\d{2}(?::\d{2})?"
    r"|\d{1,2}月\d{1,2}日|\d{1,2}-(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)"
    r"|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)-\d{1,4})$",
    re.IGNORECASE,
)
LIST_SEPARATORS = "、,，;；|\n"
BLANK_SEPARATORS = "|｜"
ANSWER_SEPARATORS = ";；"
NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
RANGE = re.compile(rf"^({NUMBER})\s*(?:\.\.|~|～|至|到)\s*({NUMBER})$")
TOLERANCE = re.compile(rf"^({NUMBER})\s*(?:±|\+-|\+/-)\s*({NUMBER})$")
WEIGHTED_LETTER = re.compile(rf"^([A-Z])\s*[=:：]\s*({NUMBER})(%?)$")


def fold(text: str) -> str:
    """Full-width forms to half-width, lower case, no spaces: for matching words."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).lower()


# Texts and HTML ------------------------------------------------------------------------------


def cell_to_html(text: str) -> str:
    """A cell's text as safe HTML: HTML when it holds a tag or an entity, else plain text."""
    return sanitise(text) if LOOKS_HTML.search(text) else plain_to_html(text)


def html_to_cell(html: str) -> str:
    """What to write in a cell so that :func:`cell_to_html` gives ``html`` back."""
    if is_plain(html):
        text = html_to_text(html)
        if not LOOKS_HTML.search(text):
            return text
    return html


# Separated items, with backslash escapes -----------------------------------------------------


def split(text: str, separators: str) -> list[str]:
    """``text`` cut at every separator not escaped by a backslash (escapes are kept)."""
    items, current, escaped = [], [], False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            current.append(char)
            escaped = True
        elif char in separators:
            items.append("".join(current))
            current = []
        else:
            current.append(char)
    items.append("".join(current))
    return items


SPECIAL = set(LIST_SEPARATORS + BLANK_SEPARATORS + ANSWER_SEPARATORS + "=＝\\")


def unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: m[1] if m[1] in SPECIAL else m[0], text, flags=re.S)


def escape(text: str, specials: str) -> str:
    """Backslashes before the separators in ``text`` (and before a backslash that precedes a
    special character or ends the text, so that it stays a backslash)."""
    out = []
    for index, char in enumerate(text):
        following = text[index + 1 : index + 2]
        if char in specials or (char == "\\" and (following in SPECIAL or not following)):
            out.append("\\")
        out.append(char)
    return "".join(out)


def read_list(text: str) -> list[str]:
    """Knowledge points, posts, tags: separated by 、 , ; | or line breaks."""
    return [item for item in (unescape(i).strip() for i in split(text, LIST_SEPARATORS)) if item]


def write_list(items: list[str]) -> str:
    return "、".join(escape(item, LIST_SEPARATORS) for item in items)


def last_equals(text: str) -> int:
    """Where the last unescaped ``=`` (or ``＝``) is, or -1."""
    position, escaped = -1, False
    for index, char in enumerate(text):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in "=＝":
            position = index
    return position


def first_equals(text: str) -> int:
    escaped = False
    for index, char in enumerate(text):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in "=＝":
            return index
    return -1


# Numbers -------------------------------------------------------------------------------------


def number(text: str) -> float | None:
    """A finite number, or None."""
    try:
        value = float(unicodedata.normalize("NFKC", text).strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def number_text(value: float) -> str:
    """The shortest text that reads back as exactly ``value``."""
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def weight(text: str) -> tuple[str, float | None]:
    """``text=0.5`` (or ``=50%``): the text and its fraction; no weight gives None."""
    position = last_equals(text)
    if position < 0:
        return text, None
    value_text = text[position + 1 :].strip()
    percent = value_text.endswith("%")
    value = number(value_text.rstrip("%"))
    if value is None:
        return text, None
    value = value / 100 if percent else value
    if not -1 <= value <= 1:
        return text, None
    return text[:position].rstrip(), value


def with_weight(text: str, fraction: float, default: float = 1.0) -> str:
    return text if fraction == default else f"{text}={number_text(fraction)}"


# Answers -------------------------------------------------------------------------------------


def letters(text: str) -> list[int] | None:
    """``ABD``, ``A,B``, ``A;B``, ``A、B``, full-width letters: option indexes, or None."""
    folded = re.sub(r"[\s,;、|/和及]", "", unicodedata.normalize("NFKC", text)).upper()
    if not folded or any(c not in LETTERS for c in folded):
        return None
    return list(dict.fromkeys(LETTERS.index(c) for c in folded))


def weighted_letters(text: str) -> dict[int, float] | None:
    """``A=0.5;B=0.5;C=-1`` (also ``A=50%``): fractions by option index, or None."""
    items = [i for i in re.split(r"[;；,，\s]+", unicodedata.normalize("NFKC", text)) if i]
    fractions: dict[int, float] = {}
    for item in items:
        match = WEIGHTED_LETTER.match(item.upper())
        if not match or (value := number(match[2])) is None:
            return None
        value = value / 100 if match[3] else value
        if not -1 <= value <= 1:
            return None
        fractions[LETTERS.index(match[1])] = value
    return fractions or None


def write_weighted(choices: list[Choice]) -> str:
    return ";".join(
        f"{LETTERS[i]}={number_text(c.fraction)}" for i, c in enumerate(choices) if c.fraction
    )


def truth(text: str) -> bool | None:
    """正确/错误, 对/错, √/×, ✓/✗, 是/否, T/F, true/false...: the truth, or None."""
    word = fold(text).rstrip("。.")
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None


def blanks(text: str) -> list[list[Choice]]:
    """``a|b;c``: blanks cut by ``|``, accepted answers by ``;``, ``=0.5`` a weight."""
    result = []
    for blank in split(text, BLANK_SEPARATORS):
        answers = []
        for item in split(blank, ANSWER_SEPARATORS):
            body, fraction = weight(item.strip())
            if body:
                answers.append(Choice(unescape(body), 1.0 if fraction is None else fraction))
        result.append(answers)
    return result


def write_blanks(blank_list: list[list[Choice]]) -> str:
    specials = BLANK_SEPARATORS + ANSWER_SEPARATORS + "=＝"
    return "|".join(
        ";".join(with_weight(escape(a.text, specials), a.fraction) for a in blank)
        for blank in blank_list
    )


def numbers(text: str) -> list[NumericAnswer] | None:
    """``99.89±0.001``, ``1..5``, ``42``, several by ``;``, each with an optional ``=0.5``."""
    result = []
    for item in split(unicodedata.normalize("NFKC", text), ANSWER_SEPARATORS + BLANK_SEPARATORS):
        body, fraction = weight(item.strip())
        body = body.replace(" ", "")
        answer = NumericAnswer(fraction=1.0 if fraction is None else fraction)
        if match := RANGE.match(body):
            answer.low, answer.high = number(match[1]), number(match[2])
        elif match := TOLERANCE.match(body):
            answer.value, answer.tolerance = number(match[1]), number(match[2]) or 0.0
        else:
            answer.value = number(body)
        if (answer.value is None) == (answer.low is None or answer.high is None):
            return None
        result.append(answer)
    return result


def write_numbers(answers: list[NumericAnswer]) -> str:
    items = []
    for answer in answers:
        if answer.low is not None and answer.high is not None:
            body = f"{number_text(answer.low)}..{number_text(answer.high)}"
        elif answer.tolerance:
            body = f"{number_text(answer.value or 0.0)}±{number_text(answer.tolerance)}"
        else:
            body = number_text(answer.value or 0.0)
        items.append(with_weight(body, answer.fraction))
    return ";".join(items)


def pair(text: str) -> tuple[str, str] | None:
    """``城区=45分钟`` (a distractor: ``=30分钟``): the prompt's HTML and the answer, or None."""
    position = first_equals(text)
    if position < 0:
        return None
    prompt = unescape(text[:position]).strip()
    return (cell_to_html(prompt) if prompt else ""), text[position + 1 :].strip()


def write_pair(prompt: str, answer: str) -> str:
    return escape(html_to_cell(prompt), "=＝") + "=" + answer if prompt else "=" + answer


def difficulty(text: str) -> int | None:
    """1-5, or a word (易, 较易, 中, 较难, 难, 初级...); None for an unknown word."""
    value = number(text)
    if value is not None:
        return int(value) if value.is_integer() else None
    return DIFFICULTY_WORDS.get(fold(text))
