"""Files of lessons: checked by their bytes, stored by their content hash, found for download.

What a file is comes from its first bytes, never from its name or the browser's word for it:
PNG, JPEG, GIF and WebP images; PDF; Word, Excel and PowerPoint documents (a zip whose
``[Content_Types].xml`` names the document's main part, without macros); plain text that is not
markup. Anything else is refused. A file is stored once under
``<data dir>/attachments/<sha256[:2]>/<sha256>``; its name is kept in the row for downloads and
never becomes part of a path.

Published versions list the files their lessons had (with their hashes), so that a person on an
older version still gets a file after it was removed from the lesson; a stored file is deleted
only when no lesson and no version refers to it any more.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import sqlalchemy as sa
from defusedxml import ElementTree
from sqlalchemy.orm import Session

from lms import storage
from lms.audit.services import record as audit
from lms.courses.admin.courses import CatalogueError
from lms.courses.models import Course, CourseVersion, Lesson, LessonAttachment
from lms.i18n import gettext as _
from lms.org.models import Employee

DEFAULT_MAX_BYTES = 20 * 1024 * 1024

#: content type -> file name extensions it may have
IMAGES = {
    "image/png": ("png",),
    "image/jpeg": ("jpg", "jpeg", "jpe"),
    "image/gif": ("gif",),
    "image/webp": ("webp",),
}
PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
TEXT = "text/plain; charset=utf-8"
TEXT_GB18030 = "text/plain; charset=gb18030"
DOCUMENTS = {
    PDF: ("pdf",),
    DOCX: ("docx",),
    XLSX: ("xlsx",),
    PPTX: ("pptx",),
    TEXT: ("txt", "text", "md", "csv", "log"),
    TEXT_GB18030: ("txt", "text", "md", "csv", "log"),
}
#: the main part of each Office document, as ``[Content_Types].xml`` declares it
OFFICE_MAIN_PARTS = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": DOCX,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": XLSX,
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml": PPTX,
}
CONTENT_TYPES_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"
#: what text that a browser might read as a page (or an SVG image) starts with
MARKUP = (b"<!doctype", b"<html", b"<head", b"<body", b"<script", b"<svg", b"<?xml", b"<iframe")


def is_image(content_type: str) -> bool:
    return content_type in IMAGES


def accepted_kinds() -> str:
    return _(
        "Accepted: PNG, JPEG, GIF and WebP images, PDF, Word (DOCX), Excel (XLSX), "
        "PowerPoint (PPTX) and plain text files."
    )


def _office_type(data: bytes) -> str | None:
    """DOCX, XLSX or PPTX from a zip's ``[Content_Types].xml``; None for any other zip, or one
    with macros."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            info = archive.getinfo("[Content_Types].xml")
            if info.file_size > 1024 * 1024:
                return None
            root = ElementTree.fromstring(archive.read(info))
            names = [n.lower() for n in archive.namelist()]
    except Exception:  # not a zip, no such part, bad XML, DTDs or entities, encrypted members...
        return None
    declared = {
        element.get("ContentType", "").lower()
        for element in root
        if element.tag in (CONTENT_TYPES_NS + "Override", CONTENT_TYPES_NS + "Default")
    }
    if any("macroenabled" in t or "vbaproject" in t for t in declared) or any(
        n.endswith("vbaproject.bin") for n in names
    ):
        return None
    found = {OFFICE_MAIN_PARTS[t] for t in declared if t in OFFICE_MAIN_PARTS}
    return found.pop() if len(found) == 1 else None


def _text_type(data: bytes) -> str | None:
    """Plain text (UTF-8, or GB18030 as Chinese offices save it) with no control characters
    and nothing that reads as markup."""
    if b"\x00" in data:
        return None
    for encoding, content_type in (("utf-8-sig", TEXT), ("gb18030", TEXT_GB18030)):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if any((ord(c) < 32 and c not in "\t\n\r\f") or ord(c) == 127 for c in text):
            return None
        return content_type
    return None


def looks_like_markup(data: bytes) -> bool:
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n\f").lower()
    return head.startswith(b"<") or any(tag in head for tag in MARKUP)


def detect_type(data: bytes) -> str | None:
    """The content type of ``data`` from its bytes, if it is a kind that lessons accept."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"PK\x03\x04"):
        return _office_type(data)
    if looks_like_markup(data):
        return None
    return _text_type(data)


def clean_filename(name: str) -> str:
    """The file's own name without any folders, control characters or leading dots, at most
    200 characters (its extension kept): what a download is called, never a path."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable()).strip().lstrip(".").strip()
    if len(name) > 200:
        suffix = PurePosixPath(name).suffix[:20]
        name = name[: 200 - len(suffix)] + suffix
    return name or "file"


def _extension(name: str) -> str:
    return PurePosixPath(name).suffix.lower().lstrip(".")


