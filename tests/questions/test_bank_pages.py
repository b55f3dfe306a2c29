"""HR's question bank pages: lists and filters, one question, enable/disable, editing (form and
YAML), exports, the web import with its preview, and access (404 for anyone but HR/admin)."""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa

from lms.org.models import Role
from lms.questions import services
from lms.questions.data import Choice, QuestionData
from lms.questions.formats import writable_formats
from lms.questions.models import Question, QuestionBank, QuestionVersion
from tests.conftest import count_rows, csrf_token, hidden_value, wait_for_job
from tests.questions.bank_samples import (
    BAD_YAML,
    SAMPLE_COUNT,
    SAMPLE_YAML,
    plain_gift,
    row_counts,
    sample_questions,
    store_bank,
)


@pytest.fixture
def app_config():
    """Small pages, so that pagination shows with the sample bank; English messages, which the
    assertions quote."""
    return {"LMS_PAGE_SIZE": 5, "LMS_DEFAULT_LOCALE": "en"}


@pytest.fixture
def hr(create_employee, login):
    """An HR employee, signed in."""
    person = create_employee(role=Role.hr, emp_no="HR0001")
    login(person)
    return person


@pytest.fixture
def bank(app, db):
    """The sample bank "pages": one question of every built-in type."""
    return store_bank(app, db)


def questions_by_id(db, bank) -> dict[str, Question]:
    """The bank's questions by their file id (P-001...)."""
    db.rollback()
    found = {}
    for question in db.scalars(sa.select(Question).where(Question.bank_id == bank.id)):
        found[services.current_data(db, question).external_id] = question
    return found


def main(response) -> str:
    html = response.get_data(as_text=True)
    return html.split("<main", 1)[1].split("</main>", 1)[0]


def listed(client, query: str = "") -> tuple[int, str]:
    """The question count a bank page states, and its table."""
    page = main(client.get(f"/banks/pages?{query}"))
    count = re.search(r'data-testid="question-count">(\d+)', page)
    assert count, page
    return int(count.group(1)), page


# Lists ---------------------------------------------------------------------------------------


def test_banks_list_shows_counts(hr, bank, client):
    """The banks page lists each bank with its programme and numbers of questions."""
    page = main(client.get("/banks"))
    assert "/banks/pages" in page and "页面测试题库" in page and "safety" in page
    assert f'<td class="num">{SAMPLE_COUNT}</td>' in page


def test_navigation_has_question_banks_for_hr(hr, client):
    """HR's navigation links to the question banks."""
    assert 'href="/banks"' in client.get("/").get_data(as_text=True)


def test_bank_filters(hr, bank, client, db):
    """Type, difficulty, knowledge point, post, text and state each narrow the list."""
    assert listed(client)[0] == SAMPLE_COUNT
    assert listed(client, "type=single_choice")[0] == 1
    assert listed(client, "difficulty=4")[0] == 1
    assert listed(client, "difficulty=3")[0] == 4  # the default difficulty
    assert listed(client, "knowledge_point=服务承诺")[0] == 2
    assert listed(client, "post=营业窗口")[0] == 1
    assert listed(client, "q=热线号码")[0] == 1
    assert listed(client, "enabled=0")[0] == 0
    count, page = listed(client, "type=true_false&knowledge_point=停电管理&difficulty=1")
    assert count == 1 and "计划停电" in page
    # Unknown values are ignored rather than failing.
    assert listed(client, "type=nonsense&difficulty=9&enabled=maybe")[0] == SAMPLE_COUNT


def test_bank_pagination_keeps_the_filters(hr, bank, client):
    """A long list is paged; the next-page link keeps the bank and the filters."""
    count, page = listed(client, "difficulty=3")
    assert count == 4 and 'rel="next"' not in page
    count, page = listed(client)
    assert count == SAMPLE_COUNT
    assert page.count("/banks/pages/questions/") == 5
    link = re.search(r'href="([^"]+)" rel="next"', page)
    assert link and "page=2" in link.group(1)
    second = main(client.get(link.group(1).replace("&amp;", "&")))
    assert second.count("/banks/pages/questions/") == SAMPLE_COUNT - 5


