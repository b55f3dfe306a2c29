"""Certificate designs: one folder per design under ``certificates/`` (shipped beside the
package), each with ``design.yaml`` (title, kind, serial code, validity), ``template.html`` (a
Jinja template) and ``style.css``; and rendering a certificate of a design to PDF.

A design's template renders in a sandboxed, always-escaping Jinja environment with nothing but
the plain data it is given, so a value such as a holder's name can never become markup; the
stylesheet is the design's own file, applied by the renderer. The PDF may load nothing but
``data:`` URIs (the QR code and the design's own images come as such): no files, no network
(:mod:`lms.pdf`).

Rendering runs in long-lived worker processes (:mod:`lms.certificates.rendering`), so what
does not change from one certificate to the next is prepared once per process and kept: the
compiled template and the parsed stylesheet (by their text, so an edited design is prepared
afresh), WeasyPrint's font configuration (:func:`lms.pdf.font_configuration`) and the CJK font
cut to common characters that the designs name first (:func:`lms.pdf.use_common_cjk_font`).
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Template
from jinja2.sandbox import SandboxedEnvironment

from lms.pdf import (
    data_uri,
    html_to_pdf,
    make_url_fetcher,
    parsed_stylesheet,
    use_common_cjk_font,
)

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
CODE = re.compile(r"^[A-Z0-9]{1,12}$")
FILES = ("design.yaml", "template.html", "style.css")


class DesignError(ValueError):
    """A design folder that cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class Design:
    name: str
    title: str
    title_en: str
    #: what the certificate counts as (``qualification``, ``onboarding``...)
    kind: str
    #: the design's part of the serial (``SG`` in ``LCGD-2026-SG-000123``)
    code: str
    #: validity from the issue date when the course names none (0: never expires)
    validity_months: int
    folder: Path
    template: str
    stylesheet: str

    def asset(self, filename: str) -> str:
        """One of the design's own files (an image, a seal) as a ``data:`` URI for the template;
        only plain file names inside the design's folder."""
        path = self.folder / filename
        if "/" in filename or "\\" in filename or filename.startswith(".") or not path.is_file():
            raise DesignError(f"{self.name}: no file {filename!r} in the design's folder")
        kind = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        return data_uri(path.read_bytes(), kind)


def load_design(folder: Path) -> Design:
    """The design in ``folder``; :class:`DesignError` names what is wrong."""
    name = folder.name
    if not NAME.match(name):
        raise DesignError(f"{name}: a design's folder name is lowercase letters, digits, - or _")
    for filename in FILES:
        if not (folder / filename).is_file():
            raise DesignError(f"{name}/{filename}: missing")
    try:
        data = yaml.safe_load((folder / "design.yaml").read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise DesignError(f"{name}/design.yaml: not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise DesignError(f"{name}/design.yaml: a mapping of fields is expected")
    unknown = set(data) - {"title", "title_en", "kind", "code", "validity_months"}
    if unknown:
        raise DesignError(f"{name}/design.yaml: unknown field {sorted(unknown)[0]}")

    def text(field: str, *, required: bool = True) -> str:
        value = data.get(field, "")
        if not isinstance(value, str) or (required and not value.strip()):
            raise DesignError(f"{name}/design.yaml: {field} must be a text")
        return value.strip()

    code = text("code")
    if not CODE.match(code):
        raise DesignError(f"{name}/design.yaml: code is 1 to 12 capital letters or digits")
    months = data.get("validity_months", 0)
    if not isinstance(months, int) or isinstance(months, bool) or not 0 <= months <= 1200:
        raise DesignError(f"{name}/design.yaml: validity_months is a whole number of months")
    return Design(
        name=name,
        title=text("title"),
        title_en=text("title_en", required=False),
        kind=text("kind"),
        code=code,
        validity_months=months,
        folder=folder,
        template=(folder / "template.html").read_text(encoding="utf-8"),
        stylesheet=(folder / "style.css").read_text(encoding="utf-8"),
    )


def load_designs(directory: Path) -> dict[str, Design]:
    """Every design under ``directory`` (one folder each), by name."""
    if not directory.is_dir():
        return {}
    designs = [load_design(folder) for folder in sorted(directory.iterdir()) if folder.is_dir()]
    return {design.name: design for design in designs}


@lru_cache(maxsize=1)
def shipped_designs() -> dict[str, Design]:
    """The designs shipped in ``certificates/`` (read once per process)."""
    from lms.migrate import shipped_dir

    return load_designs(shipped_dir("certificates"))


@lru_cache(maxsize=1)
def _environment() -> SandboxedEnvironment:
    return SandboxedEnvironment(autoescape=True)


@lru_cache(maxsize=32)
def _compiled(source: str) -> Template:
    # compiling costs milliseconds, rendering a compiled template a tenth of one
    return _environment().from_string(source)


def render_html(design: Design, context: Mapping[str, Any]) -> str:
    """The design's HTML for ``context`` (plain data: strings, numbers, dates). The stylesheet
    is not in it: :func:`render_pdf` applies it. Without a ``qr``, the QR code is made here
    from ``verify_url`` (in the render worker: it costs several milliseconds of Python)."""
    values = {
        **context,
        "design": {"name": design.name, "title": design.title, "title_en": design.title_en},
        "asset": design.asset,
    }
    if not values.get("qr") and values.get("verify_url"):
        values["qr"] = qr_data_uri(str(values["verify_url"]))
    return _compiled(design.template).render(values)


def qr_data_uri(url: str) -> str:
    """The verification URL as a QR code: an SVG ``data:`` URI (segno), medium error correction."""
    import segno

    svg = segno.make(url, error="m", micro=False).svg_inline(scale=4, border=2, omitsize=True)
    return data_uri(svg.encode("utf-8"), "image/svg+xml")


def render_pdf(design: Design, context: Mapping[str, Any]) -> tuple[bytes, list[str]]:
    """The certificate's PDF, and the URLs the renderer refused to load (none, normally)."""
    use_common_cjk_font()  # the designs' first family (once per thread)
    stylesheet = parsed_stylesheet(design.stylesheet)
    fetcher = make_url_fetcher()
    pdf = html_to_pdf(render_html(design, context), url_fetcher=fetcher, stylesheets=(stylesheet,))
    return pdf, [*stylesheet.refused, *fetcher.refused]
