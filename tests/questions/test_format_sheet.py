"""Question spreadsheets: the Chinese corpus, encodings, answer notations, errors with line and
column, warnings for mangled cells, the XLSX template and its round trips (pure functions: no
database)."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import datetime, time
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lms import sheets
from lms.questions.data import Choice, MatchPair, NumericAnswer, QuestionData
from lms.questions.formats import sheet
from lms.questions.html import plain_to_html
from lms.questions.services import validate
from lms.questions.types import load_types

FILES = Path(__file__).parent / "files" / "sheet"
TYPES = load_types()
HEADER = ["题型", "题干", "选项A", "选项B", "选项C", "选项D", "答案", "解析", "难度", "分值"]


def csv_bytes(rows: list[list[object]], encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def read_rows(*rows: list[object], header: list[str] = HEADER, xlsx: bool = False):
    data = xlsx_bytes([header, *rows]) if xlsx else csv_bytes([header, *rows])
    return sheet.read(data, "bank.xlsx" if xlsx else "bank.csv")


def one(*cells: object, header: list[str] = HEADER) -> QuestionData:
    parsed = read_rows(list(cells), header=header)
    assert parsed.errors == [], parsed.errors
    return parsed.questions[0]


def problems(parsed) -> list[tuple[int | None, str | None]]:
    return [(p.line, p.column) for p in parsed.errors]


# The corpus ----------------------------------------------------------------------------------


def read_corpus(corpus: Path, name: str):
    path = next((corpus / "chinese").glob(f"*{name}*"))
    data = path.read_bytes()
    assert sheet.sniff_csv(data, path.name) and not sheet.sniff_xlsx(data, path.name)
    parsed = sheet.CSV.read(data, path.name)
    validate(parsed, TYPES)
    assert parsed.errors == []
    return parsed


def right(question: QuestionData) -> str:
    return "".join("ABCDEFGH"[i] for i, c in enumerate(question.choices) if c.fraction > 0)


def test_corpus_lirenxiangyi(corpus):
    """English codes single/judge, 级别 as difficulty, judge as options 正确/错误 + a letter."""
    parsed = read_corpus(corpus, "lirenxiangyi")
    assert [q.type for q in parsed.questions] == ["single_choice"] * 3 + [
        "true_false",
        "single_choice",
        "single_choice",
    ]
    assert [right(q) for q in parsed.questions if q.choices] == ["A", "C", "B", "B", "A"]
    assert parsed.questions[3].answer_true is True and parsed.questions[3].choices == []
    assert [q.difficulty for q in parsed.questions] == [2, 2, 3, 2, 4, 2]  # 初级, 中级, 高级
    assert parsed.questions[0].stem == "电气设备接地电阻不应大于多少Ω？"
    assert [c.text for c in parsed.questions[0].choices] == ["4", "10", "30", "100"]
    assert parsed.questions[0].explanation.startswith("根据GB/T 50065")
    assert [q.line for q in parsed.questions] == [2, 3, 4, 5, 6, 7]
    assert parsed.warnings == []  # 图片URL is empty throughout


def test_corpus_caimi124(corpus):
    """single/multiple, 配伍 (match) and 综合分析 (comprehensive) rows as choice questions
    by the number of answer letters; five options; ACD."""
    parsed = read_corpus(corpus, "caimi124")
    assert [q.type for q in parsed.questions] == ["single_choice"] * 5 + ["multiple_choice"]
    assert [right(q) for q in parsed.questions] == ["C", "C", "C", "B", "A", "ACD"]
    assert all(len(q.choices) == 5 for q in parsed.questions)
    assert parsed.questions[3].stem.startswith("配伍题示例")
    assert parsed.questions[4].stem.startswith("患者男65岁")
    assert [q.external_id for q in parsed.questions] == [""] * 6  # 题号 is a row number
    assert parsed.warnings == []


def test_corpus_shizhou(corpus):
    """选择题 by its letter; 填空题 with a free-text answer and no blank: a short answer."""
    parsed = read_corpus(corpus, "shizhou")
    choice, essay = parsed.questions
    assert (choice.type, right(choice), choice.knowledge_points, choice.category) == (
        "single_choice",
        "A",
        ["行测"],
        "判断推理",
    )
    assert (essay.type, essay.reference_answer, essay.explanation) == (
        "short_answer",
        "填写参考答案",
        "填写评分要点",
    )
    assert [(w.line, w.column) for w in parsed.warnings] == [(3, "题目")]


def test_corpus_liu_suria(corpus):
    """选择题 with six option columns; 问答题 with its model answer."""
    parsed = read_corpus(corpus, "liu-suria")
    choice, essay = parsed.questions
    assert (choice.type, right(choice), len(choice.choices)) == ("single_choice", "A", 4)
    assert essay.type == "short_answer"
    assert essay.reference_answer == "绿色植物利用光能将二氧化碳和水转化为有机物并释放氧气的过程。"
    assert essay.explanation == "答案可根据实际评分标准调整。"
    assert parsed.warnings == []


def test_notations_file():
    """A title row above the header, and every notation of our own test file."""
    parsed = sheet.read((FILES / "notations.csv").read_bytes(), "notations.csv")
    validate(parsed, TYPES)
    assert parsed.errors == [] and parsed.warnings == []
    q = {question.external_id: question for question in parsed.questions}
    assert q["N-01"].line == 3 and right(q["N-01"]) == "B" and q["N-01"].difficulty == 1
    assert right(q["N-02"]) == "ABD" and q["N-02"].points == 2.0
    assert q["N-02"].knowledge_points == ["服务承诺", "95598"] and q["N-02"].difficulty == 4
    assert q["N-03"].answer_true is True and q["N-04"].answer_true is False
    assert [[a.text for a in b] for b in q["N-05"].blanks] == [["95598"], ["45", "四十五"]]
    assert q["N-06"].numbers == [NumericAnswer(value=99.89, tolerance=0.001)]
    assert q["N-07"].pairs == [
        MatchPair("城区", "45分钟"),
        MatchPair("农村", "90分钟"),
        MatchPair("边远地区", "2小时"),
        MatchPair("", "30分钟"),
    ]
    assert q["N-08"].type == "short_answer" and q["N-08"].difficulty == 5
    assert q["N-09"].type == "multiple_choice" and right(q["N-09"]) == "ABD"


# Encodings and containers --------------------------------------------------------------------

ROWS = [HEADER, ["单选题", "供电服务热线是？", "95598", "12345", "", "", "A", "热线", "易", "1"]]


@pytest.mark.parametrize(
    "data",
    [
        csv_bytes(ROWS, "utf-8"),
        csv_bytes(ROWS, "utf-8-sig"),
        csv_bytes(ROWS, "gb18030"),
        csv_bytes(ROWS, "utf-16"),
        csv_bytes(ROWS).replace(b",", b"\t"),
        xlsx_bytes(ROWS),
    ],
    ids=["utf-8", "utf-8-bom", "gb18030", "utf-16", "tabs", "xlsx"],
)
def test_encodings_and_xlsx_read_the_same(data):
    """UTF-8, UTF-8 with BOM, GB18030, UTF-16, tab-separated and XLSX give one question."""
    parsed = sheet.read(data, "f")
    assert parsed.errors == [] and parsed.warnings == []
    (question,) = parsed.questions
    assert (question.stem, question.explanation, question.difficulty) == (
        "供电服务热线是？",
        "热线",
        1,
    )
    assert [c.text for c in question.choices] == ["95598", "12345"] and right(question) == "A"


# Answer notations ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer", ["ABD", "A,B,D", "A;B;D", "A、B、D", "ＡＢＤ", "a b d", "A，B；D"]
)
def test_multiple_answer_notations(answer):
    """Several answer letters in every common notation."""
    question = one("多选题", "x", "甲", "乙", "丙", "丁", answer)
    assert question.type == "multiple_choice" and right(question) == "ABD"
    assert [c.fraction for c in question.choices] == [1 / 3, 1 / 3, 0, 1 / 3]


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        *[(w, True) for w in ["正确", "对", "√", "✓", "是", "T", "true", "TRUE", "Y", "1"]],
        *[(w, False) for w in ["错误", "错", "×", "✗", "否", "F", "false", "N", "0"]],
    ],
)
def test_true_false_words(word, expected):
    """正确/错误, 对/错, √/×, ✓/✗, 是/否, T/F, true/false."""
    assert one("判断题", "x", "", "", "", "", word).answer_true is expected


@pytest.mark.parametrize(
    ("options", "letter", "expected"),
    [
        (("正确", "错误"), "A", True),
        (("正确", "错误"), "B", False),
        (("错误", "正确"), "A", False),
        (("错误", "正确"), "B", True),
        (("对", "错"), "B", False),
    ],
)
def test_true_false_as_a_letter_pointing_at_options(options, letter, expected):
    """A letter points at an option that says 正确 or 错误, in either order."""
    question = one("judge", "x", *options, "", "", letter)
    assert question.type == "true_false" and question.answer_true is expected


@pytest.mark.parametrize(
    ("stem", "answer", "expected"),
    [
        ("热线是___。", "95598", [["95598"]]),
        ("热线是（ ）。", "95598;95598热线", [["95598", "95598热线"]]),
        ("热线是( )。", "95598", [["95598"]]),
        ("热线 ____，时限 ___ 分钟", "95598|45；四十五", [["95598"], ["45", "四十五"]]),
        ("热线 ___，时限 ___ 分钟", "95598;45", [["95598"], ["45"]]),  # one per blank
        ("a ___", r"x\|y;1+1=2", [["x|y", "1+1=2"]]),
    ],
)
def test_fill_in_blanks(stem, answer, expected):
    """Blanks marked ___ or （ ）; answers per blank by |, alternatives by ; or ；."""
    question = one("填空题", stem, "", "", "", "", answer)
    assert question.type == "fill_in"
    assert [[a.text for a in blank] for blank in question.blanks] == expected
    assert all(a.fraction == 1.0 for blank in question.blanks for a in blank)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("99.89±0.001", [NumericAnswer(value=99.89, tolerance=0.001)]),
        ("99.89+-0.01", [NumericAnswer(value=99.89, tolerance=0.01)]),
        ("1..5", [NumericAnswer(low=1, high=5)]),
        ("-5～-1", [NumericAnswer(low=-5, high=-1)]),
        ("42", [NumericAnswer(value=42)]),
        (
            "3.14±0.01;3..3.3=0.5",
            [NumericAnswer(3.14, 0.01), NumericAnswer(low=3, high=3.3, fraction=0.5)],
        ),
    ],
)
def test_numerical_answers(answer, expected):
    """Our template's 数值题: value±tolerance, low..high, several by ;, weights by =."""
    assert one("数值题", "x", "", "", "", "", answer).numbers == expected