def test_unknown_bank_and_question_are_404(hr, bank, client, db):
    """Unknown banks, unknown ids and a question asked for under another bank are 404."""
    other = store_bank(client.application, db, [sample_questions()[0]], code="other")
    question = next(iter(questions_by_id(db, other).values()))
    assert client.get("/banks/nope").status_code == 404
    assert client.get("/banks/pages/questions/999999").status_code == 404
    assert client.get("/banks/pages/questions/99999999999").status_code == 404
    assert client.get(f"/banks/pages/questions/{question.id}").status_code == 404
    assert client.get(f"/banks/other/questions/{question.id}").status_code == 200


# One question --------------------------------------------------------------------------------


def test_question_page_shows_answer_history_and_candidate_view(hr, bank, client, db):
    """The page shows the text, the right option, the explanation, the history, and a
    candidate's preview in which nothing marks the answer."""
    question = questions_by_id(db, bank)["P-001"]
    page = main(client.get(f"/banks/pages/questions/{question.id}"))
    current = page.split('data-testid="current-version"', 1)[1].split("</section>", 1)[0]
    assert "城区范围内" in current and "城区 45 分钟。" in current
    assert re.search(r'<li class="right">\s*45分钟', current)
    assert "服务承诺、故障抢修" in current and "供电服务规范" in current
    preview = page.split('data-testid="candidate-preview"', 1)[1].split("</section>", 1)[0]
    assert preview.count('type="radio"') == 3 and "disabled" in preview
    assert 'class="right"' not in preview and "城区 45 分钟" not in preview
    history = page.split('data-testid="history"', 1)[1]
    assert "built.yaml" in history


def test_every_type_has_a_widget_without_answers(hr, bank, client, db):
    """Each built-in type's page renders its widget, which never shows the answer."""
    secrets = {
        "P-003": None,
        "P-004": "95598",
        "P-005": "99.89",
        "P-006": None,
        "P-007": "联系客户",
    }
    inputs = {
        "P-001": 'type="radio"',
        "P-002": 'type="checkbox"',
        "P-003": 'value="false"',
        "P-004": 'name="preview-0"',
        "P-005": 'inputmode="decimal"',
        "P-006": "<select",
        "P-007": "<textarea",
        "P-008": "Nothing to answer",
    }
    for external_id, question in questions_by_id(db, bank).items():
        response = client.get(f"/banks/pages/questions/{question.id}")
        assert response.status_code == 200, external_id
        preview = main(response).split('data-testid="candidate-preview"', 1)[1]
        preview = preview.split("</section>", 1)[0]
        assert inputs[external_id] in preview, external_id
        if secrets.get(external_id):
            assert secrets[external_id] not in preview, external_id


def test_script_in_a_stored_question_renders_inert(hr, app, client, db):
    """Script, event handlers and javascript: links stored in a question never reach the page,
    even when they were written to the database without a reader's sanitising."""
    hostile = (
        '<p>题干<script>alert("x")</script><img src="x" onerror="alert(1)">'
        '<a href="javascript:alert(2)">链接</a></p>'
    )
    question = QuestionData(
        type="single_choice",
        stem=hostile,
        choices=[Choice('<b onclick="alert(3)">甲</b>', 1.0), Choice("乙")],
        explanation='<svg onload="alert(4)"></svg>解析',
        external_id="X-1",
    )
    bank = store_bank(app, db, [question], code="hostile")
    stored = questions_by_id(db, bank)["X-1"]
    for path in (
        f"/banks/hostile/questions/{stored.id}",
        f"/banks/hostile/questions/{stored.id}/edit",
    ):
        page = main(client.get(path))
        assert "题干" in page and "解析" in page
        assert "<script" not in page.replace('<script src="', "")
        assert not re.search(r"<[^>]+\son[a-z]+=", page), path
        assert 'href="javascript:' not in page
        assert "<svg" not in page


def enable_form_token(client, path: str) -> str:
    return csrf_token(client, path)


