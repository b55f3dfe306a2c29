"""Shared fixtures: every test that uses ``app`` runs once on SQLite and once on PostgreSQL.

``--db sqlite`` or ``--db postgresql`` (or ``LMS_TEST_DBS``) runs only one. PostgreSQL is the
server at ``LMS_TEST_POSTGRES_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``);
each test session (each xdist worker) creates its own throwaway database there and drops it at
the end. The schema is built once per session with the real migrations; after each test every
table is emptied.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import lms
from lms.courses.models import CompletionRule, Course, Lesson
from lms.courses.services import publish
from lms.db import Base
from lms.org.models import Employee, EmploymentStatus, Role, Unit, UnitKind

POSTGRES_URL = os.environ.get(
    "LMS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKENDS = ("sqlite", "postgresql")
TEST_PASSWORD = "correct-horse-42"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        default=os.environ.get("LMS_TEST_DBS", ",".join(BACKENDS)),
        help="comma-separated databases to run the suite on: sqlite,postgresql",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = {name.strip() for name in config.getoption("--db").split(",") if name.strip()}
    keep, drop = [], []
    for item in items:
        backend = getattr(item, "callspec", None) and item.callspec.params.get("database_url")
        (drop if backend and backend not in wanted else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def _create_postgres_database(worker: str) -> str:
    name = f"lms_test_{worker}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return str(sa.make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False))


def _drop_postgres_database(url: str) -> None:
    name = sa.make_url(url).database
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated, empty database for this test session, on each backend in turn."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    if request.param == "sqlite":
        url = "sqlite:///" + str(tmp_path_factory.mktemp("db") / f"lms-{worker}.db")
    else:
        url = _create_postgres_database(worker)
    app = make_app(url, tmp_path_factory.mktemp("instance"))
    from lms.migrate import upgrade

    upgrade(app)
    app.extensions["lms"].db.dispose()
    yield url
    if request.param == "postgresql":
        _drop_postgres_database(url)


def make_app(url: str, instance_path: Any, **config: Any) -> Any:
    os.environ["LMS_INSTANCE_PATH"] = str(instance_path)
    settings = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "LMS_DATABASE_URL": url,
        "LMS_ARGON2_TIME_COST": 1,
        "LMS_ARGON2_MEMORY_KIB": 1024,
        "LMS_DATA_DIR": str(instance_path),
        "SERVER_NAME": None,
    }
    settings.update(config)
    return lms.create_app(settings)


def empty_all_tables(engine: sa.Engine) -> None:
    tables = [t for t in Base.metadata.sorted_tables]
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            connection.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
        else:
            for table in reversed(tables):
                connection.execute(table.delete())


@pytest.fixture
def app_config() -> dict[str, Any]:
    """Extra configuration for the ``app`` fixture; override in a test module."""
    return {}


@pytest.fixture
def app(database_url: str, tmp_path: Any, app_config: dict[str, Any]) -> Iterator[Any]:
    """The standalone app on an empty database (emptied again after the test)."""
    application = make_app(database_url, tmp_path, **app_config)
    yield application
    state = application.extensions["lms"]
    state.job_runner.shutdown()
    empty_all_tables(state.db.engine)
    state.db.dispose()


@pytest.fixture
def backend(database_url: str) -> str:
    return sa.make_url(database_url).get_backend_name()


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def runner(app: Any) -> Any:
    return app.test_cli_runner()


@pytest.fixture
def db(app: Any) -> Iterator[Any]:
    """A session for building and checking data; tests commit what they build.

    It starts deferred transactions (not ``BEGIN IMMEDIATE``), so that on SQLite merely reading
    through it never holds the write lock that the app's requests need. No app context is kept
    pushed: the test client's requests must each get their own (``g`` and the request session
    live there). Wrap direct service calls that read the config in ``with app.app_context():``.
    """
    session = app.extensions["lms"].db.session(write=False)
    yield session
    session.rollback()
    session.close()


_counter = itertools.count(1)


@pytest.fixture
def create_unit(db: Any) -> Callable[..., Unit]:
    """``create_unit(name=..., parent=..., kind=..., rural=...)`` builds and commits a unit."""
    from lms.org.services import rebuild_paths

    def factory(
        name: str | None = None,
        *,
        parent: Unit | None = None,
        kind: UnitKind = UnitKind.team,
        rural: bool = False,
        code: str | None = None,
    ) -> Unit:
        number = next(_counter)
        unit = Unit(
            code=code or f"U{number:04d}",
            name=name or f"单位{number}",
            kind=kind,
            is_rural=rural,
            parent_id=parent.id if parent else None,
            path="",
        )
        db.add(unit)
        db.flush()
        rebuild_paths(db)
        db.refresh(unit)
        db.commit()
        return unit

    return factory


@pytest.fixture
def create_employee(app: Any, db: Any, create_unit: Callable[..., Unit]) -> Callable[..., Employee]:
    """``create_employee(unit=..., role=..., password=...)`` builds and commits an employee who can
    sign in with ``password`` (default ``TEST_PASSWORD``) unless ``password=None``."""
    from lms.auth.services import hash_password

    def factory(
        name: str | None = None,
        *,
        unit: Unit | None = None,
        role: Role = Role.employee,
        emp_no: str | None = None,
        password: str | None = TEST_PASSWORD,
        must_change: bool = False,
        status: EmploymentStatus = EmploymentStatus.active,
        is_manager: bool = False,
    ) -> Employee:
        number = next(_counter)
        with app.app_context():
            password_hash = hash_password(password) if password else None
        employee = Employee(
            emp_no=emp_no or f"E{number:06d}",
            name=name or f"员工{number}",
            unit_id=(unit or create_unit()).id,
            role=role,
            status=status,
            is_manager=is_manager,
            password_hash=password_hash,
            must_change_password=must_change,
        )
        db.add(employee)
        db.commit()
        return employee

    return factory


@pytest.fixture
def login(client: Any) -> Callable[..., Any]:
    """``login(employee)`` signs ``client`` in (CSRF is checked, so the token is fetched first);
    ``login(employee, client=other)`` signs in another test client."""

    default = client

    def do_login(employee: Employee, password: str = TEST_PASSWORD, *, client: Any = None) -> Any:
        client = client or default
        token = csrf_token(client, "/login")
        return client.post(
            "/login", data={"emp_no": employee.emp_no, "password": password, "csrf_token": token}
        )

    return do_login


def csrf_token(client: Any, path: str) -> str:
    """The CSRF token from the form on ``path``."""
    import re

    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', page
    )
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def hidden_value(page: str, name: str) -> str | None:
    """The value of the form field ``name`` in an HTML page (either attribute order)."""
    import re

    match = re.search(rf'name="{name}"[^>]*value="([^"]+)"', page) or re.search(
        rf'value="([^"]+)"[^>]*name="{name}"', page
    )
    return match.group(1) if match else None


def wait_for_job(client: Any, response: Any, timeout: float = 30) -> dict:
    """Follow a redirect to a job page and poll its JSON until the job finishes; the job's
    JSON, with its page's HTML under ``page``."""
    import re
    import time

    assert response.status_code == 302
    match = re.search(r"/jobs/(\d+)$", response.headers["Location"])
    assert match, response.headers["Location"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = client.get(f"/jobs/{match.group(1)}.json").get_json()
        if data["finished"]:
            data["page"] = client.get(f"/jobs/{match.group(1)}").get_data(as_text=True)
            return data
        time.sleep(0.05)
    raise AssertionError("the job did not finish")


def count_rows(db: Any, model: Any) -> int:
    """Rows of ``model`` as committed now (the session's own transaction is ended first)."""
    db.rollback()
    return db.scalar(sa.select(sa.func.count()).select_from(model))


_ledger_numbers = iter(range(1, 10_000_000))


@pytest.fixture
def create_ledger_entry(db: Any) -> Callable[..., Any]:
    """``create_ledger_entry(person, course, day, score="90", passed=True, source=...)``: one
    committed ledger row of ``course`` (or, with ``course=None``, of ``programme``) ending on
    ``day``, through the one ledger writer (so it completes the person's assignments)."""
    from datetime import date

    from lms.training.models import LedgerSource, TrainingForm
    from lms.training.services import add_ledger_entry

    def factory(
        person: Employee,
        course: Course | None,
        day: date,
        *,
        score: str | None = "90",
        passed: bool = True,
        programme: str = "safety",
        form: TrainingForm = TrainingForm.online,
        source: LedgerSource = LedgerSource.online,
    ) -> Any:
        entry = add_ledger_entry(
            db,
            employee_id=person.id,
            programme=course.programme if course else programme,
            title=course.title if course else programme,
            form=form,
            start_on=day,
            end_on=day,
            hours=Decimal("2"),
            source=source,
            source_ref=f"test:{next(_ledger_numbers)}",
            course_id=course.id if course else None,
            score=Decimal(score) if score is not None else None,
            passed=passed,
        )
        db.commit()
        return entry

    return factory


_course_numbers = iter(range(1, 10_000))


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
        number = next(_course_numbers)
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


def run_threads(app: Any, count: int, work: Callable[[Any, int], Any]) -> list[Any]:
    """Run ``work(session, n)`` in ``count`` threads, each in its own transaction; returns what
    each returned or raised."""
    results: list[Any] = [None] * count
    barrier = threading.Barrier(count)

    def target(n: int) -> None:
        with app.app_context():
            barrier.wait()
            try:
                with app.extensions["lms"].db.transaction() as session:
                    results[n] = work(session, n)
            except Exception as error:  # the test inspects every outcome
                results[n] = error

    threads = [threading.Thread(target=target, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def pdf_text(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "file.pdf"
    path.write_bytes(data)
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def pdf_tool(tool: str, data: bytes, tmp_path: Path, *args: str) -> str:
    path = tmp_path / "tool.pdf"
    path.write_bytes(data)
    return subprocess.run(
        [tool, *args, str(path)], capture_output=True, text=True, check=True
    ).stdout