def test_calculation_is_numerical_or_short_answer():
    """计算题 is numerical when its answer is numbers, else graded by a person."""
    assert one("计算题", "x", "", "", "", "", "220±1").type == "numerical"
    assert one("计算题", "x", "", "", "", "", "P=UI=2200W").type == "short_answer"


def test_weighted_choice_answers():
    """A=0.5;B=0.5;C=-1 (or percentages) gives the options' fractions."""
    question = one("多选题", "x", "甲", "乙", "丙", "丁", "A=50%;B=0.5;C=-1")
    assert [c.fraction for c in question.choices] == [0.5, 0.5, -1.0, 0.0]


def test_types_without_a_type_column():
    """Without 题型, options with letters are choices, 对/错 true/false, ___ fill-in."""
    header = ["题目", "A", "B", "C", "答案"]
    parsed = read_rows(
        ["x", "甲", "乙", "丙", "B"],
        ["y", "甲", "乙", "丙", "AC"],
        ["z", "", "", "", "对"],
        ["热线 ___", "", "", "", "95598"],
        ["w", "", "", "", ""],
        header=header,
    )
    assert [q.type for q in parsed.questions] == [
        "single_choice",
        "multiple_choice",
        "true_false",
        "fill_in",
    ]
    assert problems(parsed) == [(6, None)]


