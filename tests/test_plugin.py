"""The LMS mounted as a plugin in a host app that has its own users, login manager and views.

The host is a plain Flask + SQLAlchemy app (Flask-SQLAlchemy is not needed): a ``host_user``
table in the same database as the LMS, users carrying an ``emp_no``, and a login view of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask, redirect, request
from flask_login import LoginManager, UserMixin, login_user
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

from lms import LMS, ConfigurationError
from lms.migrate import upgrade


class HostBase(DeclarativeBase):
    pass


class HostUser(UserMixin, HostBase):
    """The host's own user: no relation to the LMS except the 工号 it carries."""

    __tablename__ = "host_user"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(50), unique=True)
    emp_no: Mapped[str | None] = mapped_column(sa.String(20))


def host_emp_no(user: Any) -> str | None:
    """The adapter: the host's ``current_user`` to a 工号 (None for anonymous users)."""
    return getattr(user, "emp_no", None)


class Tripwire:
    """Stands in for Flask-SQLAlchemy's extension state: any use of it fails the test."""

    touched = False

    def __getattr__(self, name: str) -> Any:
        Tripwire.touched = True
        raise AssertionError(f"the LMS used app.extensions['sqlalchemy'].{name}")


def make_host(database_url: str, tmp_path: Path, **config: Any) -> Flask:
    """The host app, before the LMS is mounted: its users, login manager, pages and login view."""
    host = Flask(
        "host",
        instance_path=str(tmp_path / "host-instance"),
        template_folder=str(tmp_path / "host-templates"),
    )
    host.config.update(
        {
            "SECRET_KEY": "host-secret",
            "TESTING": True,
            "LMS_DATABASE_URL": database_url,
            "LMS_USER_ADAPTER": "test_plugin:host_emp_no",
            **config,
        }
    )
    engine = sa.create_engine(database_url)
    HostBase.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(sa.delete(HostUser))
        connection.execute(
            sa.insert(HostUser),
            [
                {"id": 1, "username": "alice", "emp_no": "H0001"},
                {"id": 2, "username": "bob", "emp_no": "H9999"},  # no such LMS employee
                {"id": 3, "username": "carol", "emp_no": None},  # not an employee at all
            ],
        )
    host.extensions["host_engine"] = engine
    host.extensions["sqlalchemy"] = Tripwire()
    HostSession = sessionmaker(engine)

    manager = LoginManager(host)
    manager.login_view = "host_login"

    @manager.user_loader
    def load_user(user_id: str) -> HostUser | None:
        with HostSession() as session:
            return session.get(HostUser, int(user_id))

    @host.route("/")
    def index() -> str:
        return "host home"

    @host.route("/signin", methods=["GET", "POST"])
    def host_login() -> Any:
        if request.method == "GET":
            return "host sign-in form"
        with HostSession() as session:
            user = session.scalar(sa.select(HostUser).filter_by(username=request.form["username"]))
        login_user(user)
        return redirect(request.args.get("next") or "/")

    return host


