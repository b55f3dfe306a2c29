"""Sample question banks for the bank tests: one question of every built-in type, as native
YAML text and as QuestionData (so that page tests need no reader)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from lms.questions.data import Choice, MatchPair, NumericAnswer, QuestionData
from lms.questions.formats import ParsedFile
from lms.questions.html import plain_to_html
from lms.questions.models import Question, QuestionBank, QuestionLabel, QuestionVersion

SAMPLE_YAML = """\
bank:
  code: test-bank
  title: 测试题库
  programme: service_standards
  description: 供电服务承诺测试题。

questions:
  - id: T-001
    type: single_choice
    stem: 城区范围内，故障抢修人员到达现场的时限是多少？
    options: [30分钟, 45分钟, 90分钟, 2小时]
    answer: B
    explanation: 城区 45 分钟，农村 90 分钟。
    difficulty: 2
    knowledge_points: [服务承诺, 故障抢修]
    posts: [抢修, 营业窗口]
    source: 供电服务规范·服务承诺

  - id: T-002
    type: multiple_choice
    stem: 以下哪些属于供电服务承诺？
    options:
      - 95598 热线 24 小时服务
      - 计划停电提前 7 天公告
      - 电费可以赊欠
      - 居民客户收费 5 分钟内办结
    answer: [A, B, D]
    difficulty: 3
    knowledge_points: [服务承诺]
    posts: [营业窗口]

  - id: T-003
    type: true_false
    stem: 计划停电应提前 3 天向社会公告。
    answer: false
    explanation: 应提前 7 天公告。
    difficulty: 1
    knowledge_points: [停电管理]
    posts: [抢修]

  - id: T-004
    type: fill_in
    stem: 供电服务热线号码是 ___。
    blanks:
      - ["95598"]
    knowledge_points: [95598]

  - id: T-005
    type: numerical
    stem: 城市地区供电可靠率不低于百分之多少？
    numbers:
      - {value: 99.89, tolerance: 0.001}
    difficulty: 4

  - id: T-006
    type: matching
    stem: 将地区与故障抢修到达现场时限对应起来。
    pairs:
      - {prompt: 城区, answer: 45 分钟}
      - {prompt: 农村, answer: 90 分钟}
    distractors: [30 分钟]

  - id: T-007
    type: short_answer
    stem: 简述接到 95598 故障报修工单后的处理流程。
    reference_answer: 接单、联系客户、到达现场、处理、恢复送电、回复工单。
    difficulty: 5

  - id: T-008
    type: description
    stem: 阅读以下案例，回答后面的问题。
"""

SAMPLE_COUNT = 8

#: The same bank's first question with a bad answer (line 12 is its ``answer:``).
BAD_YAML = SAMPLE_YAML.replace("    answer: B\n", "    answer: Z\n", 1)


def plain_gift() -> str:
    """A tiny GIFT file (no bank in it): true/false and single choice."""
    return (
        "::G1:: 95598 热线是否全天候服务？ {T}\n\n"
        "::G2:: 计划停电提前几天公告？ {=7 天 ~3 天 ~1 天}\n"
    )


def sample_questions() -> list[QuestionData]:
    """One question of every built-in type, texts as readers store them (sanitised HTML)."""
    h = plain_to_html
    return [
        QuestionData(
            type="single_choice",
            stem=h("城区范围内，故障抢修人员到达现场的时限是多少？"),
            choices=[Choice(h("30分钟")), Choice(h("45分钟"), 1.0), Choice(h("90分钟"))],
            explanation=h("城区 45 分钟。"),
            difficulty=2,
            knowledge_points=["服务承诺", "故障抢修"],
            posts=["抢修"],
            source="供电服务规范",
            external_id="P-001",
        ),
        QuestionData(
            type="multiple_choice",
            stem=h("以下哪些属于供电服务承诺？"),
            choices=[
                Choice(h("95598 热线"), 0.5),
                Choice(h("赊欠电费")),
                Choice(h("停电公告"), 0.5),
            ],
            knowledge_points=["服务承诺"],
            posts=["营业窗口"],
            external_id="P-002",
        ),
        QuestionData(
            type="true_false",
            stem=h("计划停电应提前 3 天公告。"),
            answer_true=False,
            difficulty=1,
            knowledge_points=["停电管理"],
            external_id="P-003",
        ),
        QuestionData(
            type="fill_in",
            stem=h("供电服务热线号码是 ___。"),
            blanks=[[Choice("95598", 1.0)]],
            external_id="P-004",
        ),
        QuestionData(
            type="numerical",
            stem=h("城市供电可靠率不低于百分之多少？"),
            numbers=[NumericAnswer(value=99.89, tolerance=0.001)],
            difficulty=4,
            external_id="P-005",
        ),
        QuestionData(
            type="matching",
            stem=h("将地区与到达时限对应起来。"),
            pairs=[MatchPair(h("城区"), "45 分钟"), MatchPair(h("农村"), "90 分钟")],
            external_id="P-006",
        ),
        QuestionData(
            type="short_answer",
            stem=h("简述故障报修工单的处理流程。"),
            reference_answer=h("接单、联系客户、到达现场。"),
            difficulty=5,
            external_id="P-007",
        ),
        QuestionData(type="description", stem=h("阅读以下案例。"), external_id="P-008"),
    ]


def store_bank(
    app: Any, db: Any, questions: list[QuestionData] | None = None, code: str = "pages"
) -> QuestionBank:
    """A bank holding ``questions`` (default: :func:`sample_questions`), stored through the
    import service and committed."""
    from lms.questions import services

    with app.app_context():
        bank = services.get_or_create_bank(db, code, title="页面测试题库", programme="safety")
        parsed = ParsedFile("built.yaml", questions or sample_questions())
        for number, question in enumerate(parsed.questions, start=1):
            question.line = number
        result = services.import_files(
            db, [(parsed, bank)], types=app.extensions["lms"].question_types, actor=None
        )
    assert result.ok, result.errors
    db.commit()
    return bank


def row_counts(db: Any) -> dict[str, int]:
    """Rows in the question tables (and the audit log), to show that nothing changed."""
    from lms.audit.models import AuditEntry

    db.rollback()
    return {
        model.__tablename__: db.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (QuestionBank, Question, QuestionVersion, QuestionLabel, AuditEntry)
    }
