"""Certificate designs: the shipped ones load, a broken one is named; a certificate renders as a
Chinese PDF with its text extractable and one CJK face embedded as a subset (the font cut to
common characters; the full font for the others); a design's stylesheet is parsed once and
loads nothing but data: URIs; hostile values render as plain text and load, attach and fetch
nothing."""

from __future__ import annotations

import dataclasses
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import lms.pdf
from lms.certificates.designs import (
    DesignError,
    load_design,
    qr_data_uri,
    render_html,
    render_pdf,
    shipped_designs,
)
from lms.pdf import parsed_stylesheet, use_common_cjk_font
from tests.conftest import pdf_text, pdf_tool


def context(**values: Any) -> dict[str, Any]:
    base = {
        "bureau": "龙城供电局",
        "holder_name": "欧阳晓燕",
        "emp_no": "LC000004",
        "unit": "湖塘供电所",
        "course_title": "电力安全工作规程",
        "hours": "4",
        "score": "92",
        "issued_on": "2026-11-29",
        "valid_until": "2029-11-28",
        "serial": "LCGD-2026-HG-000123",
        "verify_url": "https://lms.example.cn/verify/abc",
        "qr": qr_data_uri("https://lms.example.cn/verify/abc"),
    }
    return {**base, **values}


def test_the_shipped_designs() -> None:
    designs = shipped_designs()
    assert {"qualification", "onboarding"} <= set(designs)
    assert (
        designs["onboarding"].kind == "onboarding"
        and designs["onboarding"].title == "上岗培训合格证"
    )
    assert designs["qualification"].code == "HG" and designs["onboarding"].code == "SG"


@pytest.mark.parametrize("name", ["qualification", "onboarding"])
def test_a_certificate_pdf_has_its_text_and_an_embedded_cjk_subset(
    name: str, tmp_path: Path
) -> None:
    pdf, refused = render_pdf(shipped_designs()[name], context())
    assert refused == []
    text = pdf_text(pdf, tmp_path)
    for expected in (
        "欧阳晓燕",
        "LC000004",
        "电力安全工作规程",
        "LCGD-2026-HG-000123",
        "2029-11-28",
    ):
        assert expected in text, text
    assert shipped_designs()[name].title in text.replace(" ", "")
    fonts = [line.split() for line in pdf_tool("pdffonts", pdf, tmp_path).splitlines()[2:]]
    assert fonts and all("+" in row[0] and "CJK" in row[0] for row in fonts), fonts
    assert all(row[-5:-3] == ["yes", "yes"] for row in fonts)  # embedded, subset
    # one face of one font: each face embedded is a CJK subset to make and ~70 KB to store
    assert len(fonts) == 1, fonts
    assert len(pdf) < 200_000
    # the design's stylesheet applies (it is not in the HTML): A4 landscape, in points
    info = pdf_tool("pdfinfo", pdf, tmp_path)
    assert re.search(r"Page size:\s+841\.89 x 595\.2", info), info


def test_hostile_values_are_plain_text_and_fetch_nothing(tmp_path: Path) -> None:
    name = (
        '<link rel="attachment" href="file:///etc/passwd">'
        '<img src="http://127.0.0.1:9/x">'
        '<span style="font-size: 99999px">大</span>'
    )
    started = time.monotonic()
    pdf, refused = render_pdf(shipped_designs()["qualification"], context(holder_name=name))
    assert time.monotonic() - started < 20
    assert refused == []  # the markup never became markup, so nothing asked to be loaded
    assert b"/EmbeddedFile" not in pdf and b"/Filespec" not in pdf
    text = "".join(pdf_text(pdf, tmp_path).split())
    assert "file:///etc/passwd" in text and "http://127.0.0.1:9/x" in text
    assert "font-size:99999px" in text


def test_the_stylesheet_is_prepared_once_and_an_edited_one_applies(tmp_path: Path) -> None:
    design = shipped_designs()["qualification"]
    first = parsed_stylesheet(design.stylesheet)
    render_pdf(design, context())
    assert parsed_stylesheet(design.stylesheet) is first  # kept for the next certificate
    portrait = dataclasses.replace(
        design, stylesheet=design.stylesheet.replace("A4 landscape", "A5 portrait")
    )
    pdf, refused = render_pdf(portrait, context())
    assert refused == []
    info = pdf_tool("pdfinfo", pdf, tmp_path)
    assert re.search(r"Page size:\s+419\.5\d* x 595\.2", info), info


