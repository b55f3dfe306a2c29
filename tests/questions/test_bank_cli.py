"""`lms banks import|export|list`: JSON output, exit codes, dry runs, versions, round trips, and
the shipped banks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from lms.cli import lms_commands
from lms.questions import services
from lms.questions.data import QuestionData
from lms.questions.formats import writable_formats
from lms.questions.models import Question, QuestionBank, QuestionVersion
from tests.questions.bank_samples import (
    BAD_YAML,
    SAMPLE_COUNT,
    SAMPLE_YAML,
    plain_gift,
    row_counts,
)

SHIPPED = Path(__file__).resolve().parents[2] / "question_banks"


@pytest.fixture
def invoke(runner):
    """``invoke(*args)``: run an ``lms`` command against the test app, stderr kept apart."""

    def run(*args: str):
        return runner.invoke(lms_commands, list(args), catch_exceptions=False)

    return run


@pytest.fixture
def sample(tmp_path) -> Path:
    path = tmp_path / "test.yaml"
    path.write_text(SAMPLE_YAML, encoding="utf-8")
    return path


@pytest.fixture
def loaded(invoke, sample):
    """The sample bank imported with --json."""
    result = invoke("banks", "import", str(sample), "--json")
    assert result.exit_code == 0, result.output + result.stderr
    return result


def test_import_json(loaded, db):
    """`lms banks import FILE --json` prints one object and creates the bank the file names."""
    assert loaded.stdout.strip().count("\n") == 0
    data = json.loads(loaded.stdout)
    assert (data["imported"], data["unchanged"], data["errors"], data["warnings"]) == (
        SAMPLE_COUNT,
        0,
        [],
        [],
    )
    assert (data["created"], data["new_versions"], data["banks"]) == (
        SAMPLE_COUNT,
        0,
        ["test-bank"],
    )
    assert data["files"] == ["test.yaml"] and data["dry_run"] is False
    bank = db.scalar(sa.select(QuestionBank))
    assert (bank.code, bank.title, bank.programme) == ("test-bank", "测试题库", "service_standards")
    assert bank.description == "供电服务承诺测试题。"
    assert db.scalar(sa.select(sa.func.count()).select_from(Question)) == SAMPLE_COUNT


def test_import_again_changes_nothing(loaded, invoke, sample, db):
    """Importing the same file again imports 0 and leaves every question unchanged."""
    before = row_counts(db)
    again = invoke("banks", "import", str(sample), "--json")
    data = json.loads(again.stdout)
    assert (again.exit_code, data["imported"], data["unchanged"]) == (0, 0, SAMPLE_COUNT)
    assert row_counts(db) == before  # not even an audit entry


def test_changed_question_becomes_a_new_version(loaded, invoke, tmp_path, db):
    """A changed question gets version 2; version 1 stays as it was."""
    path = tmp_path / "changed.yaml"
    path.write_text(SAMPLE_YAML.replace("城区 45 分钟，农村 90 分钟。", "城区 45 分钟。"), "utf-8")
    result = invoke("banks", "import", str(path), "--json")
    data = json.loads(result.stdout)
    assert (data["imported"], data["new_versions"], data["unchanged"]) == (1, 1, SAMPLE_COUNT - 1)
    db.rollback()
    assert db.scalar(sa.select(sa.func.count()).select_from(Question)) == SAMPLE_COUNT
    question = db.scalar(sa.select(Question).where(Question.key == "id:T-001"))
    assert question.current_number == 2
    old, new = (QuestionData.from_dict(v.data) for v in reversed(services.versions(db, question)))
    assert "农村 90 分钟" in old.explanation and "农村" not in new.explanation
    assert services.versions(db, question)[0].origin == "changed.yaml"


def test_bad_file_names_file_and_line_and_changes_nothing(invoke, tmp_path, db):
    """A bad file: exit 1, errors with file and line, one line on stderr; no rows at all."""
    path = tmp_path / "bad.yaml"
    path.write_text(BAD_YAML, encoding="utf-8")
    before = row_counts(db)
    result = invoke("banks", "import", str(path), "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["imported"] == 0 and data["errors"]
    assert {tuple(e) for e in data["errors"]} == {("file", "line", "column", "message")}
    assert all(e["file"] == "bad.yaml" and e["line"] for e in data["errors"])
    assert any(e["line"] in (8, 12) for e in data["errors"])  # the question, or its answer
    assert len(result.stderr.strip().splitlines()) == 1
    assert row_counts(db) == before


def test_bad_file_errors_on_stderr(invoke, tmp_path):
    """Without --json each problem goes to stderr as file:line: message, nothing on stdout."""
    path = tmp_path / "bad.yaml"
    path.write_text(BAD_YAML, encoding="utf-8")
    result = invoke("banks", "import", str(path))
    assert result.exit_code == 1
    assert "bad.yaml:" in result.stderr and "nothing was imported" in result.stderr
    assert result.stdout == ""


def test_dry_run_changes_nothing(invoke, sample, db):
    """--dry-run reports what would be imported and changes nothing (not even the bank)."""
    before = row_counts(db)
    result = invoke("banks", "import", str(sample), "--dry-run", "--json")
    data = json.loads(result.stdout)
    assert (result.exit_code, data["imported"], data["dry_run"]) == (0, SAMPLE_COUNT, True)
    assert row_counts(db) == before
    text = invoke("banks", "import", str(sample), "--dry-run")
    assert "would import 8" in text.stdout
    assert row_counts(db) == before


def test_files_together_are_all_or_nothing(invoke, sample, tmp_path, db):
    """A good file and a bad one in one command import nothing."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD_YAML.replace("test-bank", "other-bank"), encoding="utf-8")
    before = row_counts(db)
    result = invoke("banks", "import", str(sample), str(bad), "--json")
    assert result.exit_code == 1
    assert {e["file"] for e in json.loads(result.stdout)["errors"]} == {"bad.yaml"}
    assert row_counts(db) == before


