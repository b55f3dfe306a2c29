"""Certificate designs: the shipped ones load, a broken one is named; a certificate renders as a
Chinese PDF with its text extractable and the CJK font embedded as a subset; hostile values
render as plain text and load, attach and fetch nothing."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from lms.certificates.designs import (
    DesignError,
    load_design,
    qr_data_uri,
    render_pdf,
    shipped_designs,
)
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
    assert len(pdf) < 250_000


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
