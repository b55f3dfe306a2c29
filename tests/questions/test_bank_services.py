"""The import and export glue under the CLI and the pages: banks chosen or named by the file,
fields a format cannot hold, exports that leave questions out, uploads kept between preview
and confirm, the answer summaries, the YAML editor's round trip, and the import job."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from lms.jobs.services import run_now
from lms.jobs.uploads import claim_uploads, store_uploads
from lms.questions import services
from lms.questions.data import Choice, QuestionData
from lms.questions.display import answer_summary, safe_html
from lms.questions.exports import export_bank
from lms.questions.formats import writable_formats
from lms.questions.forms import parse_question_yaml, question_yaml
from lms.questions.html import plain_to_html
from lms.questions.jobs import (
    BankChoice,
    import_parsed,
    read_files,
)
from lms.questions.models import Question, QuestionBank
from lms.questions.types import load_types
from tests.questions.bank_samples import (
    BAD_YAML,
    SAMPLE_COUNT,
    SAMPLE_YAML,
    plain_gift,
    row_counts,
    sample_questions,
    store_bank,
)

TYPES = load_types()


@pytest.fixture
def run(app, db):
    """``run(files, bank=BankChoice(), commit=True)``: read ``[(name, text)]`` files and
    import them in ``db``; committed when clean (and ``commit``), else rolled back."""

    def do(files, bank: BankChoice | None = None, commit: bool = True, **kwargs):
        encoded = [(name, text.encode() if isinstance(text, str) else text) for name, text in files]
        with app.app_context():
            result = import_parsed(
                db,
                read_files(encoded),
                bank=bank or BankChoice(),
                types=TYPES,
                actor=None,
                **kwargs,
            )
        if result.ok and commit:
            db.commit()
        else:
            db.rollback()
        return result

    return do


@pytest.fixture
def app_config():
    """English messages, which the assertions quote."""
    return {"LMS_DEFAULT_LOCALE": "en"}


def test_bank_named_by_the_file_is_created_then_updated(run, db):
    """A YAML file's bank header creates the bank, and a later header updates it."""
    assert run([("a.yaml", SAMPLE_YAML)]).imported == SAMPLE_COUNT
    retitled = SAMPLE_YAML.replace("title: 测试题库", "title: 新标题").replace(
        "programme: service_standards", "programme: safety"
    )
    result = run([("a.yaml", retitled)])
    assert (result.imported, result.unchanged) == (0, SAMPLE_COUNT)
    db.expire_all()
    bank = db.scalar(sa.select(QuestionBank))
    assert (bank.code, bank.title, bank.programme) == ("test-bank", "新标题", "safety")


def test_chosen_bank_is_created_with_its_title(run, db):
    """A chosen bank code that does not exist yet is created, titled as given."""
    result = run([("a.yaml", SAMPLE_YAML)], BankChoice("chosen", "选定题库"))
    assert result.details["banks"] == ["chosen"]
    bank = db.scalar(sa.select(QuestionBank))
    assert (bank.code, bank.title) == ("chosen", "选定题库")


def test_file_without_a_bank_is_an_error_and_still_checked(run, db):
    """A file naming no bank is an error; its questions' own problems are reported too."""
    broken = plain_gift() + "\n::G3:: 空的选择题 {}\n"
    result = run([("plain.gift", broken)])
    assert not result.ok
    assert any(p.line is None and "bank" in p.message for p in result.errors)
    assert all(p.file == "plain.gift" for p in result.errors)
    assert row_counts(db)["lms_question_bank"] == 0


def test_bad_bank_code_in_the_file_or_chosen(run, db):
    """A bank code that breaks the rules is an error, in the file or chosen."""
    result = run([("a.yaml", SAMPLE_YAML.replace("code: test-bank", "code: import"))])
    assert not result.ok and "reserved" in result.errors[0].message
    result = run([("a.yaml", SAMPLE_YAML)], BankChoice("Has Spaces"))
    assert not result.ok and result.errors[0].file == "--bank"
    assert row_counts(db)["lms_question"] == 0


def test_errors_change_nothing_even_the_bank(run, db):
    """A file with errors leaves no bank, question, version or label behind."""
    before = row_counts(db)
    result = run([("bad.yaml", BAD_YAML)])
    assert result.errors and all(p.file == "bad.yaml" and p.line for p in result.errors)
    assert row_counts(db) == before


def test_progress_is_reported(run):
    """The import reports progress ending at the number of questions."""
    calls = []
    run([("a.yaml", SAMPLE_YAML)], progress=lambda done, total: calls.append((done, total)))
    assert calls and calls[-1] == (SAMPLE_COUNT, SAMPLE_COUNT)


def test_gift_keeps_fields_it_cannot_hold(run, app, db):
    """A GIFT file (no difficulty, knowledge points, posts, source) re-imported into the bank
    changes nothing; a changed stem for the same id keeps those fields from the bank."""
    run([("a.yaml", SAMPLE_YAML)])
    bank = db.scalar(sa.select(QuestionBank))
    with app.app_context():
        gift = export_bank(db, bank, writable_formats()["gift"], types=TYPES)
    text = gift.body.decode()
    result = run([("again.gift", text)], BankChoice("test-bank"))
    assert (result.imported, result.unchanged) == (0, gift.count)
    changed = text.replace("城区范围内，", "城区内，", 1)
    result = run([("changed.gift", changed)], BankChoice("test-bank"))
    assert (result.imported, result.details["new_versions"]) == (1, 1)
    question = db.scalar(sa.select(Question).where(Question.key == "id:T-001"))
    data = services.current_data(db, question)
    assert data.stem.startswith("城区内")
    assert (data.difficulty, data.knowledge_points, data.posts, data.source) == (
        2,
        ["服务承诺", "故障抢修"],
        ["抢修", "营业窗口"],
        "供电服务规范·服务承诺",
    )


