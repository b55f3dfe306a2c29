"""PDFs: a Jinja template, rendered from plain data, to HTML, to WeasyPrint.

The renderer fetches nothing but ``data:`` URIs: no ``file:`` (a template or a value could
otherwise read or attach the server's files), no network (not even the app's own URLs, which
would make a render depend on a request to itself). Stylesheets live in the template's own
``<style>`` (or come parsed: a certificate design's); images come as ``data:`` URIs (see
:func:`data_uri`); fonts come from fontconfig (Noto CJK: ``"Noto Serif CJK SC"``, ``"Noto Sans
CJK SC"``, and :data:`COMMON_CJK_FAMILY`, made by :func:`use_common_cjk_font`), embedded as
subsets. Each thread keeps its WeasyPrint font configuration and the stylesheets it parsed
(:func:`font_configuration`, :func:`parsed_stylesheet`).

Templates come from the app's template loader, so a host may override them, but render in a
separate Jinja environment that always escapes and knows none of Flask's globals (``request``,
``config``, ``url_for``): what a PDF shows is exactly the context it is given.

WeasyPrint is imported inside the functions: importing it costs most of a second, which app
start-up (and every command) should not pay. Render in long-lived processes.
"""

from __future__ import annotations

import atexit
import base64
import ctypes.util
import logging
import os
import shutil
import subprocess
import threading
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


_local = threading.local()


def font_configuration() -> Any:
    """This thread's WeasyPrint font configuration, made once and kept for every PDF after.

    Making one loads fontconfig's configuration and a new Pango font map, and a new map loads
    each font again on first use: several milliseconds a PDF, more with CJK fonts. A font map
    is not safe to share between threads, hence one per thread (a render worker has one). What
    it keeps are the system's fonts and the ``@font-face`` fonts of the templates' own
    stylesheets (which may only be ``data:`` URIs): nothing a value in a PDF can add to.
    """
    config = getattr(_local, "font_config", None)
    if config is None:
        from weasyprint.text.fonts import FontConfiguration

        config = _local.font_config = FontConfiguration()
        if threading.current_thread() is threading.main_thread():
            atexit.register(_forget_font_configuration)
    return config


def _forget_font_configuration() -> None:
    # at exit, while the interpreter is whole: WeasyPrint removes a configuration's folder of
    # @font-face fonts when it is collected, which fails once the modules are torn down
    _local.__dict__.pop("font_config", None)
    _local.__dict__.pop("stylesheets", None)


# The common-characters CJK font --------------------------------------------------------------

#: The family of :func:`use_common_cjk_font`'s font; a stylesheet names it first and the full
#: font after it (``"LMS Noto Serif CJK SC", "Noto Serif CJK SC"``), which draws the rest.
COMMON_CJK_FAMILY = "LMS Noto Serif CJK SC"
#: the font it is cut from (fontconfig's match, the regular face)
COMMON_CJK_SOURCE = "Noto Serif CJK SC:style=Regular"

_common_font_lock = threading.Lock()


def use_common_cjk_font() -> bool:
    """Make :data:`COMMON_CJK_FAMILY` known to this thread's font configuration; False when it
    cannot be (not Linux, no HarfBuzz subsetting, no Noto Serif CJK SC: the full font is used).

    Why: WeasyPrint embeds a subset of each font a PDF uses, and keeps the glyphs' numbers as
    they are, so a subset of Noto Serif CJK (65,000 glyphs) holds every glyph up to the last
    one used, empty, and making it is most of a certificate's rendering time (~45 ms, 150 KB).
    Cut once per process from the full font down to the characters of GB 2312 (its 6,763 hanzi
    hold nearly every name, and every word of the designs) and ASCII, the same subset takes a
    few milliseconds and a few tens of kilobytes. The glyphs are the full font's own. The cut
    font lives in memory (a ``memfd``) as long as the process; nothing is written to disk.
    """
    if getattr(_local, "common_cjk_font", None) is not None:
        return bool(_local.common_cjk_font)
    path = _common_cjk_font_file()
    added = False
    if path is not None:
        try:
            from weasyprint.text.ffi import ffi, fontconfig, pangoft2

            config = font_configuration()
            # what WeasyPrint itself does for an @font-face font
            added = bool(fontconfig.FcConfigAppFontAddFile(config._config, path.encode()))
            if added:
                pangoft2.pango_fc_font_map_config_changed(
                    ffi.cast("PangoFcFontMap *", config.font_map)
                )
        except (ImportError, AttributeError) as exc:  # another WeasyPrint: the full font
            log.warning("PDF rendering: cannot add the common-characters CJK font (%s)", exc)
    _local.common_cjk_font = added
    return added


