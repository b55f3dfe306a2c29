"""IMS QTI 2.1 and 3.0 items: choice and text-entry interactions (read only).

One ``assessmentItem`` (QTI 2.1) or ``qti-assessment-item`` (QTI 3.0) per file. QTI 3.0's
kebab-case names (``qti-choice-interaction``, ``response-identifier``...) are read as their
QTI 2.1 camelCase twins, so both versions of an item give the same question.

- ``choiceInteraction``: single_choice when its response's cardinality is ``single`` (or, with
  no declaration, ``maxChoices`` is 1), else multiple_choice. With a ``mapping`` (the
  ``map_response`` template) each option's fraction is its ``mappedValue`` (an option not in
  the mapping: ``defaultValue``) divided by the maximum score: ``upperBound`` when given, else
  the best sum of positive values; negative values stay negative (penalties). Without one
  (``match_correct``) the options of ``correctResponse`` share the points equally.
- ``textEntryInteraction``: fill_in, one blank per interaction, marked ``___`` in the stem; the
  accepted answers are the mapping's keys (fractions as above) or the correct response (matched
  exactly); case-insensitive only when every answer is a map entry with
  ``caseSensitive="false"`` (QTI's default is true).
- ``extendedTextInteraction``: short_answer (graded by a person).
- The item body, less the interaction (its ``prompt`` kept in its place), is the stem: sanitised
  HTML with white space folded as a browser would. Images must be inside the file: a ``src``
  pointing elsewhere (a package's ``images/sign.png``) is dropped with a warning, the ``alt``
  text kept. ``identifier`` -> external_id, ``title`` -> name; points: the item's best score
  (a mapping's maximum, else 1; summed over text entries).
- Any other interaction, several choice interactions, or choice mixed with text entry: an error
  naming the interaction. Custom response processing (rules, no template) is read as the
  templates would read it, with a warning.
"""

from __future__ import annotations

import copy
import math
import re
from xml.etree.ElementTree import Element, tostring

from lms.i18n import gettext as _
from lms.questions import data as d
from lms.questions.data import Choice, QuestionData
from lms.questions.formats import Format, ParsedFile
from lms.questions.formats.xmlsafe import local_name, parse_xml
from lms.questions.html import sanitise

ROOTS = ("assessmentItem", "qti-assessment-item")
INTERACTIONS = {"choiceInteraction", "textEntryInteraction", "extendedTextInteraction"}
#: QTI elements that are not part of what a candidate reads before answering.
HIDDEN = {
    "feedbackInline",
    "feedbackBlock",
    "modalFeedback",
    "rubricBlock",
    "templateInline",
    "templateBlock",
    "printedVariable",
}
_SNIFF = re.compile(rb"<(?:[\w.-]+:)?(?:assessmentItem|qti-assessment-item)[\s>/]")
_CLUTTER = re.compile(rb"<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>", re.S)


def camel(name: str) -> str:
    """QTI 3.0's ``qti-choice-interaction`` / ``max-choices`` as QTI 2.1's names."""
    name = local_name(name)
    if name.startswith("qti-"):
        name = name[4:]
    head, *rest = name.split("-")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _normalise(root: Element) -> None:
    """Every QTI element and attribute under its QTI 2.1 name, namespaces dropped."""
    for element in root.iter():
        element.tag = camel(element.tag) if isinstance(element.tag, str) else element.tag
        element.attrib = {camel(k): v for k, v in element.attrib.items()}


def _number(text: str | None, default: float = 0.0) -> float:
    try:
        value = float((text or "").strip())
    except ValueError:
        return default
    return value if math.isfinite(value) else default