def test_disable_and_enable(hr, bank, client, db):
    """Disabling (a POST with the CSRF token) shows the question as disabled, in the list too;
    enabling brings it back. Both are audited."""
    question = questions_by_id(db, bank)["P-001"]
    path = f"/banks/pages/questions/{question.id}"
    token = csrf_token(client, path)
    response = client.post(f"{path}/enabled", data={"csrf_token": token, "enabled": "0"})
    assert response.status_code == 302
    assert 'data-testid="disabled"' in main(client.get(path))
    count, page = listed(client, "enabled=0")
    assert count == 1 and "城区范围内" in page
    assert listed(client, "enabled=1")[0] == SAMPLE_COUNT - 1
    client.post(f"{path}/enabled", data={"csrf_token": token, "enabled": "1"})
    assert 'data-testid="disabled"' not in main(client.get(path))
    from lms.audit.models import AuditEntry

    db.rollback()
    actions = set(db.scalars(sa.select(AuditEntry.action)))
    assert {"question.disable", "question.enable"} <= actions
    bad = client.post(f"{path}/enabled", data={"csrf_token": token, "enabled": "x"})
    assert bad.status_code == 400


# Editing -------------------------------------------------------------------------------------


def edit_data(question: QuestionData, **changes) -> dict:
    """The edit form's fields for ``question`` (plain text), with ``changes``."""
    data = {
        "text_format": "plain",
        "stem": "城区范围内，故障抢修人员到达现场的时限是多少？",
        "explanation": "城区 45 分钟。",
        "difficulty": "2",
        "points": "1",
        "knowledge_points": "服务承诺、故障抢修",
        "posts": "抢修",
        "source": "供电服务规范",
        "answer_true": "true",
        "reference_answer": "",
        "right": ["1"],
    }
    for number, choice in enumerate(["30分钟", "45分钟", "90分钟"]):
        data[f"options-{number}"] = choice
    data.update(changes)
    return data


def test_edit_makes_a_new_version_and_keeps_the_old(hr, bank, client, db):
    """Saving the edit form stores version 2; version 1 stays as it was; labels follow."""
    question = questions_by_id(db, bank)["P-001"]
    path = f"/banks/pages/questions/{question.id}/edit"
    token = csrf_token(client, path)
    form = edit_data(
        sample_questions()[0],
        csrf_token=token,
        stem="城区故障抢修到达现场时限？",
        **{"options-3": "2小时"},
        knowledge_points="服务承诺，抢修时限",
        difficulty="3",
    )
    response = client.post(path, data=form)
    assert response.status_code == 302, main(response)
    db.rollback()
    versions = services.versions(db, db.get(Question, question.id))
    assert [v.number for v in versions] == [2, 1]
    new, old = (QuestionData.from_dict(v.data) for v in versions)
    assert old.stem == "城区范围内，故障抢修人员到达现场的时限是多少？"
    assert new.stem == "城区故障抢修到达现场时限？"
    assert [c.text for c in new.choices] == ["30分钟", "45分钟", "90分钟", "2小时"]
    assert [c.fraction for c in new.choices] == [0.0, 1.0, 0.0, 0.0]
    assert new.knowledge_points == ["服务承诺", "抢修时限"] and new.difficulty == 3
    assert new.external_id == "P-001" and versions[0].created_by_id == hr.id
    assert listed(client, "knowledge_point=抢修时限")[0] == 1
    page = main(client.get(f"/banks/pages/questions/{question.id}"))
    assert "version 2" in page and "城区故障抢修到达现场时限" in page


def test_edit_without_change_makes_no_version(hr, bank, client, db):
    """Saving the form unchanged stores nothing."""
    question = questions_by_id(db, bank)["P-001"]
    path = f"/banks/pages/questions/{question.id}/edit"
    form = edit_data(sample_questions()[0], csrf_token=csrf_token(client, path))
    assert client.post(path, data=form).status_code == 302
    assert db.scalar(sa.select(sa.func.count()).select_from(QuestionVersion)) == SAMPLE_COUNT


def test_edit_refused_with_the_types_messages(hr, bank, client, db):
    """An edit its type refuses (no right option; no text) shows the messages, stores nothing."""
    question = questions_by_id(db, bank)["P-001"]
    path = f"/banks/pages/questions/{question.id}/edit"
    token = csrf_token(client, path)
    before = row_counts(db)
    response = client.post(path, data=edit_data(sample_questions()[0], csrf_token=token, right=[]))
    assert response.status_code == 200
    assert "No option is marked as right." in main(response)
    response = client.post(path, data=edit_data(sample_questions()[0], csrf_token=token, stem=" "))
    assert "The question has no text." in main(response)
    response = client.post(
        path, data=edit_data(sample_questions()[0], csrf_token=token, right=["0", "1"])
    )
    assert "exactly one right option" in main(response)
    response = client.post(
        path, data=edit_data(sample_questions()[0], csrf_token=token, points="x")
    )
    assert response.status_code == 200 and 'data-testid="edit-problems"' in main(response)
    assert row_counts(db) == before