#: the path of the process's cut font once made (None: it cannot be)
_common_font: list[str | None] = []


def _common_cjk_font_file() -> str | None:
    with _common_font_lock:  # once per process; other threads wait for the first
        if not _common_font:
            _common_font.append(_make_common_cjk_font_file())
        return _common_font[0]


def _make_common_cjk_font_file() -> str | None:
    if not hasattr(os, "memfd_create"):  # not Linux
        return None
    try:
        data = _cut_common_cjk_font()
    except Exception:  # a font or library we did not expect: render with the full font
        log.exception("PDF rendering: cannot make the common-characters CJK font")
        return None
    if data is None:
        return None
    descriptor = os.memfd_create("lms-common-cjk-font")
    with open(descriptor, "wb", closefd=False) as file:
        file.write(data)
    return f"/proc/self/fd/{descriptor}"  # kept open: FreeType reads the font by this path


def _cut_common_cjk_font() -> bytes | None:
    """The source font cut to GB 2312 and ASCII with HarfBuzz (about half a second), renamed
    :data:`COMMON_CJK_FAMILY`; None when there is no source font or HarfBuzz subsetting."""
    source = _font_file(COMMON_CJK_SOURCE, family=COMMON_CJK_SOURCE.split(":")[0])
    harfbuzz_name = ctypes.util.find_library("harfbuzz")
    subset_name = ctypes.util.find_library("harfbuzz-subset")
    if source is None or harfbuzz_name is None or subset_name is None:
        return None
    path, index = source
    hb, hb_subset = ctypes.CDLL(harfbuzz_name), ctypes.CDLL(subset_name)
    pointer = ctypes.c_void_p
    hb.hb_blob_create_from_file_or_fail.restype = pointer
    hb.hb_blob_create_from_file_or_fail.argtypes = [ctypes.c_char_p]
    hb.hb_face_create.restype = pointer
    hb.hb_face_create.argtypes = [pointer, ctypes.c_uint]
    hb.hb_face_reference_blob.restype = pointer
    hb.hb_face_reference_blob.argtypes = [pointer]
    hb.hb_blob_get_data.restype = ctypes.POINTER(ctypes.c_char)
    hb.hb_blob_get_data.argtypes = [pointer, ctypes.POINTER(ctypes.c_uint)]
    hb.hb_set_add.argtypes = [pointer, ctypes.c_uint32]
    for function in (hb.hb_blob_destroy, hb.hb_face_destroy):
        function.argtypes = [pointer]
    hb_subset.hb_subset_input_create_or_fail.restype = pointer
    hb_subset.hb_subset_input_unicode_set.restype = pointer
    hb_subset.hb_subset_input_unicode_set.argtypes = [pointer]
    hb_subset.hb_subset_or_fail.restype = pointer
    hb_subset.hb_subset_or_fail.argtypes = [pointer, pointer]
    hb_subset.hb_subset_input_destroy.argtypes = [pointer]

    blob = hb.hb_blob_create_from_file_or_fail(path.encode())
    if not blob:
        return None
    face = hb.hb_face_create(blob, index)
    plan = hb_subset.hb_subset_input_create_or_fail()
    try:
        characters = hb_subset.hb_subset_input_unicode_set(plan)
        for code in _common_characters():
            hb.hb_set_add(characters, code)
        cut = hb_subset.hb_subset_or_fail(face, plan)
        if not cut:
            return None
        cut_blob = hb.hb_face_reference_blob(cut)
        length = ctypes.c_uint()
        data = ctypes.string_at(hb.hb_blob_get_data(cut_blob, ctypes.byref(length)), length.value)
        hb.hb_blob_destroy(cut_blob)
        hb.hb_face_destroy(cut)
    finally:
        hb_subset.hb_subset_input_destroy(plan)
        hb.hb_face_destroy(face)
        hb.hb_blob_destroy(blob)
    return _renamed(data, COMMON_CJK_FAMILY) if data else None