def test_file_without_bank_needs_bank_option(invoke, tmp_path, db):
    """A file that names no bank is an error without --bank, and imports with it."""
    path = tmp_path / "plain.gift"
    path.write_text(plain_gift(), encoding="utf-8")
    result = invoke("banks", "import", str(path), "--json")
    assert result.exit_code == 1
    errors = json.loads(result.stdout)["errors"]
    assert [e["file"] for e in errors] == ["plain.gift"]
    assert "--bank" in errors[0]["message"]
    assert row_counts(db)["lms_question_bank"] == 0
    result = invoke("banks", "import", str(path), "--bank", "gift-bank", "--title", "GIFT 题库")
    assert result.exit_code == 0, result.stderr
    db.rollback()
    bank = db.scalar(sa.select(QuestionBank))
    assert (bank.code, bank.title) == ("gift-bank", "GIFT 题库")
    assert db.scalar(sa.select(sa.func.count()).select_from(Question)) == 2


def test_bank_option_overrides_the_files_bank(invoke, sample, db):
    """--bank puts a YAML file's questions into that bank, not the one the file names."""
    result = invoke("banks", "import", str(sample), "--bank", "mine", "--json")
    assert json.loads(result.stdout)["banks"] == ["mine"]
    db.rollback()
    assert db.scalars(sa.select(QuestionBank.code)).all() == ["mine"]


def test_bad_arguments(invoke, sample, tmp_path):
    """A missing file, an unknown format or a bad bank code: one JSON object, exit non-zero."""
    for args, where in (
        ([str(tmp_path / "none.yaml")], "none.yaml"),
        ([str(sample), "--format", "docx"], "--format"),
        ([str(sample), "--bank", "Not A Code"], "--bank"),
    ):
        result = invoke("banks", "import", *args, "--json")
        assert result.exit_code != 0, args
        data = json.loads(result.stdout)
        assert data["imported"] == 0 and data["errors"][0]["file"] == where
        assert len(result.stderr.strip().splitlines()) == 1


