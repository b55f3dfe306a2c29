"""Units (the org tree), posts, employees, and each employee's moves between units and posts."""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.db import Base, utcnow


class UnitKind(enum.StrEnum):
    bureau = "bureau"
    department = "department"
    centre = "centre"
    team = "team"
    urban_office = "urban_office"
    rural_office = "rural_office"


UNIT_KIND_LABELS = {
    UnitKind.bureau: "局",
    UnitKind.department: "部门",
    UnitKind.centre: "中心",
    UnitKind.team: "班组",
    UnitKind.urban_office: "城区供电所",
    UnitKind.rural_office: "农村供电所",
}


class Role(enum.StrEnum):
    employee = "employee"
    manager = "manager"
    hr = "hr"
    admin = "admin"


ROLE_LABELS = {Role.employee: "员工", Role.manager: "管理者", Role.hr: "人资", Role.admin: "管理员"}


class EmploymentStatus(enum.StrEnum):
    """Employment statuses; only ``active`` (在岗) is in scope for the targets by default."""

    active = "在岗"
    away = "离岗"
    early_retired = "内退"
    seconded = "借调"
    long_sick_leave = "长病假"
    left = "离职"


class StaffKind(enum.StrEnum):
    """管理 / 专业技术 / 技能: the three staff categories of the statistics table."""

    management = "management"
    professional = "professional"
    skilled = "skilled"


STAFF_KIND_LABELS = {
    StaffKind.management: "管理",
    StaffKind.professional: "专业技术",
    StaffKind.skilled: "技能",
}


class Unit(Base):
    """A unit of the org tree. ``path`` is the materialised path of ids (``/1/5/23/``), so a
    subtree is one indexed ``LIKE '/1/5/%'`` query."""

    __tablename__ = "lms_unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[UnitKind] = mapped_column(sa.Enum(UnitKind, native_enum=False, length=20))
    is_rural: Mapped[bool] = mapped_column(default=False)
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lms_unit.id"), index=True)
    path: Mapped[str] = mapped_column(sa.String(500), index=True, default="")
    sort_order: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    parent: Mapped[Unit | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Unit]] = relationship(
        back_populates="parent", order_by="Unit.sort_order, Unit.code"
    )

    @property
    def depth(self) -> int:
        return self.path.count("/") - 2

    def __repr__(self) -> str:
        return f"<Unit {self.code} {self.name}>"


class Post(Base):
    """A post (岗位), created on first use by an import."""

    __tablename__ = "lms_post"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<Post {self.name}>"


class Employee(Base):
    """An employee, who is also the LMS's user (sign-in by 工号)."""

    __tablename__ = "lms_employee"

    id: Mapped[int] = mapped_column(primary_key=True)
    emp_no: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100), index=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("lms_unit.id"), index=True)
    post_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lms_post.id"), index=True)
    is_manager: Mapped[bool] = mapped_column(default=False)
    staff_kind: Mapped[StaffKind | None] = mapped_column(
        sa.Enum(StaffKind, native_enum=False, length=20)
    )
    status: Mapped[EmploymentStatus] = mapped_column(
        sa.Enum(
            EmploymentStatus,
            native_enum=False,
            length=20,
            values_callable=lambda members: [m.value for m in members],
        ),
        default=EmploymentStatus.active,
    )
    hired_on: Mapped[date | None]
    left_on: Mapped[date | None]
    role: Mapped[Role] = mapped_column(
        sa.Enum(Role, native_enum=False, length=20), default=Role.employee
    )
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    must_change_password: Mapped[bool] = mapped_column(default=True)
    #: Changes whenever the password does, so that older sessions stop working.
    session_version: Mapped[int] = mapped_column(default=1)
    locale: Mapped[str | None] = mapped_column(sa.String(20))
    #: where e-mail reminders go; None: in-app notifications only
    email: Mapped[str | None] = mapped_column(sa.String(254))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    unit: Mapped[Unit] = relationship(lazy="joined", innerjoin=True)
    post: Mapped[Post | None] = relationship(lazy="joined")

    # Flask-Login's user protocol.
    is_anonymous = False

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        """Leavers cannot sign in; everyone else can once they have a password."""
        return self.status is not EmploymentStatus.left

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    def __repr__(self) -> str:
        return f"<Employee {self.emp_no} {self.name}>"


class EmployeeMove(Base):
    """One change of unit or post, with the date it took effect (for reports as of a date)."""

    __tablename__ = "lms_employee_move"

    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[int] = mapped_column(sa.ForeignKey("lms_employee.id"), index=True)
    effective_on: Mapped[date]
    from_unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lms_unit.id"))
    to_unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lms_unit.id"))
    from_post_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lms_post.id"))
    to_post_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lms_post.id"))
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lms_employee.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    employee: Mapped[Employee] = relationship(foreign_keys=[employee_id])
    from_unit: Mapped[Unit | None] = relationship(foreign_keys=[from_unit_id])
    to_unit: Mapped[Unit | None] = relationship(foreign_keys=[to_unit_id])
    from_post: Mapped[Post | None] = relationship(foreign_keys=[from_post_id])
    to_post: Mapped[Post | None] = relationship(foreign_keys=[to_post_id])
