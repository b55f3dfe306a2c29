"""PDFs: a Jinja template, rendered from plain data, to HTML, to WeasyPrint.

The renderer fetches nothing but ``data:`` URIs: no ``file:`` (a template or a value could
otherwise read or attach the server's files), no network (not even the app's own URLs, which
would make a render depend on a request to itself). Stylesheets live in the template's own
``<style>``; images come as ``data:`` URIs (see :func:`data_uri`); fonts come from fontconfig
(Noto CJK: ``"Noto Serif CJK SC"``, ``"Noto Sans CJK SC"``), embedded as subsets.

Templates come from the app's template loader, so a host may override them, but render in a
separate Jinja environment that always escapes and knows none of Flask's globals (``request``,
``config``, ``url_for``): what a PDF shows is exactly the context it is given.

WeasyPrint is imported inside the functions: importing it costs most of a second, which app
start-up (and every command) should not pay. Render in long-lived processes.
"""

from __future__ import annotations

import base64
import ctypes.util
import logging
import shutil
import subprocess
import weakref
from collections.abc import Mapping
from functools import lru_cache
from importlib.util import find_spec
from typing import Any

import jinja2
from flask import current_app

log = logging.getLogger(__name__)

#: The CJK fonts the PDF templates name, in order of preference.
CJK_FONTS = ("Noto Serif CJK SC", "Noto Sans CJK SC")

_environments: weakref.WeakKeyDictionary[Any, jinja2.Environment] = weakref.WeakKeyDictionary()


class FetchRefused(ValueError):
    """A PDF tried to load something other than a ``data:`` URI."""


@lru_cache(maxsize=1)
def _fetcher_class() -> type:
    from weasyprint.urls import URLFetcher

    class DataOnlyFetcher(URLFetcher):
        """WeasyPrint's fetcher, for ``data:`` URIs only; every other URL raises
        :class:`FetchRefused` (WeasyPrint then leaves the resource out and goes on).
        ``refused`` lists what was turned away."""

        def __init__(self) -> None:
            super().__init__(allowed_protocols=("data",), allow_redirects=False)
            self.refused: list[str] = []

        def fetch(self, url: str, headers: Any = None) -> Any:
            if url[:5].lower() != "data:":
                self.refused.append(url)
                log.warning("PDF rendering: refused to fetch %s", url[:200])
                raise FetchRefused(f"only data: URIs may be loaded, not {url[:200]}")
            return super().fetch(url, headers)

    return DataOnlyFetcher


def make_url_fetcher() -> Any:
    """A new URL fetcher that loads ``data:`` URIs and refuses everything else."""
    return _fetcher_class()()


def data_uri(data: bytes, mimetype: str) -> str:
    """``data:`` URI for an image or file that a PDF should show (the only kind it may load)."""
    return f"data:{mimetype};base64,{base64.b64encode(data).decode('ascii')}"


def _pdf_environment(app: Any) -> jinja2.Environment:
    """A Jinja environment on the app's template loader: always escaping, no Flask globals."""
    environment = _environments.get(app)
    if environment is None:
        environment = jinja2.Environment(
            loader=app.jinja_env.loader,
            autoescape=True,
            auto_reload=app.jinja_env.auto_reload,
        )
        _environments[app] = environment
    return environment


def render_html(template_name: str, context: Mapping[str, Any]) -> str:
    """The HTML of ``template_name`` (looked up like any template of the app) for ``context``,
    which should hold plain data only (strings, numbers, dates, lists and dicts of them)."""
    template = _pdf_environment(current_app._get_current_object()).get_template(template_name)
    return template.render(dict(context))


def html_to_pdf(html: str, *, url_fetcher: Any = None) -> bytes:
    """A PDF of ``html``; it may load ``data:`` URIs and nothing else (relative URLs have no
    base to resolve against). ``url_fetcher`` defaults to :func:`make_url_fetcher`."""
    from weasyprint import HTML

    document = HTML(string=html, base_url=None, url_fetcher=url_fetcher or make_url_fetcher())
    return document.write_pdf()


def render_pdf(template_name: str, context: Mapping[str, Any]) -> bytes:
    """A PDF of the template ``template_name`` rendered with the plain-data ``context``."""
    return html_to_pdf(render_html(template_name, context))


# Start-up check -----------------------------------------------------------------------------


def pdf_environment_problems() -> list[str]:
    """What is missing on this machine for fast, correct Chinese PDFs, as sentences for a log
    (empty when nothing is): WeasyPrint, Pango, a Noto CJK font, HarfBuzz's subsetting
    library. Cheap enough for app start-up (it imports nothing heavy; the answer is cached)."""
    return list(_problems())


@lru_cache(maxsize=1)
def _problems() -> tuple[str, ...]:
    problems = []
    if find_spec("weasyprint") is None:
        problems.append("WeasyPrint is not installed: PDFs cannot be rendered (pip install lms).")
    if ctypes.util.find_library("pango-1.0") is None:
        problems.append(
            "Pango is missing: PDFs cannot be rendered "
            "(Debian: apt-get install libpango-1.0-0 libpangoft2-1.0-0)."
        )
    font_problem = _cjk_font_problem()
    if font_problem:
        problems.append(font_problem)
    if ctypes.util.find_library("harfbuzz-subset") is None:
        problems.append(
            "HarfBuzz's subsetting library is missing: each Chinese PDF takes seconds instead of "
            "a tenth of one (Debian: apt-get install libharfbuzz-subset0)."
        )
    return tuple(problems)


def _cjk_font_problem() -> str | None:
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return (
            "fontconfig's fc-list is missing, so the Chinese font cannot be checked "
            "(Debian: apt-get install fontconfig fonts-noto-cjk)."
        )
    try:
        listed = subprocess.run(
            [fc_list, ":lang=zh-cn", "family"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        return f"fc-list failed ({exc}), so the Chinese font cannot be checked."
    families = {name.strip() for line in listed.splitlines() for name in line.split(",")}
    if not families & set(CJK_FONTS):
        return (
            f"No Noto CJK font ({' or '.join(CJK_FONTS)}) is installed: Chinese text in PDFs "
            "would fall back to another font or show as empty boxes "
            "(Debian: apt-get install fonts-noto-cjk)."
        )
    return None