def test_labels_and_our_columns():
    """知识点/章节/科目 combined and split by 、,;|; 岗位, 出处, 编号, 题目名称, 分类."""
    header = [
        "编号",
        "题型",
        "题目名称",
        "题干",
        "答案",
        "知识点",
        "章节",
        "岗位",
        "出处",
        "标签",
        "分类",
    ]
    question = one(
        "SS-1",
        "判断题",
        "承诺",
        "x",
        "对",
        "服务承诺、抢修",
        "第一章",
        "抢修;营业窗口",
        "服务规范",
        "a|b",
        "服务",
        header=header,
    )
    assert question.knowledge_points == ["服务承诺", "抢修", "第一章"]
    assert (question.external_id, question.name, question.source) == ("SS-1", "承诺", "服务规范")
    assert (question.posts, question.tags, question.category) == (
        ["抢修", "营业窗口"],
        ["a", "b"],
        "服务",
    )


# Errors and warnings -------------------------------------------------------------------------


def test_errors_name_line_and_column_as_written():
    """Every error names its line (header = 1) and the column's header as the file has it."""
    header = ["题 型", "题干", "选项 A", "选项 B", "选项 C", "正确答案", "分数", "难度"]
    parsed = read_rows(
        ["单选题", "ok", "甲", "乙", "", "A", "1", ""],
        ["多选", "x", "甲", "乙", "", "甲", "1", ""],
        ["问答", "", "", "", "", "", "", ""],
        ["单选题", "x", "甲", "", "丙", "A", "", ""],
        ["奇怪题", "x", "", "", "", "", "", ""],
        ["数值题", "x", "", "", "", "about 5", "", ""],
        ["匹配题", "x", "城区 45", "农村=90", "", "", "", ""],
        ["判断题", "x", "", "", "", "也许", "-1", "9"],
        ["单选题", "x", "甲", "乙", "", "AB", "", ""],
        header=header,
    )
    assert problems(parsed) == [
        (3, "正确答案"),
        (4, "题干"),
        (5, "选项 B"),
        (6, "题 型"),
        (7, "正确答案"),
        (8, "选项 A"),
        (9, "难度"),
        (9, "分数"),
        (9, "正确答案"),
        (10, "正确答案"),
    ]
    assert all(p.file == "bank.csv" and p.message for p in parsed.errors)
    assert "奇怪题" in parsed.errors[3].message


