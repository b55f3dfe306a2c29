"""Long-running work (imports, bulk issue, exports) and its visible progress."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.db import Base, utcnow
from lms.org.models import Employee


class JobState(enum.StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"


class Job(Base):
    __tablename__ = "lms_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(64), index=True)
    params: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    state: Mapped[JobState] = mapped_column(
        sa.Enum(JobState, native_enum=False, length=20), default=JobState.queued, index=True
    )
    done: Mapped[int] = mapped_column(default=0)
    total: Mapped[int | None]
    message: Mapped[str] = mapped_column(sa.String(500), default="")
    result: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    error: Mapped[str | None] = mapped_column(sa.Text)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lms_employee.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    created_by: Mapped[Employee | None] = relationship()

    @property
    def finished(self) -> bool:
        return self.state in (JobState.succeeded, JobState.failed)

    @property
    def percent(self) -> int | None:
        if not self.total:
            return 100 if self.state is JobState.succeeded else None
        return min(100, int(self.done * 100 / self.total))


class PeriodicRun(Base):
    """When a periodic task (``lms.jobs.schedule``) last ran: the claim that makes running the
    due tasks twice at once, or twice within the interval, do nothing the second time."""

    __tablename__ = "lms_periodic_run"

    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    last_started_at: Mapped[datetime]
    last_finished_at: Mapped[datetime | None]
    last_result: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
