"""The import service: all-or-nothing, versioned, and faithful to what a format cannot say."""

from __future__ import annotations

import sqlalchemy as sa

from lms.questions.data import Choice, QuestionData
from lms.questions.formats import formats, read_file
from lms.questions.models import Question, QuestionVersion
from lms.questions.services import bank_questions, get_or_create_bank, import_files


def rich_question() -> QuestionData:
    return QuestionData(
        type="single_choice",
        stem="城区故障抢修到达现场的时限是？",
        choices=[Choice("30分钟"), Choice("45分钟", 1.0), Choice("90分钟")],
        difficulty=4,
        points=2.0,
        knowledge_points=["服务承诺"],
        posts=["配电抢修工"],
        source="供电服务规范",
        external_id="SS-900",
    )


def run_import(app, db, data: bytes, file: str):
    with app.app_context():
        parsed = read_file(data, file)
        bank = get_or_create_bank(db, "svc", title="服务")
        result = import_files(
            db, [(parsed, bank)], types=app.extensions["lms"].question_types, actor=None
        )
        db.commit()
        return result


def test_reimporting_a_lossy_export_keeps_what_the_format_cannot_hold(app, db):
    """A GIFT export re-imported changes nothing: difficulty, points, posts are kept."""
    yaml = formats()["yaml"].write([rich_question()], {"code": "svc", "title": "服务"})
    assert run_import(app, db, yaml, "svc.yaml").imported == 1
    gift = formats()["gift"].write([rich_question()], {"code": "svc"})
    result = run_import(app, db, gift, "svc.gift")
    assert (result.imported, result.unchanged) == (0, 1)
    (stored,) = bank_questions(db, get_or_create_bank(db, "svc"))
    assert (stored.difficulty, stored.points, stored.posts) == (4, 2.0, ["配电抢修工"])


def test_a_changed_question_becomes_a_new_version_and_keeps_the_old(app, db):
    """Editing a question in the file adds version 2; version 1 stays for old attempts."""
    question = rich_question()
    write = formats()["yaml"].write
    run_import(app, db, write([question], {"code": "svc", "title": "服务"}), "a.yaml")
    question.choices[0].text = "40分钟"
    result = run_import(app, db, write([question], {"code": "svc", "title": "服务"}), "b.yaml")
    assert result.details["new_versions"] == 1
    versions = db.scalars(sa.select(QuestionVersion.number).order_by(QuestionVersion.number)).all()
    assert versions == [1, 2]
    assert db.scalar(sa.select(Question.current_number)) == 2


def test_a_bad_question_imports_nothing(app, db):
    """One invalid question refuses the whole file and leaves the database as it was."""
    good, bad = rich_question(), rich_question()
    bad.external_id, bad.choices = "SS-901", [Choice("only one", 1.0)]
    data = formats()["yaml"].write([good, bad], {"code": "svc", "title": "服务"})
    result = run_import(app, db, data, "bad.yaml")
    assert result.errors and result.imported == 0
    assert db.scalar(sa.select(sa.func.count()).select_from(Question)) == 0


def test_two_files_into_one_bank_keep_their_order(app, db):
    """Questions of two files imported together into one bank keep file order, no ties."""
    first, second = rich_question(), rich_question()
    second.external_id, second.stem = "SS-902", "第二个文件的问题"
    write = formats()["yaml"].write
    with app.app_context():
        bank = get_or_create_bank(db, "svc", title="服务")
        files = [
            (read_file(write([first], {"code": "svc", "title": "服务"}), "a.yaml"), bank),
            (read_file(write([second], {"code": "svc", "title": "服务"}), "b.yaml"), bank),
        ]
        import_files(db, files, types=app.extensions["lms"].question_types, actor=None)
        db.commit()
    positions = db.scalars(sa.select(Question.position).order_by(Question.position)).all()
    assert positions == [1, 2]