def test_duplicate_ids_name_both_lines():
    """An 编号 used twice is an error naming both rows."""
    parsed = read_rows(
        ["1", "判断题", "x", "对"], ["2", "判断题", "y", "错"], ["1", "判断题", "z", "对"],
        header=["编号", "题型", "题干", "答案"],
    )  # fmt: skip
    assert problems(parsed) == [(4, "编号")] and "lines 2 and 4" in parsed.errors[0].message


def test_no_header():
    """A file without a question column is one error on line 1."""
    parsed = sheet.read(csv_bytes([["工号", "姓名"], ["1", "张三"]]), "staff.csv")
    assert problems(parsed) == [(1, None)] and parsed.questions == []


def test_date_mangled_options_warn():
    """Options that a spreadsheet turned into dates or times: XLSX date cells, CSV texts."""
    parsed = read_rows(
        ["单选题", "x", datetime(2024, 1, 2), time(12, 30), "1-2", "", "A"],
        xlsx=True,
    )
    assert parsed.errors == []
    assert [(w.line, w.column) for w in parsed.warnings] == [(2, "选项A"), (2, "选项B")]
    assert [c.text for c in parsed.questions[0].choices] == ["2024-01-02", "12:30:00", "1-2"]
    parsed = read_rows(["单选题", "x", "2024-01-02", "12:30:00", "1月2日", "2-Jan", "A"])
    assert [w.column for w in parsed.warnings] == ["选项A", "选项B", "选项C", "选项D"]
    assert "date or time" in parsed.warnings[0].message


def test_date_like_text_typed_into_xlsx_is_not_suspicious():
    """In XLSX a text cell reading 3月5日 is what was typed (a date would be a date cell)."""
    parsed = read_rows(["单选题", "节日是哪天？", "3月5日", "3月12日", "", "", "A"], xlsx=True)
    assert parsed.errors == [] and parsed.warnings == []


