"""Importing through the web: upload, preview (which changes nothing), confirm, job, result."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from lms.org.models import Employee, Role, Unit
from tests.conftest import count_rows, csrf_token, hidden_value, wait_for_job


@pytest.fixture
def hr(create_employee, login):
    """An HR employee, signed in."""
    person = create_employee(role=Role.hr, emp_no="HR0001")
    login(person)
    return person


def upload(client, kind: str, data: bytes, name: str):
    token = csrf_token(client, "/import")
    return client.post(
        "/import",
        data={"csrf_token": token, "kind": kind, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def confirm(client, preview_html: str):
    token, csrf = hidden_value(preview_html, "token"), hidden_value(preview_html, "csrf_token")
    assert token and csrf, "no confirm form on the preview"
    return client.post("/import/confirm", data={"csrf_token": csrf, "token": token})


finish = wait_for_job
count = count_rows


def test_units_then_employees(hr, client, files, db):
    """HR previews (nothing changes), confirms, the job runs, and the data is imported."""
    units_before = count(db, Unit)
    preview = upload(client, "units", (files / "units.csv").read_bytes(), "units.csv")
    assert preview.status_code == 200
    page = preview.get_data(as_text=True)
    assert 'data-testid="import-summary"' in page
    assert count(db, Unit) == units_before
    result = finish(client, confirm(client, page))
    assert result["state"] == "succeeded"
    assert count(db, Unit) == units_before + 7

    preview = upload(client, "employees", (files / "employees.csv").read_bytes(), "e.csv")
    page = preview.get_data(as_text=True)
    assert "营业窗口" in page and "收费" in page  # new posts listed
    assert count(db, Employee) == 1
    result = finish(client, confirm(client, page))
    assert result["state"] == "succeeded"
    assert count(db, Employee) == 4
    assert 'data-testid="job-created">3<' in result["page"]


def test_preview_lists_problems_and_changes_nothing(hr, client, files, db, import_units):
    """A bad file's preview lists each problem with its line and column, and offers no import."""
    import_units((files / "units.csv").read_bytes())
    before = count(db, Employee)
    preview = upload(client, "employees", (files / "employees_bad.csv").read_bytes(), "bad.csv")
    page = preview.get_data(as_text=True)
    assert 'data-testid="import-errors"' in page
    rows = re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td><td>([^<]*)</td></tr>", page)
    assert sorted((int(line), column) for line, column, _message in rows) == [
        (3, "工号"),
        (4, "单位"),
        (5, "入职日期"),
    ]
    assert 'name="token"' not in page
    assert count(db, Employee) == before


def test_preview_of_file_without_a_column(hr, client, db):
    """A file missing a column: the preview names the column on line 1."""
    preview = upload(client, "employees", "工号,姓名\n1,甲\n".encode(), "x.csv")
    page = preview.get_data(as_text=True)
    assert re.search(r"<tr><td>1</td><td>单位</td>", page)


def test_preview_of_unreadable_file(hr, client):
    """A file that is not CSV or XLSX gets a message, not an error page."""
    preview = upload(client, "employees", b"\x00\x01\x02" * 50, "x.bin")
    assert preview.status_code == 200
    assert 'data-testid="import-errors"' in preview.get_data(as_text=True)


def test_upload_without_file(hr, client):
    """Submitting the form without a file shows the form again."""
    token = csrf_token(client, "/import")
    response = client.post("/import", data={"csrf_token": token, "kind": "employees"})
    assert response.status_code == 200
    assert 'enctype="multipart/form-data"' in response.get_data(as_text=True)


def test_confirm_with_unknown_token(hr, client):
    """Confirming an upload that does not exist, or a malformed token, is 404."""
    token = csrf_token(client, "/import")
    for value in ("abc", "../../etc/passwd", "x.json"):
        response = client.post("/import/confirm", data={"csrf_token": token, "token": value})
        assert response.status_code == 404, value
    assert client.post("/import/confirm", data={"csrf_token": token}).status_code == 400


def test_confirm_twice_imports_once(hr, client, files, app, db):
    """A second confirm of the same preview is 404; the upload is removed after the job."""
    page = upload(client, "units", (files / "units.csv").read_bytes(), "u.csv")
    page = page.get_data(as_text=True)
    result = finish(client, confirm(client, page))
    assert result["state"] == "succeeded"
    assert confirm(client, page).status_code == 404
    assert list((Path(app.config["LMS_DATA_DIR"]) / "uploads").iterdir()) == []


def test_bad_file_is_not_kept(hr, client, files, app):
    """A file with errors is not stored for a confirm."""
    upload(client, "employees", (files / "employees_bad.csv").read_bytes(), "bad.csv")
    folder = Path(app.config["LMS_DATA_DIR"]) / "uploads"
    assert not folder.exists() or list(folder.iterdir()) == []


def test_import_hidden_from_non_hr(create_employee, login, client):
    """Employees and managers get 404 on the import pages."""
    for role in (Role.employee, Role.manager):
        client.delete_cookie("lms_session")
        client.delete_cookie("session")
        person = create_employee(role=role)
        login(person)
        assert client.get("/import").status_code == 404
        token = csrf_token(client, "/")
        assert client.post("/import", data={"csrf_token": token}).status_code == 404
        assert client.post("/import/confirm", data={"csrf_token": token}).status_code == 404


def test_job_page_lists_errors(hr, client, app, files):
    """An import job that found problems shows them on its page, line and column each."""
    from lms.jobs.services import run_now

    params = {"kind": "employees", "path": str(files / "employees_bad.csv"), "file": "bad.csv"}
    job = run_now(app, "org.import", params, actor=hr)
    assert job.result["errors"] and (files / "employees_bad.csv").exists()
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert 'data-testid="job-errors"' in page
    assert re.search(r"<tr><td>4</td><td>单位</td>", page)