def test_edit_html_is_sanitised(hr, bank, client, db):
    """HTML typed into the edit form is cleaned before it is stored."""
    question = questions_by_id(db, bank)["P-001"]
    path = f"/banks/pages/questions/{question.id}/edit"
    form = edit_data(
        sample_questions()[0],
        csrf_token=csrf_token(client, path),
        text_format="html",
        stem='<p onclick="x()">城区<script>alert(1)</script><b>时限</b></p>',
    )
    assert client.post(path, data=form).status_code == 302
    db.rollback()
    stored = services.current_data(db, db.get(Question, question.id))
    assert stored.stem == "<p>城区<b>时限</b></p>"


def test_edit_keeps_weights_when_only_texts_change(hr, bank, client, db):
    """A multiple-choice question's weights survive an edit of its texts."""
    question = questions_by_id(db, bank)["P-002"]
    path = f"/banks/pages/questions/{question.id}/edit"
    form = edit_data(
        sample_questions()[1],
        csrf_token=csrf_token(client, path),
        stem="以下哪些属于供电服务承诺？（多选）",
        knowledge_points="服务承诺",
        posts="营业窗口",
        source="",
        explanation="",
        difficulty="3",
        right=["0", "2"],
        **{"options-0": "95598 热线", "options-1": "赊欠电费", "options-2": "停电公告 7 天"},
    )
    assert client.post(path, data=form).status_code == 302
    db.rollback()
    stored = services.current_data(db, db.get(Question, question.id))
    assert [c.fraction for c in stored.choices] == [0.5, 0.0, 0.5]
    assert stored.choices[2].text == "停电公告 7 天"


def test_edit_true_false_answer(hr, bank, client, db):
    """The form changes a true/false question's answer."""
    question = questions_by_id(db, bank)["P-003"]
    path = f"/banks/pages/questions/{question.id}/edit"
    form = edit_data(
        sample_questions()[2],
        csrf_token=csrf_token(client, path),
        stem="计划停电应提前 3 天公告。",
        explanation="",
        difficulty="1",
        knowledge_points="停电管理",
        posts="",
        source="",
        answer_true="true",
    )
    assert client.post(path, data=form).status_code == 302
    db.rollback()
    assert services.current_data(db, db.get(Question, question.id)).answer_true is True


def test_edit_as_yaml(hr, bank, client, db):
    """A fill-in question's answers are edited as YAML: a new version with the new answers."""
    question = questions_by_id(db, bank)["P-004"]
    path = f"/banks/pages/questions/{question.id}/edit"
    page = client.get(path).get_data(as_text=True)
    shown = re.search(r'<textarea[^>]*name="yaml"[^>]*>(.*?)</textarea>', page, re.S)
    assert shown and "95598" in shown.group(1) and "fill_in" in shown.group(1)
    text = (
        "id: P-004\ntype: fill_in\nstem: 供电服务热线号码是 ___。\n"
        "blanks:\n  - ['95598', 九五五九八]\n"
    )
    token = csrf_token(client, path)
    response = client.post(
        f"/banks/pages/questions/{question.id}/edit-yaml", data={"csrf_token": token, "yaml": text}
    )
    assert response.status_code == 302, main(response)
    db.rollback()
    edited = db.get(Question, question.id)
    stored = services.current_data(db, edited)
    assert [a.text for a in stored.blanks[0]] == ["95598", "九五五九八"]
    assert edited.current_number == 2