def test_suspicious_content_warnings():
    """A letter beyond the options, blanks that do not match, an unknown difficulty word,
    a column that is not read."""
    header = [*HEADER, "图片URL"]
    parsed = read_rows(
        ["多选题", "x", "甲", "乙", "丙", "", "ACE", "", "", "", ""],
        ["填空题", "a ___ b ___", "", "", "", "", "1|2|3", "", "", "", ""],
        ["判断题", "x", "", "", "", "", "对", "", "很怪", "", "http://x/1.png"],
        header=header,
    )
    assert parsed.errors == []
    assert [(w.line, w.column) for w in parsed.warnings] == [
        (2, "答案"),
        (3, "答案"),
        (4, "难度"),
        (1, "图片URL"),
    ]
    assert right(parsed.questions[0]) == "AC" and parsed.questions[2].difficulty == 3


def test_only_letters_beyond_the_options_is_an_error():
    """When no letter of the answer names an option, nothing is right: an error."""
    parsed = read_rows(["单选题", "x", "甲", "乙", "", "", "E"])
    assert problems(parsed) == [(2, "答案")]


def test_row_limit(monkeypatch):
    """More rows than the limit: an error, not an endless read."""
    monkeypatch.setattr(sheet, "MAX_ROWS", 3)
    parsed = read_rows(*[["判断题", f"q{i}", "", "", "", "", "对"] for i in range(5)])
    assert any("Too many rows" in p.message for p in parsed.errors)


def test_xlsx_unpacked_size_limit(monkeypatch):
    """An XLSX that unpacks to more than the limit is refused before it is read."""
    monkeypatch.setattr(sheets, "MAX_XLSX_UNCOMPRESSED", 1000)
    parsed = read_rows(["判断题", "x", "", "", "", "", "对"], xlsx=True)
    assert parsed.questions == [] and "too large" in parsed.errors[0].message


