"""Building the demo bureau: units through the ORM (they are few), people through Core bulk
inserts (they may be 100,000), and passwords only for the demo sign-ins."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from lms.db import Base, utcnow
from lms.demo.names import random_name
from lms.demo.shape import BUREAU, DEMO_ACCOUNTS, Staffing, UnitSpec, staff_kind_of
from lms.org.models import Employee, EmploymentStatus, Post, StaffKind, Unit

#: The one password of every demo sign-in (documented in the README and printed by `lms demo`).
DEMO_PASSWORD = "demo1234"

#: ``progress(done, total, message)``, e.g. a click progress bar.
Progress = Callable[[int, int, str], None]

#: Hire dates fall in this range; fixed (not today) so that a seed always gives the same data.
FIRST_HIRE = date(1988, 3, 1)
LAST_HIRE = date(2026, 9, 30)
#: Heads and deputies joined before this date: nobody runs a unit in their first years.
LAST_HEAD_HIRE = date(2012, 12, 31)
#: Leavers left on or before this date.
LAST_LEAVE = date(2026, 10, 31)
#: Only staff who joined before this date are old enough for early retirement (内退).
EARLY_RETIREMENT_BEFORE = date(1996, 1, 1)

BATCH = 5000
EMP_NO_PREFIX = "LC"


@dataclass(frozen=True)
class DemoLogin:
    """A demo sign-in, as printed at the end of ``lms demo``."""

    role: str
    emp_no: str
    password: str
    name: str
    unit: str


def walk(
    spec: UnitSpec, parent: UnitSpec | None = None
) -> Iterator[tuple[UnitSpec, UnitSpec | None]]:
    """Every unit of the tree with its parent, parents first."""
    yield spec, parent
    for child in spec.children:
        yield from walk(child, spec)


def plan(employees: int) -> list[tuple[UnitSpec, Staffing, int]]:
    """How many holders each staffing line gets for a bureau of about ``employees`` people.

    Fixed lines (heads, deputies) keep their default count and only shrink in a bureau smaller
    than the default; the remaining headcount is shared among the other lines in proportion to
    their default counts (largest remainder, ties by position), so the total is exactly
    ``employees`` unless the minimums (one head per unit) alone need more.
    """
    lines = [(unit, staffing) for unit, _ in walk(BUREAU) for staffing in unit.staff]
    default_total = sum(staffing.count for _, staffing in lines)
    scale = employees / default_total
    counts = [0] * len(lines)
    free: list[int] = []
    for index, (_, staffing) in enumerate(lines):
        if staffing.fixed:
            scaled = round(staffing.count * scale)
            counts[index] = max(staffing.minimum, min(round(staffing.count), scaled))
        else:
            counts[index] = staffing.minimum
            free.append(index)
    left = employees - sum(counts)
    if left > 0:
        weight = sum(lines[i][1].count for i in free)
        shares = {i: left * lines[i][1].count / weight for i in free}
        for i, share in shares.items():
            counts[i] += int(share)
        rest = left - sum(int(share) for share in shares.values())
        by_fraction = sorted(free, key=lambda i: (-(shares[i] - int(shares[i])), i))
        for i in by_fraction[:rest]:
            counts[i] += 1
    return [(unit, staffing, count) for (unit, staffing), count in zip(lines, counts, strict=True)]


def _random_date(rng: random.Random, first: date, last: date) -> date:
    return date.fromordinal(rng.randint(first.toordinal(), last.toordinal()))


def _status(rng: random.Random, hired_on: date) -> tuple[EmploymentStatus, date | None]:
    """Mostly 在岗; some 离职 (with a leaving date), 借调, 长病假, 离岗; 内退 for older staff."""
    draw = rng.random()
    if draw < 0.035:
        first_day_gone = hired_on + timedelta(days=90)
        if first_day_gone <= LAST_LEAVE:
            return EmploymentStatus.left, _random_date(rng, first_day_gone, LAST_LEAVE)
    elif draw < 0.05:
        return EmploymentStatus.seconded, None
    elif draw < 0.06:
        return EmploymentStatus.long_sick_leave, None
    elif draw < 0.07:
        return EmploymentStatus.away, None
    elif draw < 0.095 and hired_on < EARLY_RETIREMENT_BEFORE:
        return EmploymentStatus.early_retired, None
    return EmploymentStatus.active, None


def _people(
    rng: random.Random,
    lines: list[tuple[UnitSpec, Staffing, int]],
    unit_ids: dict[str, int],
    post_ids: dict[str, int],
    progress: Progress,
    total: int,
) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """Every person as a row for a bulk insert (without 工号 yet), and the demo accounts' rows
    by their 工号. Only the seeded ``rng`` decides, so a seed always gives the same people."""
    wanted = {(a.unit_code, a.post, a.role): a.emp_no for a in DEMO_ACCOUNTS}
    demo_rows: dict[str, dict[str, Any]] = {}
    rows: list[dict[str, Any]] = []
    for unit, staffing, count in lines:
        kind = staff_kind_of(staffing.post)
        senior = staffing.fixed  # heads and deputies
        for _ in range(count):
            hired_on = _random_date(rng, FIRST_HIRE, LAST_HEAD_HIRE if senior else LAST_HIRE)
            status, left_on = _status(rng, hired_on)
            row = {
                "name": random_name(rng, staffing.post),
                "unit_id": unit_ids[unit.code],
                "post_id": post_ids[staffing.post],
                "is_manager": kind is StaffKind.management,
                "staff_kind": kind,
                "status": status,
                "hired_on": hired_on,
                "left_on": left_on,
                "role": staffing.role,
            }
            key = (unit.code, staffing.post, staffing.role)
            if key in wanted and wanted[key] not in demo_rows:
                demo_rows[wanted[key]] = row
            elif senior:
                # Heads and deputies are in post: a unit is not run by someone on sick leave.
                row["status"], row["left_on"] = EmploymentStatus.active, None
            rows.append(row)
            if len(rows) % BATCH == 0:
                progress(len(rows), total, "people")
    for row in demo_rows.values():
        row["status"], row["left_on"] = EmploymentStatus.active, None
    return rows, demo_rows


def _create_units(session: Session) -> dict[str, Unit]:
    """The unit tree through the ORM (a few dozen units), with materialised paths."""
    from lms.org.services import rebuild_paths

    units: dict[str, Unit] = {}
    for order, (spec, parent) in enumerate(walk(BUREAU)):
        units[spec.code] = Unit(
            code=spec.code,
            name=spec.name,
            kind=spec.kind,
            is_rural=spec.rural,
            parent=units[parent.code] if parent else None,
            sort_order=order,
            path="",
        )
        session.add(units[spec.code])
    session.flush()
    rebuild_paths(session)
    return units


def _get_posts(session: Session, names: list[str]) -> dict[str, int]:
    """Post ids by name, creating the posts that do not exist yet."""
    existing = {name: id_ for name, id_ in session.execute(sa.select(Post.name, Post.id))}
    for name in names:
        if name not in existing:
            post = Post(name=name)
            session.add(post)
            session.flush()
            existing[name] = post.id
    return existing


def build_demo(
    session: Session, *, seed: int = 1, employees: int = 1800, progress: Progress | None = None
) -> list[DemoLogin]:
    """Build the fictional 龙城供电局 with about ``employees`` people; returns the demo sign-ins.

    The same seed and size always build the same bureau. Only the demo sign-ins get a password
    (:data:`DEMO_PASSWORD`, no change required); everybody else waits for one from HR. Needs an
    app context (password hashing reads the config); the caller commits.
    """
    from lms.auth.services import hash_password

    report: Progress = progress or (lambda done, total, message: None)
    rng = random.Random(seed)
    lines = plan(employees)
    total = sum(count for _, _, count in lines)
    steps = 2 * total  # generating the people, then inserting them
    report(0, steps, "units")
    units = _create_units(session)
    post_ids = _get_posts(session, sorted({staffing.post for _, staffing, _ in lines}))
    unit_ids = {code: unit.id for code, unit in units.items()}
    rows, demo_rows = _people(rng, lines, unit_ids, post_ids, report, steps)

    # The demo sign-ins keep their fixed 工号; everybody else is numbered by seniority after them.
    for emp_no, row in demo_rows.items():
        row["emp_no"] = emp_no
    demo_ids = {id(row) for row in demo_rows.values()}
    others = sorted(
        (row for row in rows if id(row) not in demo_ids), key=lambda row: row["hired_on"]
    )
    width = max(6, len(str(len(rows))))
    for number, row in enumerate(others, start=len(DEMO_ACCOUNTS) + 1):
        row["emp_no"] = f"{EMP_NO_PREFIX}{number:0{width}d}"
    ordered = [demo_rows[a.emp_no] for a in DEMO_ACCOUNTS if a.emp_no in demo_rows] + others
    now = utcnow()
    for row in ordered:
        row.update(
            password_hash=None,
            must_change_password=True,
            session_version=1,
            created_at=now,
            updated_at=now,
        )
    for row in demo_rows.values():
        row["password_hash"] = hash_password(DEMO_PASSWORD)
        row["must_change_password"] = False

    # render_nulls: otherwise the ORM leaves out the None values (left_on, password_hash) and
    # splits each batch into thousands of small statements, one per run of equal key sets.
    insert = sa.insert(Employee).execution_options(render_nulls=True)
    for start in range(0, len(ordered), BATCH):
        session.execute(insert, ordered[start : start + BATCH])
        report(total + min(start + BATCH, len(ordered)), steps, "people")
    session.flush()

    names = {unit.id: unit.name for unit in units.values()}
    return [
        DemoLogin(
            role=account.role.value,
            emp_no=row["emp_no"],
            password=DEMO_PASSWORD,
            name=row["name"],
            unit=names[row["unit_id"]],
        )
        for account in DEMO_ACCOUNTS
        if (row := demo_rows.get(account.emp_no)) is not None
    ]


def has_data(session: Session) -> bool:
    """Whether any unit or employee exists (then ``lms demo`` needs ``--reset``)."""
    return (
        session.scalar(sa.select(Unit.id).limit(1)) is not None
        or session.scalar(sa.select(Employee.id).limit(1)) is not None
    )


def reset_data(session: Session) -> None:
    """Delete every row of every LMS table, children before parents (the caller commits)."""
    import lms.models  # noqa: F401  (every table must be in the metadata, or its rows would block)

    for table in reversed(Base.metadata.sorted_tables):
        session.execute(table.delete())
    session.flush()