def check_file(filename: str, data: bytes, *, max_bytes: int) -> str:
    """The content type of an uploaded file, or :class:`CatalogueError` saying why not."""
    if not data:
        raise CatalogueError({"file": _("The file %(name)s is empty.", name=filename)})
    if len(data) > max_bytes:
        raise CatalogueError(
            {
                "file": _(
                    "The file %(name)s is larger than the limit of %(mb)d MB.",
                    name=filename,
                    mb=max_bytes // (1024 * 1024),
                )
            }
        )
    content_type = detect_type(data)
    if content_type is None:
        if not data.startswith(b"PK") and looks_like_markup(data):
            message = _("%(name)s is HTML, SVG or XML, which lessons do not accept.", name=filename)
        else:
            message = _("%(name)s is not a kind of file that lessons accept.", name=filename)
        raise CatalogueError({"file": f"{message} {accepted_kinds()}"})
    extension = _extension(filename)
    allowed = (
        {e for names in IMAGES.values() for e in names}
        if is_image(content_type)
        else set(DOCUMENTS[content_type])
    )
    if extension and extension not in allowed:
        raise CatalogueError(
            {
                "file": _(
                    "The content of %(name)s does not match its name: it is %(kind)s.",
                    name=filename,
                    kind=content_type.split(";")[0],
                )
            }
        )
    return content_type


def blob_path(data_dir: str | Path, sha256: str) -> Path:
    """Where the file with this hash is stored (the hash is checked to be one)."""
    return storage.blob_path(data_dir, "attachments", sha256)


def store_attachment(
    db: Session,
    lesson: Lesson,
    filename: str,
    data: bytes,
    *,
    data_dir: str | Path,
    max_bytes: int = DEFAULT_MAX_BYTES,
    actor: Employee | None = None,
) -> LessonAttachment:
    """Check an uploaded file by its bytes, store it by its hash and attach it to the lesson.
    Raises :class:`CatalogueError` for an empty, oversized or unaccepted file."""
    name = clean_filename(filename)
    content_type = check_file(name, data, max_bytes=max_bytes)
    sha256 = hashlib.sha256(data).hexdigest()
    storage.write_blob(blob_path(data_dir, sha256), data)
    attachment = LessonAttachment(
        lesson_id=lesson.id, filename=name, content_type=content_type, size=len(data), sha256=sha256
    )
    db.add(attachment)
    db.flush()
    db.expire(lesson, ["attachments"])
    audit(
        db,
        actor=actor,
        action="attachment.add",
        object_type="course",
        object_id=lesson.course.code,
        summary=f"{lesson.title}: {name}",
        after={"lesson_id": lesson.id, "attachment_id": attachment.id, "sha256": sha256},
    )
    db.flush()
    return attachment


def delete_attachment(db: Session, actor: Employee | None, attachment: LessonAttachment) -> str:
    """Remove a file from its lesson (published versions keep it). Returns its hash: once the
    change is committed, :func:`remove_unused_file` deletes the stored file if nothing else
    refers to it."""
    lesson = attachment.lesson
    audit(
        db,
        actor=actor,
        action="attachment.delete",
        object_type="course",
        object_id=lesson.course.code,
        summary=f"{lesson.title}: {attachment.filename}",
        before={"lesson_id": lesson.id, "attachment_id": attachment.id},
    )
    sha256 = attachment.sha256
    db.delete(attachment)
    db.flush()
    db.expire(lesson, ["attachments"])
    return sha256


def file_in_use(db: Session, sha256: str) -> bool:
    """Whether a lesson or a published version refers to the stored file."""
    if db.scalar(sa.select(LessonAttachment.id).where(LessonAttachment.sha256 == sha256).limit(1)):
        return True
    as_text = sa.cast(CourseVersion.snapshot, sa.Text)
    return bool(db.scalar(sa.select(CourseVersion.id).where(as_text.contains(sha256)).limit(1)))


def remove_unused_file(db: Session, sha256: str, *, data_dir: str | Path) -> bool:
    """Delete the stored file when nothing refers to it any more (call after committing the
    deletion of its last row). True when the file was deleted."""
    if file_in_use(db, sha256):
        return False
    with contextlib.suppress(FileNotFoundError):
        blob_path(data_dir, sha256).unlink()
        return True
    return False


@dataclass(frozen=True)
class StoredFile:
    """A file to send: what it is called, its type, and its hash (where it is stored)."""

    id: int
    filename: str
    content_type: str
    size: int
    sha256: str

    @property
    def is_image(self) -> bool:
        return is_image(self.content_type)


def find_attachment(
    db: Session, course: Course, attachment_id: int, *, drafts: bool
) -> StoredFile | None:
    """A file of the course: for ``drafts`` (HR) any file of its lessons or of a published
    version; otherwise only one that a published version lists (files added since are not
    published yet)."""
    row = db.scalar(
        sa.select(LessonAttachment)
        .join(Lesson, LessonAttachment.lesson_id == Lesson.id)
        .where(LessonAttachment.id == attachment_id, Lesson.course_id == course.id)
    )
    if row is not None and drafts:
        return StoredFile(row.id, row.filename, row.content_type, row.size, row.sha256)
    snapshots = db.scalars(
        sa.select(CourseVersion.snapshot)
        .where(CourseVersion.course_id == course.id)
        .order_by(CourseVersion.number.desc())
    )
    for snapshot in snapshots:
        for lesson in snapshot.get("lessons", []):
            for item in lesson.get("attachments", []):
                if item.get("id") != attachment_id:
                    continue
                sha256 = item.get("sha256") or (row.sha256 if row is not None else None)
                if sha256:
                    return StoredFile(
                        attachment_id,
                        item["filename"],
                        item["content_type"],
                        item.get("size", 0),
                        sha256,
                    )
    return None