def test_damaged_xlsx_is_a_clean_error():
    """A zip that is not a workbook gives one error."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("xl/workbook.xml", "<not a workbook")
    parsed = sheet.read(buffer.getvalue(), "broken.xlsx")
    assert len(parsed.errors) == 1 and parsed.questions == []


# Detection -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "xlsx", "csv_"),
    [
        (xlsx_bytes([HEADER]), True, False),
        (csv_bytes([HEADER]), False, True),
        (csv_bytes([["question", "answer", "A", "B"]]), False, True),
        (csv_bytes([["标题行"], HEADER], "gb18030"), False, True),
        (b"::Q1:: 1+1=2 {T}\n", False, False),
        (b"// question: 1 name: x\n::x::y{=a ~b}\n", False, False),
        (b"What is 1+1?\nA. 2\nB. 3\nANSWER: A\n", False, False),
        (b"questions:\n  - type: true_false\n", False, False),
        (b"<?xml version='1.0'?><quiz><question/></quiz>", False, False),
        (csv_bytes([["工号", "姓名"]]), False, False),
        (b"PK\x03\x04 not really a zip", False, False),
    ],
)
def test_sniff(data, xlsx, csv_):
    """XLSX by its workbook part; CSV by a question column beside an answer/type/option one."""
    assert sheet.sniff_xlsx(data, "f") is xlsx
    assert sheet.sniff_csv(data, "f") is csv_


# The template and round trips ----------------------------------------------------------------


def every_type() -> list[QuestionData]:
    common = {
        "knowledge_points": ["服务承诺", "抢修"],
        "posts": ["营业窗口"],
        "source": "规范·第3条",
    }
    return [
        QuestionData(
            type="single_choice",
            stem="=SUM(A1) 城区抢修时限？",
            choices=[Choice("30分钟"), Choice("45分钟", 1.0), Choice("+90分钟"), Choice("@2小时")],
            explanation="城区 45 分钟。",
            difficulty=2,
            points=2.5,
            external_id="SS-001",
            name="抢修时限",
            tags=["时限", "a、b"],
            category="服务/承诺",
            **common,
        ),
        QuestionData(
            type="multiple_choice",
            stem="<p>哪些是<strong>承诺</strong>？</p>",
            choices=[
                Choice("甲", 0.5),
                Choice("乙", 0.5),
                Choice("丙", -1.0),
                Choice("a &lt;b&gt;"),
            ],
        ),
        QuestionData(
            type="multiple_choice",
            stem="两项",
            choices=[Choice("甲", 0.5), Choice("乙"), Choice("丙", 0.5)],
        ),
        QuestionData(type="true_false", stem="计划停电应提前 7 天公告。", answer_true=True),
        QuestionData(type="true_false", stem="x", answer_true=False, difficulty=5),
        QuestionData(
            type="fill_in",
            stem="热线 ___，时限 ___ 分钟",
            blanks=[[Choice("95598", 1.0)], [Choice("45", 1.0), Choice("四十五;x|y=1", 0.5)]],
            case_sensitive=True,
        ),
        QuestionData(
            type="numerical",
            stem="可靠率？",
            numbers=[NumericAnswer(99.89, 0.001), NumericAnswer(low=-1.5, high=1e-7, fraction=0.5)],
        ),
        QuestionData(
            type="matching",
            stem="对应",
            pairs=[
                MatchPair("城区", "45分钟"),
                MatchPair("", "60分钟"),
                MatchPair("a=b", "=c"),
                MatchPair("", "30"),
            ],
        ),
        QuestionData(type="short_answer", stem="简述流程。", reference_answer="接单<br>处理"),
        QuestionData(type="short_answer", stem="无参考答案"),
        QuestionData(type="description", stem="阅读以下案例。"),
    ]


def test_xlsx_template_round_trip_of_every_type():
    """Every type written to our template reads back the same, Chinese, HTML and formula-like
    texts included."""
    bank = every_type()
    data = sheet.XLSX.write(bank, {"code": "x", "title": "测试"})
    assert sheet.sniff_xlsx(data, "bank.xlsx")
    parsed = sheet.read(data, "bank.xlsx")
    validate(parsed, TYPES)
    assert parsed.errors == [] and parsed.warnings == []
    assert [q.line for q in parsed.questions] == list(range(2, len(bank) + 2))
    assert parsed.questions == bank


def test_template_layout_and_formula_safety():
    """Our headers, a bold frozen header row, texts stored as text (never formulas)."""
    data = sheet.XLSX.write(every_type(), {})
    sheet_ = openpyxl.load_workbook(io.BytesIO(data)).active
    headers = [c.value for c in sheet_[1]]
    assert headers[:4] == ["编号", "题型", "题目名称", "题干"]
    assert headers[4:12] == [f"选项{c}" for c in "ABCDEFGH"]
    assert headers[12:] == [
        "答案",
        "解析",
        "难度",
        "分值",
        "知识点",
        "岗位",
        "出处",
        "标签",
        "分类",
        "区分大小写",
    ]
    assert sheet_.freeze_panes == "A2" and sheet_["A1"].font.b
    stem = sheet_["D2"]
    assert stem.value == "=SUM(A1) 城区抢修时限？" and stem.data_type == "s"
    assert [sheet_.cell(2, c).value for c in (2, 13, 15, 16)] == ["单选题", "B", 2, 2.5]
    assert sheet_["B8"].value == "数值题" and sheet_["M8"].value == "99.89±0.001;-1.5..1e-07=0.5"


def test_more_options_than_the_template_has_columns():
    """A question with ten options gets columns up to 选项J."""
    question = QuestionData(
        type="single_choice", stem="x", choices=[Choice(str(i), float(i == 9)) for i in range(10)]
    )
    data = sheet.XLSX.write([question], {})
    assert sheet.read(data, "f.xlsx").questions == [question]


def test_reads_what_other_platforms_write_in_xlsx():
    """Numbers as numbers, lower-case letters, a title row, an empty row in between."""
    parsed = sheet.read(
        xlsx_bytes(
            [
                ["安规题库"],
                ["序号", "试题类型", "试题内容", "A", "B", "C", "标准答案", "分值"],
                [1, "单项选择题", "安全电压是多少？", 36, 220, 380, "a", 2],
                [],
                [2, "判断题", "接地电阻不大于4Ω。", None, None, None, "√", 1.5],
            ]
        ),
        "platform.xlsx",
    )
    assert parsed.errors == [] and parsed.warnings == []
    first, second = parsed.questions
    assert (first.line, [c.text for c in first.choices], right(first), first.points) == (
        3,
        ["36", "220", "380"],
        "A",
        2.0,
    )
    assert (second.line, second.answer_true, second.points) == (5, True, 1.5)


# Property tests ------------------------------------------------------------------------------

WORD = st.text(
    alphabet=st.characters(codec="utf-8", categories=("L", "N", "P", "S")), min_size=1, max_size=6
)
TEXT = st.one_of(
    st.lists(WORD, min_size=1, max_size=4).map(" ".join),
    st.sampled_from(["供电", "=SUM(A1)", "-1", "a|b;c=d", "x、y", "\\", "2024-01-02x", "&amp;"]),
)
HTML = st.one_of(
    TEXT.map(plain_to_html), st.sampled_from(["<p>段落</p>", "<b>粗</b> &amp; 细", "一<br>二"])
)
FRACTION = st.sampled_from([1.0, 0.5, 0.0, -0.5, -1.0, 1 / 3, 0.1])


@st.composite
def questions(draw) -> QuestionData:
    kind = draw(st.sampled_from(sorted(sheet.TYPES)))
    q = QuestionData(
        type=kind,
        stem=draw(HTML),
        name=draw(st.one_of(st.just(""), TEXT)),
        explanation=draw(st.one_of(st.just(""), HTML)),
        difficulty=draw(st.integers(1, 5)),
        points=draw(st.sampled_from([1.0, 0.0, 2.0, 0.5, 12.75])),
        knowledge_points=draw(st.lists(TEXT, max_size=3)),
        posts=draw(st.lists(TEXT, max_size=2)),
        tags=draw(st.lists(TEXT, max_size=2)),
        source=draw(st.one_of(st.just(""), TEXT)),
        category=draw(st.one_of(st.just(""), TEXT)),
    )
    if kind in ("single_choice", "multiple_choice"):
        q.choices = [Choice(draw(HTML), draw(FRACTION)) for _ in range(draw(st.integers(2, 9)))]
        if not any(c.fraction for c in q.choices):
            q.choices[0].fraction = 1.0
    elif kind == "true_false":
        q.answer_true = draw(st.booleans())
    elif kind == "fill_in":
        q.blanks = [
            [Choice(draw(TEXT), draw(FRACTION)) for _ in range(draw(st.integers(1, 3)))]
            for _ in range(draw(st.integers(1, 3)))
        ]
        q.stem = plain_to_html(" ___ ".join(draw(WORD) for _ in range(len(q.blanks) + 1)))
        q.case_sensitive = draw(st.booleans())
    elif kind == "numerical":
        number = st.floats(allow_nan=False, allow_infinity=False)
        q.numbers = [
            draw(
                st.one_of(
                    st.builds(NumericAnswer, value=number, tolerance=number, fraction=FRACTION),
                    st.builds(NumericAnswer, low=number, high=number, fraction=FRACTION),
                )
            )
            for _ in range(draw(st.integers(1, 3)))
        ]
    elif kind == "matching":
        q.pairs = [
            MatchPair(draw(st.one_of(st.just(""), HTML)), draw(TEXT))
            for _ in range(draw(st.integers(1, 5)))
        ]
    elif kind == "short_answer":
        q.reference_answer = draw(st.one_of(st.just(""), HTML))
    return q


def carried(question: QuestionData) -> dict:
    data = {k: getattr(question, k) for k in sheet.CARRIES}
    data["choices"] = [(c.text, c.fraction) for c in question.choices]
    data["blanks"] = [[(a.text, a.fraction) for a in blank] for blank in question.blanks]
    return data


@settings(max_examples=150, deadline=None)
@given(bank=st.lists(questions(), max_size=5))
def test_random_banks_survive_the_xlsx_template(bank):
    """Random questions of every type, with weights, HTML and separators in texts, come back."""
    parsed = sheet.read(sheet.XLSX.write(bank, {}), "bank.xlsx")
    assert [p for p in parsed.errors if "date" not in p.message] == []
    assert [carried(q) for q in parsed.questions] == [carried(q) for q in bank]


@settings(max_examples=300, deadline=None)
@given(
    data=st.one_of(
        st.binary(max_size=500),
        st.text(max_size=300).map(lambda t: ("题干,答案,题型,选项A\n" + t).encode()),
    )
)
def test_random_bytes_give_questions_or_clean_errors(data):
    """Whatever the bytes, the reader returns; every problem has a message."""
    parsed = sheet.read(data, "random.csv")
    assert all(p.message and p.file == "random.csv" for p in parsed.errors + parsed.warnings)
