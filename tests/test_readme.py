"""The README documents what users rely on."""

from pathlib import Path

from lms.config import SETTINGS

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_readme_lists_every_setting():
    """Every LMS_* setting appears in the README's configuration table."""
    missing = [key for key in SETTINGS if f"`{key}`" not in README]
    assert missing == []


def test_readme_quick_start_has_the_two_commands():
    """The Quick start names the demo command and the test command that CI runs."""
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    assert "scripts/demo" in README and "scripts/test" in README and "scripts/test" in ci