def _common_characters() -> list[int]:
    """Printable ASCII and every character of GB 2312 (7,445 with its symbols)."""
    codes = list(range(0x20, 0x7F))
    for code in range(0xA0, 0x10000):
        try:
            chr(code).encode("gb2312")
        except UnicodeEncodeError:
            continue
        codes.append(code)
    return codes


def _renamed(font: bytes, family: str) -> bytes:
    """``font`` under the name ``family`` (so that fontconfig tells it from the full font)."""
    from io import BytesIO

    from fontTools.ttLib import TTFont

    opened = TTFont(BytesIO(font), lazy=True)  # only the name table is read and rewritten
    postscript = family.replace(" ", "") + "-Regular"
    for record in opened["name"].names:
        if record.nameID in (1, 4, 16):
            record.string = family
        elif record.nameID in (3, 6):
            record.string = postscript
    output = BytesIO()
    opened.save(output)
    return output.getvalue()


def _font_file(pattern: str, *, family: str) -> tuple[str, int] | None:
    """The file and face index fontconfig picks for ``pattern``, when it is of ``family``."""
    fc_match = shutil.which("fc-match")
    if fc_match is None:
        return None
    try:
        found = subprocess.run(
            [fc_match, "--format=%{family[0]}\\n%{file}\\n%{index}", pattern],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout.split("\n")
    except (OSError, subprocess.SubprocessError):
        return None
    if len(found) < 3 or found[0] != family or not found[2].isdigit():
        return None
    return found[1], int(found[2])


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


class Stylesheet:
    """A stylesheet parsed for WeasyPrint (see :func:`parsed_stylesheet`); ``refused`` lists
    what its parsing turned away (an ``@import`` or a font that is not a ``data:`` URI)."""

    def __init__(self, css: Any, refused: list[str]) -> None:
        self.css = css
        self.refused = refused


#: stylesheets parsed per thread, at most this many (a few designs' worth)
STYLESHEETS_KEPT = 16


def parsed_stylesheet(text: str) -> Stylesheet:
    """``text`` parsed once per thread and kept (parsing even a short stylesheet costs several
    milliseconds a PDF): with this thread's font configuration, which its ``@font-face`` rules
    join, and a fetcher that loads ``data:`` URIs only. For stylesheets that are the app's own
    files (a certificate design's), never for text from users."""
    kept: dict[str, Stylesheet] | None = getattr(_local, "stylesheets", None)
    if kept is None:
        kept = _local.stylesheets = {}
    sheet = kept.get(text)
    if sheet is None:
        from weasyprint import CSS

        fetcher = make_url_fetcher()
        css = CSS(string=text, base_url=None, url_fetcher=fetcher, font_config=font_configuration())
        if len(kept) >= STYLESHEETS_KEPT:
            kept.clear()
        sheet = kept[text] = Stylesheet(css, list(fetcher.refused))
    return sheet


def html_to_pdf(
    html: str, *, url_fetcher: Any = None, stylesheets: tuple[Stylesheet, ...] = ()
) -> bytes:
    """A PDF of ``html``; it may load ``data:`` URIs and nothing else (relative URLs have no
    base to resolve against). ``url_fetcher`` defaults to :func:`make_url_fetcher`;
    ``stylesheets`` (:func:`parsed_stylesheet`) apply after the browser's defaults and before
    the document's own ``<style>``."""
    from weasyprint import HTML

    document = HTML(string=html, base_url=None, url_fetcher=url_fetcher or make_url_fetcher())
    return document.write_pdf(
        stylesheets=[sheet.css for sheet in stylesheets], font_config=font_configuration()
    )


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
