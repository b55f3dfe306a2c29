"""Factory fixtures for courses: ``create_course`` builds (and by default publishes) a course."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from lms.courses.models import CompletionRule, Course, Lesson
from lms.courses.services import publish

_numbers = iter(range(1, 10_000))


@pytest.fixture
def create_course(app: Any, db: Any) -> Callable[..., Course]:
    """``create_course(lessons=3, rule=..., published=True, programme=...)``."""

    def factory(
        *,
        lessons: int = 2,
        rule: CompletionRule = CompletionRule.viewed,
        min_seconds: int = 0,
        published: bool = True,
        programme: str = "service_standards",
        hours: str = "2.0",
        title: str | None = None,
    ) -> Course:
        number = next(_numbers)
        course = Course(
            code=f"C{number:03d}",
            title=title or f"课程{number}",
            programme=programme,
            hours=Decimal(hours),
            completion_rule=rule,
        )
        course.lessons = [
            Lesson(title=f"第{i}课", body=f"第{i}课的内容", position=i, min_seconds=min_seconds)
            for i in range(1, lessons + 1)
        ]
        db.add(course)
        db.flush()
        if published:
            with app.app_context():
                publish(db, course, actor=None)
        db.commit()
        return course

    return factory