class _Declaration:
    """A ``responseDeclaration``: cardinality, correct values and mapping."""

    def __init__(self, element: Element) -> None:
        self.cardinality = element.get("cardinality", "")
        self.correct = [(v.text or "").strip() for v in element.findall("correctResponse/value")]
        mapping = element.find("mapping")
        self.mapped = mapping is not None
        self.default = _number(mapping.get("defaultValue") if self.mapped else None)
        self.upper = mapping.get("upperBound") if mapping is not None else None
        self.entries: list[tuple[str, float, bool]] = [
            (
                e.get("mapKey", ""),
                _number(e.get("mappedValue")),
                e.get("caseSensitive", "true").strip().lower() != "false",
            )
            for e in (mapping.findall("mapEntry") if mapping is not None else [])
        ]

    def maximum(self, keys: list[str]) -> float:
        """The best score: ``upperBound``, else the best response's (one key, or every
        positive one for a multiple response)."""
        values = [self.value(k) for k in keys]
        if self.upper is not None and _number(self.upper) > 0:
            return _number(self.upper)
        if self.cardinality == "single":
            return max(values, default=0.0)
        return sum(v for v in values if v > 0)

    def value(self, key: str) -> float:
        return next((v for k, v, _case in self.entries if k == key), self.default)


class _Item:
    def __init__(self, parsed: ParsedFile, root: Element, lines: dict[Element, int]) -> None:
        self.parsed = parsed
        self.root = root
        self.line = lines.get(root)
        self.label = _("Item “%(id)s”", id=root.get("identifier", ""))
        self.declarations = {
            e.get("identifier", ""): _Declaration(e) for e in root.findall("responseDeclaration")
        }

    def fail(self, message: str) -> None:
        self.parsed.error(self.line, f"{self.label}: {message}")

    def warn(self, message: str) -> None:
        self.parsed.warning(self.line, f"{self.label}: {message}")

    def read(self) -> QuestionData | None:
        body = self.root.find("itemBody")
        if body is None:
            self.fail(_("the item has no itemBody."))
            return None
        for parent in list(body.iter()):  # feedback and templates are not the question
            for index, child in reversed(list(enumerate(parent))):
                if child.tag in HIDDEN:
                    _replace(parent, index, None)
        found = [e for e in body.iter() if e.tag.endswith("Interaction")]
        unknown = sorted({e.tag for e in found if e.tag not in INTERACTIONS})
        kinds = {e.tag for e in found}
        if unknown:
            self.fail(_("the interaction %(name)s cannot be imported.", name=", ".join(unknown)))
            return None
        if not found or len(kinds) > 1 or (kinds != {"textEntryInteraction"} and len(found) > 1):
            self.fail(
                _(
                    "an item must hold one choice or extended-text interaction, or text "
                    "entries only."
                )
            )
            return None
        processing = self.root.find("responseProcessing")
        if processing is not None and not processing.get("template") and len(processing):
            self.warn(_("its own response processing is read as the standard templates."))
        question = QuestionData(
            type="",
            stem="",
            name=self.root.get("title", "").strip(),
            external_id=self.root.get("identifier", "").strip(),
            line=self.line,
        )
        if "choiceInteraction" in kinds:
            self.choice(question, found[0])
        elif "textEntryInteraction" in kinds:
            self.text_entry(question, found)
        else:
            question.type = d.SHORT_ANSWER
        question.stem = self.stem(body)
        return question

    def declaration(self, interaction: Element) -> _Declaration | None:
        declaration = self.declarations.get(interaction.get("responseIdentifier", ""))
        if declaration is None:
            self.fail(_("the interaction's response is not declared."))
        return declaration

    def choice(self, question: QuestionData, interaction: Element) -> None:
        declaration = self.declaration(interaction)
        options = [(c.get("identifier", ""), c) for c in interaction.findall("simpleChoice")]
        single = (
            declaration.cardinality == "single"
            if declaration and declaration.cardinality
            else interaction.get("maxChoices", "1") == "1"
        )
        question.type = d.SINGLE_CHOICE if single else d.MULTIPLE_CHOICE
        fractions, question.points = self.fractions(declaration, [key for key, _c in options])
        question.choices = [
            Choice(self.html(content), fractions.get(key, 0.0)) for key, content in options
        ]

    def fractions(
        self, declaration: _Declaration | None, keys: list[str]
    ) -> tuple[dict[str, float], float]:
        """Each response key's fraction, and the best score: mapped values over the maximum,
        else the correct response's keys sharing one point."""
        if declaration is None:
            return {}, 1.0
        if declaration.mapped:
            best = declaration.maximum(keys)
            if best > 0:
                return {k: max(-1.0, min(1.0, declaration.value(k) / best)) for k in keys}, best
        right = [k for k in keys if k in declaration.correct]
        return {k: 1.0 / len(right) for k in right}, 1.0

    def text_entry(self, question: QuestionData, interactions: list[Element]) -> None:
        question.type = d.FILL_IN
        senses, points = [], 0.0
        for interaction in interactions:
            declaration = self.declaration(interaction)
            if declaration is None:
                return
            keys = [k for k, _v, _case in declaration.entries] or declaration.correct
            fractions, best = self.fractions(declaration, list(dict.fromkeys(keys)))
            question.blanks.append([Choice(k, f) for k, f in fractions.items()])
            senses += [case for _k, _v, case in declaration.entries] or [True]
            points += best
        question.case_sensitive = any(senses)
        question.points = points  # the item's best score (its blanks share it equally here)

    def stem(self, body: Element) -> str:
        """The item body as sanitised HTML: interactions replaced by their prompt or ``___``."""
        body = copy.deepcopy(body)
        for parent in list(body.iter()):
            for index, child in reversed(list(enumerate(parent))):
                if child.tag == "textEntryInteraction":
                    _replace(parent, index, None, "___")
                elif child.tag in INTERACTIONS:
                    prompt = child.find("prompt")
                    if prompt is not None:
                        prompt.tag = "p"
                    _replace(parent, index, prompt)
                elif child.tag == "img" and not child.get("src", "").startswith("data:image/"):
                    self.warn(
                        _(
                            "the image “%(src)s” is not in the file: only its text is kept.",
                            src=child.get("src", ""),
                        )
                    )
                    child.attrib.pop("src", None)
        return self.html(body)

    def html(self, element: Element) -> str:
        """The content of ``element`` as sanitised HTML, white space folded."""
        # tostring() writes each child's tail too: together they are the whole content.
        text = "".join([element.text or ""] + [tostring(c, "unicode", "html") for c in element])
        if "<pre" not in text:
            text = re.sub(r"\s+", " ", text)
        return sanitise(text)