def test_export_leaves_out_what_the_format_cannot_hold(app, db):
    """A question the format refuses (a GIFT fill-in with two blanks) is left out, with why."""
    two_blanks = QuestionData(
        type="fill_in",
        stem=plain_to_html("热线 ___，电压合格率 ___%。"),
        blanks=[[Choice("95598", 1.0)], [Choice("95", 1.0)]],
        external_id="B-2",
    )
    bank = store_bank(app, db, [*sample_questions(), two_blanks])
    with app.app_context():
        written = export_bank(db, bank, writable_formats()["gift"], types=TYPES)
        everything = export_bank(db, bank, writable_formats()["yaml"], types=TYPES)
    assert written.count == SAMPLE_COUNT and sum(written.left_out.values()) == 1
    assert "blank" in written.left_out_text()
    assert everything.count == SAMPLE_COUNT + 1 and not everything.left_out
    assert written.filename == "pages.gift"


def test_enabled_only_export(app, db):
    """``enabled_only`` leaves disabled questions out of an export."""
    bank = store_bank(app, db)
    question = db.scalar(sa.select(Question).where(Question.key == "id:P-001"))
    question.enabled = False
    db.commit()
    with app.app_context():
        written = export_bank(db, bank, writable_formats()["yaml"], types=TYPES, enabled_only=True)
    assert written.count == SAMPLE_COUNT - 1 and b"P-001" not in written.body


def test_uploads_are_claimed_once_and_stale_ones_purged(tmp_path):
    """Stored uploads come back once, with their files; day-old leftovers are removed."""
    folder = tmp_path / "uploads"
    stale = store_uploads(folder, [("old.yaml", b"x")], {})
    old = time.time() - 2 * 24 * 3600
    for path in folder.iterdir():
        os.utime(path, (old, old))
    token = store_uploads(folder, [("a.yaml", b"A"), ("b.gift", b"B")], {"bank_code": "x"})
    assert not any(p.name.startswith(stale) for p in folder.iterdir())
    claimed = claim_uploads(folder, token)
    assert claimed["bank_code"] == "x"
    assert [(f["file"], Path(f["path"]).read_bytes()) for f in claimed["files"]] == [
        ("a.yaml", b"A"),
        ("b.gift", b"B"),
    ]
    assert claim_uploads(folder, token) is None
    assert claim_uploads(folder, "../x") is None and claim_uploads(folder, "") is None


def test_answer_summaries():
    """Each built-in type sums up its answer in one line of text."""
    summaries = [answer_summary(q) for q in sample_questions()]
    assert summaries == [
        "B",
        "A, C",
        "False",
        "95598",
        "99.89 ± 0.001",
        "城区 → 45 分钟; 农村 → 90 分钟",
        "接单、联系客户、到达现场。",
        "",
    ]


def test_safe_html_strips_script():
    """The page filter sanitises again whatever is stored."""
    html = str(
        safe_html('<p onclick="x()">甲<script>alert(1)</script><a href="javascript:y">乙</a></p>')
    )
    assert "script" not in html and "onclick" not in html and "javascript" not in html
    assert "甲" in html and "乙" in html


def test_question_yaml_round_trip():
    """Every sample question survives the YAML editor unchanged."""
    for question in sample_questions():
        text = question_yaml(question)
        assert text and "type: " + question.type in text
        again, problems = parse_question_yaml(text, TYPES)
        assert problems == [], (question.type, problems)
        assert again.as_dict() == question.as_dict()


def test_question_yaml_problems_name_the_typed_line():
    """A problem in the typed YAML names its line in the text, not in the wrapped file."""
    _question, problems = parse_question_yaml("type: single_choice\nstem: 甲\nanswer: Q\n", TYPES)
    assert problems and any(p.startswith("Line ") for p in problems)
    assert all(not p.startswith(("Line 5", "Line 6", "Line 7")) for p in problems)
    _question, problems = parse_question_yaml("type: nonsense\nstem: 甲\n", TYPES)
    assert problems


def test_import_job_dry_run_and_real(app, db, tmp_path):
    """The import job imports stored files; a dry run changes nothing and the files stay."""
    path = tmp_path / "a.yaml"
    path.write_text(SAMPLE_YAML, encoding="utf-8")
    params = {"files": [{"file": "a.yaml", "path": str(path)}], "dry_run": True}
    before = row_counts(db)
    job = run_now(app, "questions.import", params)
    assert job.result["imported"] == SAMPLE_COUNT and job.result["dry_run"] is True
    assert row_counts(db) == before and path.exists()
    job = run_now(app, "questions.import", {**params, "dry_run": False, "delete": True})
    assert job.result["created"] == SAMPLE_COUNT and not path.exists()
    assert row_counts(db)["lms_question"] == SAMPLE_COUNT