def test_edit_as_yaml_errors_name_the_line(hr, bank, client, db):
    """Broken YAML or a refused question shows the problems (with the typed line), no 500."""
    question = questions_by_id(db, bank)["P-004"]
    url = f"/banks/pages/questions/{question.id}/edit-yaml"
    token = csrf_token(client, f"/banks/pages/questions/{question.id}/edit")
    before = row_counts(db)
    for text in (
        "type: fill_in\nstem: [unclosed\n",
        "type: nonsense\nstem: 甲\n",
        "- a\n- b\n",
        "",
    ):
        response = client.post(url, data={"csrf_token": token, "yaml": text})
        assert response.status_code == 200, text
        assert 'data-testid="edit-problems"' in main(response), text
    response = client.post(
        url, data={"csrf_token": token, "yaml": "type: fill_in\nstem: 没有空\nblanks: []\n"}
    )
    assert "needs at least one blank" in main(response)
    assert row_counts(db) == before


# Exports -------------------------------------------------------------------------------------


def test_export_page_links_every_writable_format(hr, bank, client):
    """The bank links to its export page, which offers each writable format."""
    assert "/banks/pages/export" in main(client.get("/banks/pages"))
    page = main(client.get("/banks/pages/export"))
    for name in writable_formats():
        assert f"/banks/pages/export.{name}" in page


def test_export_page_lists_what_a_format_leaves_out(hr, app, client, db):
    """A question a format cannot hold (GIFT: a fill-in with two blanks) is listed for it."""
    two_blanks = QuestionData(
        type="fill_in",
        stem="热线 ___，合格率 ___%。",
        blanks=[[Choice("95598", 1.0)], [Choice("95", 1.0)]],
        external_id="B-2",
    )
    store_bank(app, db, [two_blanks], code="blanks")
    page = main(client.get("/banks/blanks/export"))
    rows = re.findall(r"<tr>\s*<td>(\w+)</td>\s*<td>(.*?)</td>", page, re.S)
    left_out = {name: "×" in cell for name, cell in rows}
    assert left_out["gift"] and not left_out["yaml"], rows


@pytest.mark.parametrize("name", sorted(writable_formats()))
def test_export_downloads(hr, bank, client, name):
    """Each writable format downloads as an attachment named after the bank."""
    response = client.get(f"/banks/pages/export.{name}")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment; filename=pages.")
    assert response.data


def test_export_of_unknown_format_is_404(hr, bank, client):
    """An export format that does not exist (or cannot write) is 404."""
    assert client.get("/banks/pages/export.exe").status_code == 404
    assert client.get("/banks/pages/export.aiken").status_code == 404


# Web import ----------------------------------------------------------------------------------


def upload(client, files: list[tuple[bytes, str]], **fields):
    token = csrf_token(client, "/banks/import")
    data = {"csrf_token": token, "target": "file", "format": "", **fields}
    data["files"] = [(io.BytesIO(content), name) for content, name in files]
    return client.post("/banks/import", data=data, content_type="multipart/form-data")


def confirm(client, preview_html: str):
    token, csrf = hidden_value(preview_html, "token"), hidden_value(preview_html, "csrf_token")
    assert token and csrf, "no confirm form on the preview"
    return client.post("/banks/import/confirm", data={"csrf_token": csrf, "token": token})


finish = wait_for_job
count = count_rows


def test_web_import_preview_confirm_and_again(hr, client, db):
    """Upload a YAML bank: the preview lists every question and changes nothing; confirming
    runs the job; the same file again previews as all unchanged, with nothing to import."""
    preview = upload(client, [(SAMPLE_YAML.encode(), "test.yaml")])
    assert preview.status_code == 200
    page = main(preview)
    assert 'data-testid="import-summary"' in page
    assert 'data-testid="count-created">8<' in page
    listing = page.split('data-testid="import-questions"', 1)[1]
    assert listing.count("<tr>") == SAMPLE_COUNT + 1  # the header row and one per question
    assert "城区范围内" in listing and "A, B, D" in listing and "95598" in listing
    assert count(db, Question) == 0 and count(db, QuestionBank) == 0
    result = finish(client, confirm(client, page))
    assert result["state"] == "succeeded", result
    assert count(db, Question) == SAMPLE_COUNT
    assert 'data-testid="job-created">8<' in result["page"]
    bank = db.scalar(sa.select(QuestionBank))
    assert (bank.code, bank.title, bank.programme) == ("test-bank", "测试题库", "service_standards")

    again = main(upload(client, [(SAMPLE_YAML.encode(), "test.yaml")]))
    assert 'data-testid="count-unchanged">8<' in again
    assert 'data-testid="count-created">0<' in again
    assert re.search(r'<button type="submit" class="button primary" disabled>', again)


