"""Lesson files: the type from the bytes, content-addressed storage, safe downloads, access."""

from __future__ import annotations

import hashlib
import io
import re
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
import sqlalchemy as sa

from lms.courses import admin
from lms.courses.models import LessonAttachment
from lms.org.models import Role
from tests.conftest import csrf_token


@pytest.fixture
def app_config():
    """English messages, which the assertions quote."""
    return {"LMS_DEFAULT_LOCALE": "en"}


@pytest.fixture
def hr(create_employee, login):
    """An HR employee, signed in."""
    person = create_employee(role=Role.hr)
    login(person)
    return person


def png(width: int = 1, extra: bytes = b"") -> bytes:
    """A real PNG image (``extra`` bytes in a private chunk make it as large as wanted)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, 1, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00" + b"\x80" * width)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + (chunk(b"prIv", extra) if extra else b"")
        + chunk(b"IDAT", pixels)
        + chunk(b"IEND", b"")
    )


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
)
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64


def office(main_type: str, extra: dict[str, bytes] | None = None) -> bytes:
    """A zip with ``[Content_Types].xml`` naming ``main_type`` for its main part."""
    types = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/word/document.xml" ContentType="{main_type}"/></Types>'
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", types)
        archive.writestr("word/document.xml", "<w:document/>")
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


DOCX_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
DOCM_MAIN = "application/vnd.ms-word.document.macroEnabled.main+xml"


@pytest.fixture
def lesson(app, db, create_course):
    """A draft course with one lesson."""
    return create_course(published=False, lessons=1).lessons[0]


def upload(client, lesson, data: bytes, name: str):
    url = f"/admin/courses/{lesson.course_id}/lessons/{lesson.id}"
    form = {"csrf_token": csrf_token(client, url), "file": (io.BytesIO(data), name)}
    return client.post(f"{url}/attachments", data=form, content_type="multipart/form-data")


def flashes(client, lesson) -> str:
    page = client.get(f"/admin/courses/{lesson.course_id}/lessons/{lesson.id}")
    return " ".join(re.findall(r'class="flash[^"]*"[^>]*>([^<]*)<', page.get_data(as_text=True)))


def stored(db) -> list[LessonAttachment]:
    db.rollback()
    db.expire_all()
    return db.scalars(sa.select(LessonAttachment).order_by(LessonAttachment.id)).all()


def file_url(attachment: LessonAttachment | int, course_id: int) -> str:
    number = attachment if isinstance(attachment, int) else attachment.id
    return f"/courses/{course_id}/attachments/{number}"


def test_png_stored_by_hash_and_served_inline(app, hr, client, db, lesson):
    """A PNG is stored under attachments/<sha[:2]>/<sha> and served inline with its type,
    nosniff and a sandboxing CSP."""
    data = png()
    assert upload(client, lesson, data, "示意图.png").status_code == 302
    assert "示意图.png is added to the lesson." in flashes(client, lesson)
    (row,) = stored(db)
    sha = hashlib.sha256(data).hexdigest()
    assert (row.filename, row.content_type, row.size, row.sha256) == (
        "示意图.png",
        "image/png",
        len(data),
        sha,
    )
    assert (Path(app.config["LMS_DATA_DIR"]) / "attachments" / sha[:2] / sha).read_bytes() == data
    response = client.get(file_url(row, lesson.course_id))
    assert response.status_code == 200 and response.data == data
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert response.headers["Content-Disposition"].startswith("inline")
    page = client.get(f"/admin/courses/{lesson.course_id}/lessons/{lesson.id}").get_data(
        as_text=True
    )
    assert f"![示意图.png](/courses/{lesson.course_id}/attachments/{row.id})" in page


def test_pdf_docx_xlsx_and_text_accepted_and_downloaded(app, hr, client, db, lesson):
    """PDF, Word, Excel and plain text are accepted and downloaded as attachments."""
    from openpyxl import Workbook

    workbook = io.BytesIO()
    Workbook().save(workbook)
    files = [
        (PDF, "规程.pdf", "application/pdf"),
        (office(DOCX_MAIN), "讲义.docx", admin.attachments.DOCX),
        (workbook.getvalue(), "台账.xlsx", admin.attachments.XLSX),
        ("停电通知：提前7天公告。\n".encode(), "notes.txt", "text/plain; charset=utf-8"),
        ("供电所纪律".encode("gb18030"), "纪律.txt", "text/plain; charset=gb18030"),
    ]
    for data, name, _type in files:
        assert upload(client, lesson, data, name).status_code == 302
    rows = stored(db)
    assert [(r.filename, r.content_type) for r in rows] == [(n, t) for _d, n, t in files]
    pdf = client.get(file_url(rows[0], lesson.course_id))
    assert pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.headers["Content-Disposition"].startswith("attachment")
    assert pdf.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in pdf.headers["Content-Security-Policy"]
    assert (
        client.get(file_url(rows[3], lesson.course_id))
        .headers["Content-Disposition"]
        .startswith("attachment")
    )


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (HTML, "x.png", "x.png is HTML, SVG or XML, which lessons do not accept."),
        (SVG, "x.svg", "x.svg is HTML, SVG or XML"),
        (SVG, "x.png", "x.png is HTML, SVG or XML"),
        (b"\n  <div onmouseover=alert(1)>hi</div>", "x.txt", "is HTML, SVG or XML"),
        (EXE, "setup.exe", "setup.exe is not a kind of file that lessons accept."),
        (EXE, "x.png", "x.png is not a kind of file that lessons accept."),
        (office(DOCM_MAIN, {"word/vbaProject.bin": b"x"}), "x.docx", "not a kind of file"),
        (office("application/xml"), "x.docx", "not a kind of file"),
        (PDF, "x.png", "The content of x.png does not match its name: it is application/pdf."),
        (b"just text", "x.png", "does not match its name: it is text/plain."),
        (b"", "empty.pdf", "The file empty.pdf is empty."),
    ],
)
def test_unaccepted_files_refused_with_a_message(hr, client, db, lesson, data, name, message):
    """What a file is comes from its bytes: HTML, SVG, programs, macros, mismatched names and
    empty files are refused with a clear message, and nothing is stored."""
    assert upload(client, lesson, data, name).status_code == 302
    shown = flashes(client, lesson)
    assert message in shown
    if "not a kind" in message or "HTML" in message:
        assert "Accepted: PNG, JPEG, GIF and WebP images, PDF" in shown
    assert stored(db) == []


def test_image_with_another_image_extension_is_kept_as_what_it_is(hr, client, db, lesson):
    """A PNG saved as .jpg is accepted as the PNG it is."""
    upload(client, lesson, png(), "photo.jpg")
    assert [(r.filename, r.content_type) for r in stored(db)] == [("photo.jpg", "image/png")]


@pytest.mark.parametrize(
    "name", ["../../../../evil.png", "..\\..\\evil.png", "/etc/evil.png", "....//evil.png"]
)
def test_folders_in_file_names_have_no_effect(app, hr, client, db, lesson, name):
    """A file name with folders in it keeps only its last part; storage uses the hash."""
    data = png()
    upload(client, lesson, data, name)
    (row,) = stored(db)
    assert row.filename == "evil.png"
    data_dir = Path(app.config["LMS_DATA_DIR"])
    found = [p for p in data_dir.parent.rglob("evil.png")]
    assert found == []
    assert (data_dir / "attachments" / row.sha256[:2] / row.sha256).is_file()


@pytest.mark.parametrize("app_config", [{"LMS_DEFAULT_LOCALE": "en", "LMS_MAX_UPLOAD_MB": 1}])
def test_oversize_upload_refused(app, hr, client, db, lesson):
    """A file over LMS_MAX_UPLOAD_MB is refused (the request itself, 413) and nothing stored."""
    response = upload(client, lesson, png(extra=b"\x00" * (1024 * 1024 + 10)), "big.png")
    assert response.status_code == 413
    assert "larger than the limit of 1 MB" in response.get_data(as_text=True)
    assert stored(db) == []


def test_service_refuses_oversize_and_names_the_limit(app, db, lesson):
    """store_attachment checks the size itself too."""
    with app.app_context(), pytest.raises(admin.CatalogueError) as refused:
        admin.store_attachment(
            db,
            lesson,
            "a.png",
            png(extra=b"x" * (1024 * 1024)),
            data_dir=app.config["LMS_DATA_DIR"],
            max_bytes=1024 * 1024,
        )
    assert "larger than the limit of 1 MB" in refused.value.problems["file"]


# Access ----------------------------------------------------------------------------------------


def publish(app, db, course) -> None:
    from lms.courses import services

    db.rollback()
    db.expire_all()
    with app.app_context():
        services.publish(db, course, actor=None)
        db.commit()


def test_employees_get_published_files_only(app, hr, client, db, lesson, create_employee, login):
    """Employees: 404 for a draft's files and for files added since the last publication;
    a published file still downloads from its version after HR removed it from the lesson."""
    upload(client, lesson, png(), "一.png")
    (first,) = stored(db)
    first = first.id
    course = lesson.course
    employee_client = client.application.test_client()
    person = create_employee()
    token = csrf_token(employee_client, "/login")
    employee_client.post(
        "/login",
        data={"emp_no": person.emp_no, "password": "correct-horse-42", "csrf_token": token},
    )
    assert employee_client.get(file_url(first, course.id)).status_code == 404  # a draft
    publish(app, db, course)
    assert employee_client.get(file_url(first, course.id)).status_code == 200
    upload(client, lesson, PDF, "二.pdf")
    second = stored(db)[1]
    assert employee_client.get(file_url(second, course.id)).status_code == 404  # not published
    assert client.get(file_url(second, course.id)).status_code == 200  # HR sees drafts
    url = f"/admin/courses/{course.id}/lessons/{lesson.id}"
    removed = client.post(
        f"{url}/attachments/{first}/delete", data={"csrf_token": csrf_token(client, url)}
    )
    assert removed.status_code == 302
    assert [r.id for r in stored(db)] == [second.id]
    kept = employee_client.get(file_url(first, course.id))
    assert kept.status_code == 200 and kept.data == png()  # from version 1
    assert client.get(f"/courses/{course.id + 1}/attachments/{first}").status_code == 404
    assert employee_client.get(f"/courses/{course.id}/attachments/99999").status_code == 404


def test_unpublished_file_is_deleted_from_disk_when_removed(app, hr, client, db, lesson):
    """Removing a file that no version lists deletes the stored file too."""
    data = png(width=3)
    upload(client, lesson, data, "草稿图.png")
    (row,) = stored(db)
    path = Path(app.config["LMS_DATA_DIR"]) / "attachments" / row.sha256[:2] / row.sha256
    assert path.is_file()
    url = f"/admin/courses/{lesson.course_id}/lessons/{lesson.id}"
    client.post(f"{url}/attachments/{row.id}/delete", data={"csrf_token": csrf_token(client, url)})
    assert stored(db) == [] and not path.exists()


def test_same_file_twice_is_stored_once(app, hr, client, db, lesson):
    """Two uploads of the same bytes share one stored file; removing one keeps it for the other."""
    upload(client, lesson, PDF, "a.pdf")
    upload(client, lesson, PDF, "b.pdf")
    first, second = stored(db)
    assert first.sha256 == second.sha256
    url = f"/admin/courses/{lesson.course_id}/lessons/{lesson.id}"
    client.post(
        f"{url}/attachments/{first.id}/delete", data={"csrf_token": csrf_token(client, url)}
    )
    assert [row.id for row in stored(db)] == [second.id]
    assert client.get(file_url(second, lesson.course_id)).data == PDF


def test_anonymous_download_goes_to_sign_in(app, db, client, create_course):
    """Signed out, a file URL sends to the sign-in page."""
    course = create_course()
    response = client.get(f"/courses/{course.id}/attachments/1")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_image_reference_survives_the_sanitiser(hr, client, db, lesson):
    """The Markdown of an image of the lesson renders as an image of this site in the preview."""
    upload(client, lesson, png(), "图.png")
    (row,) = stored(db)
    url = f"/admin/courses/{lesson.course_id}/lessons/{lesson.id}"
    body = f"看图：\n\n![图](/courses/{lesson.course_id}/attachments/{row.id})"
    response = client.post(
        url,
        data={
            "csrf_token": csrf_token(client, url),
            "title": "课",
            "body": body,
            "video_url": "",
            "min_seconds": "0",
            "action": "preview",
        },
    )
    preview = response.get_data(as_text=True).split('data-testid="preview"', 1)[1]
    assert f'<img src="/courses/{lesson.course_id}/attachments/{row.id}" alt="图">' in preview
