"""Imports every model module, so that the metadata is complete (Alembic, tests)."""

from lms.audit.models import AuditEntry
from lms.auth.models import LoginFailure
from lms.jobs.models import Job
from lms.org.models import Employee, EmployeeMove, Post, Unit
from lms.questions.models import Question, QuestionBank, QuestionLabel, QuestionVersion

__all__ = [
    "AuditEntry",
    "Employee",
    "EmployeeMove",
    "Job",
    "LoginFailure",
    "Post",
    "Question",
    "QuestionBank",
    "QuestionLabel",
    "QuestionVersion",
    "Unit",
]
