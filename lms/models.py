"""Imports every model module, so that the metadata is complete (Alembic, tests)."""

from lms.audit.models import AuditEntry
from lms.auth.models import LoginFailure
from lms.certificates.models import Certificate, CertificateSequence, CertificateVerification
from lms.courses.models import (
    Course,
    CourseRun,
    CourseVersion,
    Lesson,
    LessonAttachment,
    LessonProgress,
)
from lms.exams.models import (
    AttemptAnswer,
    AttemptItem,
    ExamAttempt,
    ExamDrawRule,
    ExamPaper,
    ExamPaperQuestion,
)
from lms.jobs.models import Job
from lms.notifications.models import Notification, OutboxMessage
from lms.org.models import Employee, EmployeeMove, Post, Unit
from lms.questions.models import Question, QuestionBank, QuestionLabel, QuestionVersion
from lms.training.models import Assignment, LedgerEntry, Programme

__all__ = [
    "Assignment",
    "AttemptAnswer",
    "AttemptItem",
    "AuditEntry",
    "Certificate",
    "CertificateSequence",
    "CertificateVerification",
    "Course",
    "CourseRun",
    "CourseVersion",
    "Employee",
    "EmployeeMove",
    "ExamAttempt",
    "ExamDrawRule",
    "ExamPaper",
    "ExamPaperQuestion",
    "Job",
    "LedgerEntry",
    "Lesson",
    "LessonAttachment",
    "LessonProgress",
    "LoginFailure",
    "Notification",
    "OutboxMessage",
    "Post",
    "Programme",
    "Question",
    "QuestionBank",
    "QuestionLabel",
    "QuestionVersion",
    "Unit",
]