def test_web_import_changed_question_is_a_new_version(hr, client, db):
    """A changed question previews as a new version and imports as one."""
    finish(client, confirm(client, main(upload(client, [(SAMPLE_YAML.encode(), "a.yaml")]))))
    changed = SAMPLE_YAML.replace("城区 45 分钟，农村 90 分钟。", "城区 45 分钟。")
    page = main(upload(client, [(changed.encode(), "b.yaml")]))
    assert 'data-testid="count-new-versions">1<' in page
    result = finish(client, confirm(client, page))
    assert result["state"] == "succeeded"
    assert 'data-testid="job-new_versions">1<' in result["page"]
    assert count(db, QuestionVersion) == SAMPLE_COUNT + 1


def test_web_import_bad_file_lists_problems_and_keeps_nothing(hr, client, db, app):
    """A bad file's preview names the file and line of each problem, offers no import, keeps
    no upload, and changes nothing."""
    from pathlib import Path

    before = row_counts(db)
    page = main(upload(client, [(BAD_YAML.encode(), "bad.yaml")]))
    assert 'data-testid="import-errors"' in page
    errors = page.split('data-testid="import-errors"', 1)[1].split("</section>", 1)[0]
    assert re.search(r"<td>bad.yaml</td><td>(8|12)</td>", errors), errors
    assert 'name="token"' not in page
    assert row_counts(db) == before
    folder = Path(app.config["LMS_DATA_DIR"]) / "uploads" / "questions"
    assert not folder.exists() or list(folder.iterdir()) == []


def test_web_import_into_a_new_bank(hr, client, db):
    """Files may go into a new bank given a code and title (overriding the file's own)."""
    page = main(
        upload(
            client,
            [(SAMPLE_YAML.encode(), "test.yaml")],
            target="new",
            new_code="safety-2026",
            new_title="安规 2026",
        )
    )
    assert 'data-testid="count-created">8<' in page
    assert finish(client, confirm(client, page))["state"] == "succeeded"
    db.rollback()
    assert db.scalars(sa.select(QuestionBank.title)).all() == ["安规 2026"]


def test_web_import_gift_needs_a_bank(hr, client, db):
    """A GIFT file names no bank: the preview says so; into a new bank it imports."""
    gift = plain_gift().encode()
    page = main(upload(client, [(gift, "plain.gift")]))
    assert 'data-testid="import-errors"' in page and "names no bank" in page
    page = main(upload(client, [(gift, "plain.gift")], target="new", new_code="gift-bank"))
    assert 'data-testid="count-created">2<' in page
    assert finish(client, confirm(client, page))["state"] == "succeeded"
    assert count(db, Question) == 2


def test_web_import_new_bank_code_checked(hr, bank, client, db):
    """A new bank needs a valid code that is not taken yet."""
    for code, message in (
        ("", "Give the new bank a code."),
        ("Bad Code", "lower-case"),
        ("pages", "exists already"),
        ("import", "reserved"),
    ):
        response = upload(client, [(SAMPLE_YAML.encode(), "t.yaml")], target="new", new_code=code)
        assert response.status_code == 200
        assert message in main(response), code
    assert count(db, Question) == SAMPLE_COUNT


def test_web_import_into_an_existing_bank(hr, bank, client, db):
    """Choosing an existing bank puts every file's questions there."""
    page = main(upload(client, [(SAMPLE_YAML.encode(), "t.yaml")], target="bank:pages"))
    assert finish(client, confirm(client, page))["state"] == "succeeded"
    assert count(db, QuestionBank) == 1
    assert count(db, Question) == 2 * SAMPLE_COUNT


def test_web_import_two_files_all_or_nothing(hr, client, db):
    """A good and a bad file together import nothing; the problems name the bad file."""
    page = main(
        upload(client, [(SAMPLE_YAML.encode(), "good.yaml"), (BAD_YAML.encode(), "bad.yaml")])
    )
    assert 'data-testid="import-errors"' in page and "<td>bad.yaml</td>" in page
    assert "<td>good.yaml</td>" in page.split('data-testid="import-questions"', 1)[1]
    assert count(db, Question) == 0


