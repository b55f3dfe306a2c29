"""The LMS's own database: declarative base, engine, and sessions.

The LMS never uses a host application's Flask-SQLAlchemy session. Each Flask app that has the
LMS gets one :class:`Database` (engine plus session factories) in ``app.extensions["lms"]``;
a request gets one session, opened on first use and closed at teardown. Views and CLI commands
commit once; services only ``flush()``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from flask import current_app, g, has_request_context, request
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from werkzeug.local import LocalProxy

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class UTCDateTime(sa.types.TypeDecorator):
    """A timestamp stored as naive UTC and always returned timezone-aware (UTC).

    SQLite keeps no time zone, so every timestamp is normalised to UTC on the way in.
    """

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Base of every LMS model; every table name starts with ``lms_``."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


def _configure_sqlite(engine: sa.Engine, busy_timeout_ms: int) -> None:
    """WAL, a busy timeout, foreign keys, and explicit BEGIN so writers can take the lock early.

    pysqlite's own transaction handling is switched off so that SQLAlchemy's ``begin`` event
    decides: write sessions start with ``BEGIN IMMEDIATE`` (they wait for the write lock instead
    of failing half-way with "database is locked"); read sessions use a plain deferred ``BEGIN``.
    """

    @sa.event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def on_begin(connection: sa.Connection) -> None:
        immediate = connection.get_execution_options().get("lms_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Database:
    """An engine and two session factories (reading, writing) for one app."""

    def __init__(
        self,
        url: str,
        *,
        echo: bool = False,
        pool_size: int = 5,
        busy_timeout_ms: int = 15000,
        max_overflow: int = 10,
        pool_timeout_s: int = 10,
        pool_recycle_s: int = 1800,
        connect_timeout_s: int = 5,
        statement_timeout_ms: int = 0,
    ) -> None:
        self.url = sa.make_url(url)
        options: dict[str, Any] = {"echo": echo, "future": True}
        if self.is_sqlite:
            options["connect_args"] = {
                "check_same_thread": False,
                "timeout": busy_timeout_ms / 1000,
            }
        else:
            options.update(
                pool_size=pool_size,
                max_overflow=max_overflow,
                pool_timeout=pool_timeout_s,
                pool_recycle=pool_recycle_s,
                pool_pre_ping=True,
            )
            if self.url.get_backend_name() == "postgresql":
                # a server that does not answer fails fast (a health check must not hang), and a
                # runaway statement is stopped by the server rather than holding a worker
                arguments: dict[str, Any] = {"connect_timeout": connect_timeout_s}
                if statement_timeout_ms:
                    arguments["options"] = f"-c statement_timeout={int(statement_timeout_ms)}"
                options["connect_args"] = arguments
        self.engine = sa.create_engine(self.url, **options)
        if self.is_sqlite:
            _configure_sqlite(self.engine, busy_timeout_ms)
        self._reader = sessionmaker(bind=self.engine, expire_on_commit=False)
        self._writer = sessionmaker(
            bind=self.engine.execution_options(lms_write=True), expire_on_commit=False
        )

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    def session(self, *, write: bool = True) -> Session:
        """A new session; ``write=False`` for one that only reads (no write lock on SQLite)."""
        return (self._writer if write else self._reader)()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """A write session that commits at the end of the block, or rolls back on error.

        For CLI commands and jobs: they commit once, like a request.
        """
        session = self.session(write=True)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()


def get_database() -> Database:
    """The current app's :class:`Database`."""
    return current_app.extensions["lms"].db


def get_session() -> Session:
    """The session of the current request (or app context), opened on first use.

    Requests with unsafe methods (POST...) get a write session, the others a read session.
    """
    if "_lms_session" not in g:
        write = not has_request_context() or (
            request.method not in SAFE_METHODS and not _reads_first()
        )
        g._lms_session = get_database().session(write=write)
    return g._lms_session


def _reads_first() -> bool:
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    return getattr(view, "lms_reads_first", False)


V = TypeVar("V", bound=Callable[..., Any])


def reads_first(view: V) -> V:
    """Mark a view (of unsafe methods) that reads before it writes: its request gets a read
    session, so that on SQLite loading the signed-in employee and other reads do not hold the
    database's write lock, and the view calls :func:`begin_writing` before its own reads and
    writes under the lock. Put it between ``route`` and ``login_required``."""
    view.lms_reads_first = True  # type: ignore[attr-defined]
    return view


def begin_writing(session: Session) -> None:
    """On SQLite: end the session's read transaction and begin a writing one
    (``BEGIN IMMEDIATE``, which waits for the write lock). What was read before stays loaded
    (sessions do not expire on commit) but may have changed since: re-read under the lock what
    the write depends on. Elsewhere the transaction simply goes on (row locks do the work)."""
    if not get_database().is_sqlite:
        return
    if not session.in_transaction():
        session.connection(execution_options={"lms_write": True})
        return
    session.flush()  # nothing should be pending in a read transaction; if it is, it is written
    # The read transaction ends and the writing one begins on the session's own connection:
    # committing the session instead returned the connection to the pool (with its reset) and
    # checked one out again, about a tenth of a save's time. The session's transaction goes on,
    # and its commit or rollback ends the writing one. Through SQLAlchemy, not the driver, so
    # that "database is locked" is raised as from any statement.
    connection = session.connection()
    connection.exec_driver_sql("COMMIT")
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def use_write_session() -> None:
    """Give this request a write session even though its method is safe (a GET that records
    something, such as opening a lesson). Read sessions start a deferred transaction on SQLite,
    whose first write fails at once if another writer committed since its first read; a write
    session takes the lock at its start (``BEGIN IMMEDIATE``), as POST requests do. Call it
    before the request's session is first used."""
    if "_lms_session" not in g:
        g._lms_session = get_database().session(write=True)


def close_session(exc: BaseException | None = None) -> None:
    """Teardown: roll back whatever the request did not commit, and close the session."""
    session = g.pop("_lms_session", None)
    if session is not None:
        session.close()


T = TypeVar("T")


@dataclass
class Page(Generic[T]):
    """One page of a list: its items, the total count, and where it is."""

    items: Sequence[T]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


#: The current request's session, for views: ``from lms.db import db_session``.
db_session: Session = LocalProxy(get_session)  # type: ignore[assignment]
