"""Editing the catalogue: courses, their lessons and files, publishing and retiring.

HR's pages (:mod:`lms.courses.admin_views`) call these services; so may a loader or a script.
They take the acting employee and plain values, check them, audit every change and only flush;
the caller commits. A refused change raises :class:`CatalogueError`, whose ``problems`` name
the field each message belongs to.

Lessons are edited in place; publishing freezes the course into its next version (see
:mod:`lms.courses.services`), and only when something changed since the last one. Audience and
prerequisites are not part of a version: they say who should take the course and who may start
it, not what is studied, so they apply at once. A published course is withdrawn by retiring it
(hidden from the catalogue; runs already started carry on) and may be reinstated; there is no
way back to draft. A course that was never published may be deleted.
"""

from lms.courses.admin.attachments import (
    StoredFile,
    blob_path,
    delete_attachment,
    find_attachment,
    remove_unused_file,
    store_attachment,
)
from lms.courses.admin.courses import (
    CatalogueError,
    CourseFields,
    create_course,
    delete_course,
    delete_problem,
    search_courses,
    update_course,
)
from lms.courses.admin.lessons import (
    LessonFields,
    add_lesson,
    delete_lesson,
    move_lesson,
    update_lesson,
    video_url_problem,
)
from lms.courses.admin.versions import (
    compare,
    latest_version,
    pending_changes,
    publish_course,
    publish_problem,
    reinstate_course,
    retire_course,
    version_history,
    versions,
)

__all__ = [
    "CatalogueError",
    "CourseFields",
    "LessonFields",
    "StoredFile",
    "add_lesson",
    "blob_path",
    "compare",
    "create_course",
    "delete_attachment",
    "delete_course",
    "delete_lesson",
    "delete_problem",
    "find_attachment",
    "latest_version",
    "move_lesson",
    "pending_changes",
    "publish_course",
    "publish_problem",
    "reinstate_course",
    "remove_unused_file",
    "retire_course",
    "search_courses",
    "store_attachment",
    "update_course",
    "update_lesson",
    "version_history",
    "versions",
    "video_url_problem",
]