def test_web_import_unreadable_and_missing_files(hr, client):
    """Bytes nobody can read get a message, not an error page; no file shows the form again."""
    page = main(upload(client, [(b"\x00\x01\x02" * 50, "x.bin")]))
    assert 'data-testid="import-errors"' in page and "x.bin" in page
    token = csrf_token(client, "/banks/import")
    response = client.post(
        "/banks/import", data={"csrf_token": token, "target": "file", "format": ""}
    )
    assert response.status_code == 200
    assert 'enctype="multipart/form-data"' in response.get_data(as_text=True)


def test_confirm_twice_or_unknown_token(hr, client, db, app):
    """A preview confirms once; unknown or malformed tokens are 404; the upload is removed."""
    from pathlib import Path

    page = main(upload(client, [(SAMPLE_YAML.encode(), "t.yaml")]))
    assert finish(client, confirm(client, page))["state"] == "succeeded"
    assert confirm(client, page).status_code == 404
    folder = Path(app.config["LMS_DATA_DIR"]) / "uploads"
    assert list(folder.iterdir()) == []
    token = csrf_token(client, "/banks/import")
    for value in ("abc", "../../etc/passwd", "x.json"):
        response = client.post("/banks/import/confirm", data={"csrf_token": token, "token": value})
        assert response.status_code == 404, value


# Access --------------------------------------------------------------------------------------


def question_urls(app, bank, question) -> tuple[list[str], list[str]]:
    """Every GET and POST URL of the questions blueprint, filled in with real ids."""
    gets, posts = [], []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("lms.questions."):
            continue
        values = {"code": bank.code, "question_id": question.id, "fmt": "yaml"}
        url = rule.build({k: v for k, v in values.items() if k in rule.arguments})[1]
        if "GET" in rule.methods:
            gets.append(url)
        if "POST" in rule.methods:
            posts.append(url)
    return gets, posts


@pytest.mark.parametrize("role", [Role.employee, Role.manager])
def test_non_hr_gets_404_everywhere(role, app, bank, client, db, create_employee, login):
    """Employees and managers get 404 on every question bank URL, GET and POST alike."""
    question = next(iter(questions_by_id(db, bank).values()))
    gets, posts = question_urls(app, bank, question)
    assert len(gets) >= 6 and len(posts) >= 5
    login(create_employee(role=role))
    token = csrf_token(client, "/")
    for url in gets:
        assert client.get(url).status_code == 404, url
    for url in posts:
        assert client.post(url, data={"csrf_token": token, "enabled": "0"}).status_code == 404, url
    assert 'href="/banks"' not in client.get("/").get_data(as_text=True)
    db.rollback()
    assert db.get(Question, question.id).enabled


def test_admin_may_use_the_pages(app, bank, client, db, create_employee, login):
    """Admins see the question bank pages like HR."""
    login(create_employee(role=Role.admin))
    question = next(iter(questions_by_id(db, bank).values()))
    gets, _posts = question_urls(app, bank, question)
    for url in gets:
        assert client.get(url).status_code == 200, url


def test_anonymous_is_sent_to_sign_in(bank, client):
    """Without signing in, the pages redirect to the sign-in page."""
    response = client.get("/banks")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_post_routes_need_csrf(hr, bank, client, db, app):
    """Every question bank POST without a valid CSRF token is refused with 400."""
    question = next(iter(questions_by_id(db, bank).values()))
    _gets, posts = question_urls(app, bank, question)
    for url in posts:
        assert client.post(url, data={"enabled": "0"}).status_code == 400, url
        assert client.post(url, data={"csrf_token": "forged", "enabled": "0"}).status_code == 400
    db.rollback()
    assert db.get(Question, question.id).enabled


def test_no_inline_script_on_question_pages(hr, bank, client, db):
    """The question pages carry no inline script or event handler attributes."""
    question = next(iter(questions_by_id(db, bank).values()))
    for path in (
        "/banks",
        "/banks/pages",
        f"/banks/pages/questions/{question.id}",
        f"/banks/pages/questions/{question.id}/edit",
        "/banks/import",
    ):
        html = client.get(path).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert not re.search(r"\son[a-z]+=", html), path
