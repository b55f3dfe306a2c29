"""Imports every model module, so that the metadata is complete (Alembic, tests)."""

from lms.audit.models import AuditEntry
from lms.auth.models import LoginFailure
from lms.courses.models import (
    Course,
    CourseRun,
    CourseVersion,
    Lesson,
    LessonAttachment,
    LessonProgress,
)
from lms.jobs.models import Job
from lms.org.models import Employee, EmployeeMove, Post, Unit
from lms.questions.models import Question, QuestionBank, QuestionLabel, QuestionVersion
from lms.training.models import Assignment, LedgerEntry, Programme

__all__ = [
    "Assignment",
    "AuditEntry",
    "Course",
    "CourseRun",
    "CourseVersion",
    "Employee",
    "EmployeeMove",
    "Job",
    "LedgerEntry",
    "Lesson",
    "LessonAttachment",
    "LessonProgress",
    "LoginFailure",
    "Post",
    "Programme",
    "Question",
    "QuestionBank",
    "QuestionLabel",
    "QuestionVersion",
    "Unit",
]