def test_format_option(invoke, sample):
    """--format names the format instead of detecting it (yaml is the native format)."""
    result = invoke("banks", "import", str(sample), "--format", "yaml", "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["imported"] == SAMPLE_COUNT


def test_list(loaded, invoke):
    """`lms banks list` shows each bank with its counts; --json as a list."""
    text = invoke("banks", "list")
    assert "test-bank" in text.stdout and "测试题库" in text.stdout
    data = json.loads(invoke("banks", "list", "--json").stdout)
    assert data == [
        {
            "code": "test-bank",
            "title": "测试题库",
            "programme": "service_standards",
            "questions": SAMPLE_COUNT,
            "enabled": SAMPLE_COUNT,
        }
    ]


@pytest.mark.parametrize("name", sorted(writable_formats()))
def test_export_then_import_is_unchanged(name, loaded, invoke, tmp_path, db):
    """A bank exported in a writable format and imported again into it is all unchanged."""
    output = tmp_path / f"out.{name}"
    result = invoke(
        "banks", "export", "test-bank", "--format", name, "-o", str(output), "--skip-unsupported"
    )
    assert result.exit_code == 0, result.stderr
    assert output.stat().st_size > 0
    written = int(result.stdout.split("Wrote ", 1)[1].split()[0])
    before = row_counts(db)
    again = invoke("banks", "import", str(output), "--bank", "test-bank", "--json")
    data = json.loads(again.stdout)
    assert again.exit_code == 0, again.stdout
    assert (data["imported"], data["unchanged"]) == (0, written), data
    assert row_counts(db) == before


def test_export_refuses_types_the_format_cannot_carry(loaded, invoke, tmp_path):
    """Without --skip-unsupported, an export that would leave questions out is refused."""
    from lms.questions.exports import carries
    from lms.questions.types import load_types

    types = load_types()
    for name, fmt in writable_formats().items():
        output = tmp_path / f"refused.{name}"
        missing = [t for t in types if not carries(fmt, t, types)]
        result = invoke("banks", "export", "test-bank", "--format", name, "-o", str(output))
        if missing:
            assert result.exit_code == 1 and not output.exists()
            assert all(t in result.stderr for t in missing)
        else:
            assert result.exit_code == 0 and output.exists()


def test_export_errors(loaded, invoke, tmp_path):
    """An unknown bank or format is a one-line error."""
    result = invoke("banks", "export", "nope", "--format", "yaml", "-o", str(tmp_path / "x"))
    assert result.exit_code == 1 and "nope" in result.stderr
    result = invoke("banks", "export", "test-bank", "--format", "doc", "-o", str(tmp_path / "x"))
    assert result.exit_code == 1 and "--format" in result.stderr


def test_shipped_banks_import_without_warnings(invoke, db):
    """MUST-SHOW: `lms banks import question_banks/*.yaml` loads the shipped banks with no
    error and no warning, at least 400 questions in all; a second run changes nothing."""
    files = sorted(str(path) for path in SHIPPED.glob("*.yaml"))
    assert files, "no shipped banks in question_banks/"
    result = invoke("banks", "import", *files, "--json")
    data = json.loads(result.stdout)
    assert data["errors"] == [] and data["warnings"] == [], data["errors"] + data["warnings"]
    assert result.exit_code == 0
    assert data["imported"] >= 400
    assert len(data["banks"]) == len(files)
    again = json.loads(invoke("banks", "import", *files, "--json").stdout)
    assert (again["imported"], again["unchanged"]) == (0, data["imported"])
    db.rollback()
    assert db.scalar(sa.select(sa.func.count()).select_from(QuestionVersion)) == data["imported"]