@pytest.fixture
def host(app: Any, database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """A host app with the LMS at /training, sharing the (migrated) test database.

    ``app`` (the standalone LMS on the same database) is only there for the factories and for
    emptying the LMS's tables afterwards.
    """
    host_app = make_host(database_url, tmp_path)
    LMS().init_app(host_app, url_prefix="/training")
    yield host_app
    host_app.extensions["lms"].job_runner.shutdown()
    host_app.extensions["lms"].db.dispose()
    engine = host_app.extensions.pop("host_engine")
    HostBase.metadata.drop_all(engine)
    engine.dispose()


@pytest.fixture
def host_client(host: Flask) -> Any:
    return host.test_client()


@pytest.fixture
def sign_in(host_client: Any) -> Callable[[str], Any]:
    """``sign_in("alice")`` signs in through the host's own login view."""

    def do(username: str) -> Any:
        response = host_client.post("/signin", data={"username": username})
        assert response.status_code == 302
        return response

    return do


def test_host_login_manager_is_left_alone(app, database_url, tmp_path):
    """init_app keeps the host's login manager object, its user loader and its login view."""
    host_app = make_host(database_url, tmp_path)
    manager = host_app.login_manager
    loader = manager._user_callback
    LMS().init_app(host_app, url_prefix="/training")
    try:
        assert host_app.login_manager is manager
        assert manager._user_callback is loader
        assert manager.login_view == "host_login"
        assert host_app.extensions["lms"].owns_login is False
    finally:
        host_app.extensions["lms"].db.dispose()
        host_app.extensions["host_engine"].dispose()


def test_host_config_is_left_alone(host):
    """The LMS adds only LMS_* keys: the host's session cookie and upload limit are unchanged."""
    assert host.config["SESSION_COOKIE_NAME"] == Flask.default_config["SESSION_COOKIE_NAME"]
    assert host.config["SESSION_COOKIE_SAMESITE"] is None
    assert host.config["MAX_CONTENT_LENGTH"] is None
    assert host.config["LMS_PAGE_SIZE"] == 50


def test_anonymous_visitor_goes_to_host_login(host_client):
    """An anonymous visit to /training/ redirects to the host's login view, with next=."""
    response = host_client.get("/training/")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("/signin")
    assert "next=" in location and "training" in location


def test_signed_in_host_user_sees_lms_home(host_client, sign_in, create_employee):
    """After signing in through the host, /training/ is the LMS home of the employee with the
    host user's 工号."""
    create_employee(name="李娜", emp_no="H0001", password=None)
    sign_in("alice")
    response = host_client.get("/training/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "李娜" in page and "H0001" in page
    assert 'href="/training/' in page  # links stay under the prefix
    assert "/training/logout" not in page  # signing out is the host's business


def test_next_brings_the_user_back(host_client, create_employee):
    """The host's login view honours next= and lands the user on the LMS page."""
    create_employee(emp_no="H0001", password=None)
    location = host_client.get("/training/").headers["Location"]
    response = host_client.post(location, data={"username": "alice"})
    assert response.headers["Location"].startswith("/training/")


@pytest.mark.parametrize("username", ["bob", "carol"])
def test_host_user_without_employee_is_refused(host_client, sign_in, username):
    """A host user whose 工号 is unknown (or who has none) gets 403 and an explanation, not a
    redirect loop back to the host's login view."""
    sign_in(username)
    response = host_client.get("/training/")
    assert response.status_code == 403
    assert "/signin" not in response.headers.get("Location", "")


def test_lms_login_page_is_404_in_plugin_mode(host_client):
    """The LMS's own sign-in, sign-out and password pages do not exist in plugin mode."""
    assert host_client.get("/training/login").status_code == 404
    assert host_client.get("/training/password").status_code == 404


def test_tables_share_the_host_database(host):
    """The LMS's tables (and its version table) sit beside the host's table in one database."""
    names = set(sa.inspect(host.extensions["host_engine"]).get_table_names())
    assert "host_user" in names
    assert {"lms_employee", "lms_unit", "lms_alembic_version"} <= names
    assert "alembic_version" not in names


def test_lms_init_through_host_cli_in_shared_sqlite_file(tmp_path):
    """`flask lms init` on the host creates the LMS tables in the host's own SQLite file, next
    to the host's table and its rows."""
    url = "sqlite:///" + str(tmp_path / "host.db")
    host_app = make_host(url, tmp_path)
    LMS().init_app(host_app, url_prefix="/training")
    try:
        result = host_app.test_cli_runner().invoke(args=["lms", "init"])
        assert result.exit_code == 0, result.output
        engine = host_app.extensions["host_engine"]
        names = set(sa.inspect(engine).get_table_names())
        assert {"host_user", "lms_employee", "lms_alembic_version"} <= names
        with engine.connect() as connection:
            assert connection.scalar(sa.select(sa.func.count()).select_from(HostUser)) == 3
    finally:
        host_app.extensions["lms"].db.dispose()
        host_app.extensions["host_engine"].dispose()


def test_registering_twice_raises(host):
    """A second LMS on the same app is refused at start-up."""
    with pytest.raises(RuntimeError, match="already registered"):
        LMS().init_app(host, url_prefix="/again")


def test_lms_never_uses_host_sqlalchemy_extension(host, host_client, sign_in, create_employee):
    """The host's app.extensions["sqlalchemy"] is neither replaced nor used: the LMS has its
    own engine and session."""
    tripwire = host.extensions["sqlalchemy"]
    create_employee(emp_no="H0001", password=None)
    sign_in("alice")
    assert host_client.get("/training/").status_code == 200
    assert host.extensions["sqlalchemy"] is tripwire
    assert not Tripwire.touched
    assert host.extensions["lms"].db.engine is not host.extensions["host_engine"]


def test_static_files_under_prefix(host_client, sign_in, create_employee):
    """The LMS's CSS and script are served under /training/static/lms/ and linked from there."""
    create_employee(emp_no="H0001", password=None)
    sign_in("alice")
    page = host_client.get("/training/").get_data(as_text=True)
    assert 'href="/training/static/lms/lms.css?v=' in page
    css = host_client.get("/training/static/lms/lms.css")
    assert css.status_code == 200
    assert css.mimetype == "text/css"
    assert host_client.get("/training/static/lms/lms.js").status_code == 200


def test_host_template_overrides_lms_template(host, host_client, sign_in, create_employee):
    """A host's templates/lms/core/home.html replaces the LMS's home page template."""
    override = Path(host.template_folder) / "lms" / "core" / "home.html"
    override.parent.mkdir(parents=True)
    override.write_text(
        '{% extends "lms/base.html" %}{% block content %}host-made home for {{ me.emp_no }}'
        "{% endblock %}",
        encoding="utf-8",
    )
    create_employee(emp_no="H0001", password=None)
    sign_in("alice")
    page = host_client.get("/training/").get_data(as_text=True)
    assert "host-made home for H0001" in page


def test_host_pages_are_left_alone(host_client):
    """The host's own pages and 404s get neither the LMS's headers nor its error page."""
    response = host_client.get("/")
    assert response.get_data(as_text=True) == "host home"
    assert "Content-Security-Policy" not in response.headers
    missing = host_client.get("/nowhere")
    assert missing.status_code == 404
    assert "lms.css" not in missing.get_data(as_text=True)
    assert "Content-Security-Policy" in host_client.get("/training/").headers


def test_lms_language_follows_host_babel(app, database_url, tmp_path, create_employee):
    """A host with its own Flask-Babel chooses the locale; the LMS translates with its own
    catalogue."""
    from flask_babel import Babel

    host_app = make_host(database_url, tmp_path)
    Babel(host_app, locale_selector=lambda: "en")
    LMS().init_app(host_app, url_prefix="/training")
    try:
        create_employee(emp_no="H0001", password=None)
        client = host_app.test_client()
        client.post("/signin", data={"username": "alice"})
        page = client.get("/training/").get_data(as_text=True)
        assert "My details" in page
        assert 'lang="en"' in page
    finally:
        host_app.extensions["lms"].db.dispose()
        host_app.extensions["host_engine"].dispose()


def test_migrated_schema_is_shared(host):
    """Upgrading from the host again is a no-op (one history, in lms_alembic_version)."""
    upgrade(host)
    names = set(sa.inspect(host.extensions["host_engine"]).get_table_names())
    assert "host_user" in names


def test_host_login_manager_needs_an_adapter(app, database_url, tmp_path):
    """A host with a login manager but no LMS_USER_ADAPTER is refused at start-up, saying what
    to set."""
    host_app = make_host(database_url, tmp_path, LMS_USER_ADAPTER=None)
    try:
        with pytest.raises(ConfigurationError, match="LMS_USER_ADAPTER"):
            LMS().init_app(host_app, url_prefix="/training")
    finally:
        host_app.extensions["host_engine"].dispose()


def test_host_without_login_manager_gets_lms_sign_in(app, database_url, tmp_path):
    """A host without a login manager gets the LMS's own sign-in under the prefix."""
    host_app = Flask("bare", instance_path=str(tmp_path / "bare-instance"))
    host_app.config.update(SECRET_KEY="bare", TESTING=True, LMS_DATABASE_URL=database_url)
    LMS().init_app(host_app, url_prefix="/training")
    try:
        client = host_app.test_client()
        response = client.get("/training/")
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/training/login")
        assert client.get("/training/login").status_code == 200
    finally:
        host_app.extensions["lms"].db.dispose()