def _replace(parent: Element, index: int, new: Element | None, text: str = "") -> None:
    """Put ``new`` (or just ``text``) in place of ``parent[index]``, keeping the text after it."""
    old = parent[index]
    tail = text + (old.tail or "")
    if new is not None:
        new.tail = tail
        parent[index] = new
        return
    del parent[index]
    if index > 0:
        parent[index - 1].tail = (parent[index - 1].tail or "") + tail
    else:
        parent.text = (parent.text or "") + tail


def read(data: bytes, file: str) -> ParsedFile:
    parsed = ParsedFile(file)
    result = parse_xml(data, parsed)
    if result is None:
        return parsed
    root, lines = result
    if local_name(root.tag) not in ROOTS:
        parsed.error(
            lines.get(root),
            _(
                "Not a QTI item: its root element is <%(tag)s>, not <assessmentItem> or "
                "<qti-assessment-item>.",
                tag=local_name(root.tag),
            ),
        )
        return parsed
    _normalise(root)
    question = _Item(parsed, root, lines).read()
    if question is not None and not parsed.errors:
        parsed.questions.append(question)
    return parsed


def sniff(data: bytes, file: str) -> bool:
    """XML whose root element is a QTI 2.x or 3.0 assessment item."""
    head = _CLUTTER.sub(b"", data[:8192].lstrip(b"\xef\xbb\xbf \t\r\n")).lstrip()
    return _SNIFF.match(head) is not None


#: What a file of this format can say about a question; re-importing one keeps the rest.
CARRIES = frozenset(
    {"type", "stem", "name", "choices", "blanks", "case_sensitive", "points", "external_id"}
)

FORMAT = Format("qti", "IMS QTI item", (".xml", ".qti"), sniff, read)
