"""The course factory fixture ``create_course`` lives in tests/conftest.py (exams use it too);
imported here for the tests that import it from this module."""

from tests.conftest import create_course  # noqa: F401