def test_a_stylesheet_loads_nothing_but_data_uris(tmp_path: Path) -> None:
    secret = tmp_path / "secret.css"
    secret.write_text("h1 { color: red }", encoding="utf-8")
    design = shipped_designs()["qualification"]
    hostile = dataclasses.replace(
        design,
        stylesheet=(
            f'@import url("{secret.as_uri()}");\n'
            '@font-face { font-family: X; src: url("http://127.0.0.1:9/x.woff") }\n'
            ".frame { background: url(file:///etc/passwd) }\n" + design.stylesheet
        ),
    )
    pdf, refused = render_pdf(hostile, context())
    assert pdf.startswith(b"%PDF")
    assert secret.as_uri() in refused and "http://127.0.0.1:9/x.woff" in refused
    assert "file:///etc/passwd" in refused
    # and refused again, for every certificate: an issue of it is refused each time
    assert render_pdf(hostile, context())[1] == refused


def test_the_qr_code_is_made_from_the_url_when_the_context_has_none() -> None:
    design = shipped_designs()["qualification"]
    without = {key: value for key, value in context().items() if key != "qr"}
    assert qr_data_uri("https://lms.example.cn/verify/abc") in render_html(design, without)
    given = context(qr=qr_data_uri("https://elsewhere.example.cn/x"))
    assert qr_data_uri("https://elsewhere.example.cn/x") in render_html(design, given)


def _in_a_new_thread(function: Any) -> Any:
    """``function()`` in a thread of its own: a fresh font configuration (they are per thread)."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(function).result()


def test_the_common_characters_font_and_the_full_one_for_the_rest(tmp_path: Path) -> None:
    design = shipped_designs()["qualification"]
    assert _in_a_new_thread(use_common_cjk_font)  # Linux, HarfBuzz and Noto: it is made
    pdf, _ = render_pdf(design, context())
    fonts = pdf_tool("pdffonts", pdf, tmp_path)
    assert "+LMS-Noto-Serif-CJK-SC" in fonts and "+Noto-Serif-CJK-SC" not in fonts, fonts
    # 喆 and 赟 are not in GB 2312: the full font draws them, the text stays whole
    rare, _ = render_pdf(design, context(holder_name="王喆赟"))
    assert "王喆赟" in pdf_text(rare, tmp_path)
    fonts = pdf_tool("pdffonts", rare, tmp_path)
    assert "+LMS-Noto-Serif-CJK-SC" in fonts and "+Noto-Serif-CJK-SC" in fonts, fonts
    assert len(rare) < 250_000


def test_without_the_common_characters_font_the_full_one_draws_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lms.pdf, "_common_cjk_font_file", lambda: None)
    design = shipped_designs()["onboarding"]

    def render() -> tuple[bool, bytes]:
        return use_common_cjk_font(), render_pdf(design, context())[0]

    made, pdf = _in_a_new_thread(render)
    assert not made
    assert "欧阳晓燕" in pdf_text(pdf, tmp_path)
    fonts = [line.split() for line in pdf_tool("pdffonts", pdf, tmp_path).splitlines()[2:]]
    assert [row[0].split("+")[1] for row in fonts] == ["Noto-Serif-CJK-SC"], fonts


def test_a_broken_design_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "seal"
    folder.mkdir()
    with pytest.raises(DesignError, match=r"seal/design\.yaml: missing"):
        load_design(folder)
    for filename in ("template.html", "style.css"):
        (folder / filename).write_text("x", encoding="utf-8")
    cases = {
        "title: 证\nkind: q\ncode: sg\n": "code is 1 to 12 capital letters",
        "title: 证\nkind: q\ncode: SG\ncolour: red\n": "unknown field colour",
        "title: 证\nkind: q\ncode: SG\nvalidity_months: -1\n": "validity_months",
        "kind: q\ncode: SG\n": "title must be a text",
        "- a\n": "a mapping of fields",
    }
    for text, message in cases.items():
        (folder / "design.yaml").write_text(text, encoding="utf-8")
        with pytest.raises(DesignError, match=message):
            load_design(folder)


def test_assets_are_the_designs_own_files_only() -> None:
    design = shipped_designs()["qualification"]
    assert design.asset("style.css").startswith("data:text/css;base64,")
    for bad in ("../onboarding/style.css", "/etc/passwd", ".hidden", "missing.png"):
        with pytest.raises(DesignError):
            design.asset(bad)
