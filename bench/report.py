"""Benchmark: the annual report's coverage JSON for a whole bureau, and the ledger's XLSX export.

    python bench/report.py            # 100,000 employees, 3,000,000 ledger rows
    python bench/report.py --quick    # 10,000 employees, 300,000 ledger rows

On SQLite and then on PostgreSQL (``--database`` for one), builds the demo bureau's units and
people (``lms.demo.build_demo``) and adds, by bulk insert, the ledger rows of one year (dated
across it, some failed, some professional ethics), managers' 上岗培训合格证 (some expired,
revoked or replaced), other certificates naming ledger rows, and moves between units (some
after the as-of date); then ANALYZE, as a running bureau's database has done (PostgreSQL:
autovacuum; SQLite: ``lms`` does not run it itself, see RESULTS.md).

Measures:

- ``coverage_s_<db>``: what ``lms report coverage --year Y --format json`` does, end to end from
  a fresh read session (``coverage(...)`` and the JSON text), in a fresh process, median of a
  few runs after one warm-up. Target: at most 1 s. One run before ANALYZE is shown too.
- ``naive_ratio_<db>``: a naive version's time over that: in a child process, every employee,
  every ledger row of the year, every certificate and move loaded through the ORM and counted in
  Python with the same rules. It must give the same JSON (checked). Higher is better.
- ``xlsx_peak_growth_x``: the peak resident memory of a child process that exports the whole
  year's ledger as XLSX (``export_ledger``, streamed) over that of one exporting a tenth of it
  (SQLite). Target: at most 1.5 (memory flat as rows grow).

Prints progress and human lines, then one JSON line (DESIGN.md, Benchmarks).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import emit, result  # noqa: E402  (bench/common.py)

POSTGRES_URL = os.environ.get(
    "LMS_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
YEAR = 2026
AS_OF = date(YEAR, 12, 31)
COVERAGE_TARGET_S = 1.0
NAIVE_RATIO_TARGET = 10.0
XLSX_GROWTH_TARGET = 1.5
BATCH = 10_000
SEED = 20261129

#: (programme, title, hours) of the ordinary rows; professional ethics is added apart
PROGRAMMES = (
    ("post_training", "营业窗口岗位培训", Decimal("4.0")),
    ("safety", "安规考试培训", Decimal("2.0")),
    ("service_standards", "95598服务规范", Decimal("1.5")),
    ("repair_skills", "配网故障抢修实训", Decimal("8.0")),
    ("new_three_studies", "新三学专题学习", Decimal("1.0")),
    ("culture", "企业文化", Decimal("0.5")),
    ("integrity", "廉洁从业教育", Decimal("1.0")),
    ("study_day", "供电所学习日", Decimal("3.0")),
)
ETHICS = ("professional_ethics", "职业道德教育", Decimal("2.0"))
FORMS = ("网络", "网络", "网络", "面授", "实操", "学习日", "以会代训")


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def make_app(url: str, folder: str) -> Any:
    os.environ["LMS_INSTANCE_PATH"] = folder
    import lms

    return lms.create_app({"SECRET_KEY": "bench", "LMS_DATABASE_URL": url, "LMS_DATA_DIR": folder})


def close_app(app: Any) -> None:
    app.extensions["lms"].job_runner.shutdown()
    app.extensions["lms"].db.dispose()


# -- building the bureau -------------------------------------------------------------------------


def build(app: Any, employees: int, rows: int) -> dict[str, int]:
    """The demo bureau's units and people, then the year's ledger rows, certificates and moves
    by bulk insert; the numbers made."""
    import sqlalchemy as sa

    from lms.demo import build_demo
    from lms.org.models import Employee, EmploymentStatus

    database = app.extensions["lms"].db
    rng = random.Random(SEED)
    began = time.perf_counter()
    with app.app_context(), database.transaction() as session:
        build_demo(session, employees=employees)
    progress(f"  {employees:,} employees and their units in {time.perf_counter() - began:.1f} s")

    with database.engine.connect() as connection:
        people = connection.execute(
            sa.select(
                Employee.id,
                Employee.unit_id,
                Employee.post_id,
                Employee.is_manager,
                Employee.status,
                Employee.hired_on,
                Employee.left_on,
            ).order_by(Employee.id)
        ).all()
        units_by_kind: dict[str, list[int]] = {}
        for uid, kind in connection.exec_driver_sql("SELECT id, kind FROM lms_unit"):
            units_by_kind.setdefault(kind, []).append(uid)
        unit_kind = {uid: kind for kind, ids in units_by_kind.items() for uid in ids}

    # Who trains: most of those who work (in post, or leaving after the year's start); a third
    # of them also take professional-ethics training.
    working = [
        p
        for p in people
        if p.status is EmploymentStatus.active or (p.left_on and p.left_on > date(YEAR, 1, 1))
    ]
    trainers = [p.id for p in working if rng.random() < 0.9]
    ethics_people = {pid for pid in trainers if rng.random() < 0.3}

    began = time.perf_counter()
    dialect = database.engine.dialect.name
    made = _insert_ledger(database.engine, _ledger_rows(rng, trainers, ethics_people, rows))
    progress(f"  {made:,} ledger rows in {time.perf_counter() - began:.1f} s")

    began = time.perf_counter()
    certificates = _certificates(rng, people, made)
    moves, updates = _moves(rng, working, units_by_kind, unit_kind)
    from lms.certificates.models import Certificate
    from lms.org.models import EmployeeMove

    with database.engine.begin() as connection:
        for start in range(0, len(certificates), BATCH):
            connection.execute(sa.insert(Certificate), certificates[start : start + BATCH])
        connection.execute(sa.insert(EmployeeMove), moves)
        connection.execute(
            sa.update(Employee.__table__)
            .where(Employee.__table__.c.id == sa.bindparam("who"))
            .values(unit_id=sa.bindparam("unit")),
            updates,
        )
    progress(
        f"  {len(certificates):,} certificates and {len(moves):,} moves in "
        f"{time.perf_counter() - began:.1f} s ({dialect})"
    )
    return {"ledger": made, "certificates": len(certificates), "moves": len(moves)}


def _ledger_rows(
    rng: random.Random, trainers: list[int], ethics_people: set[int], rows: int
) -> Iterator[tuple[Any, ...]]:
    """``rows`` ledger rows of the year, day by day (as a ledger grows), of random trainers;
    3% failed; about one in ten of an ethics person's rows professional ethics."""
    first = date(YEAR, 1, 1).toordinal()
    days = 365
    created = datetime(YEAR, 12, 31, 16, 0)  # naive UTC, as the column stores it
    number = 0
    for offset in range(days):
        day = date.fromordinal(first + offset)
        today_rows = rows // days + (1 if offset < rows % days else 0)
        for _ in range(today_rows):
            number += 1
            who = rng.choice(trainers)
            if who in ethics_people and rng.random() < 0.1:
                programme, title, hours = ETHICS
            else:
                programme, title, hours = PROGRAMMES[rng.randrange(len(PROGRAMMES))]
            passed = rng.random() >= 0.03
            yield (
                who,
                programme,
                title,
                FORMS[rng.randrange(len(FORMS))],
                day,
                day,
                hours,
                Decimal(rng.randint(60, 100) if passed else rng.randint(30, 59)),
                passed,
                "import",
                f"bench:{number}",
                created,
            )


LEDGER_COLUMNS = (
    "employee_id",
    "programme",
    "title",
    "form",
    "start_on",
    "end_on",
    "hours",
    "score",
    "passed",
    "source",
    "source_ref",
    "created_at",
)


def _insert_ledger(engine: Any, rows: Iterator[tuple[Any, ...]]) -> int:
    """Bulk insert: COPY on PostgreSQL; on SQLite ``executemany`` in batches of 10,000, with
    the values as SQLAlchemy stores them (ISO dates, REAL numbers, naive UTC timestamps)."""
    made = 0
    with engine.begin() as connection:
        raw = connection.connection.driver_connection
        if engine.dialect.name == "postgresql":
            cursor = raw.cursor()
            # the app's statement timeout (a minute) is for requests, not for a bulk load
            cursor.execute("SET LOCAL statement_timeout = 0")
            with cursor.copy(
                f"COPY lms_ledger_entry ({', '.join(LEDGER_COLUMNS)}) FROM STDIN"
            ) as copy:
                for row in rows:
                    copy.write_row(row)
                    made += 1
                    if made % 500_000 == 0:
                        progress(f"    {made:,} rows")
            return made
        statement = (
            f"INSERT INTO lms_ledger_entry ({', '.join(LEDGER_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(LEDGER_COLUMNS))})"
        )
        cursor = raw.cursor()
        batch: list[tuple[Any, ...]] = []
        for who, prog, title, form, start, end, hours, score, passed, src, ref, at in rows:
            batch.append(
                (
                    who,
                    prog,
                    title,
                    form,
                    start.isoformat(),
                    end.isoformat(),
                    float(hours),
                    float(score),
                    int(passed),
                    src,
                    ref,
                    at.isoformat(sep=" "),
                )
            )
            if len(batch) == BATCH:
                cursor.executemany(statement, batch)
                made += len(batch)
                batch.clear()
                if made % 500_000 == 0:
                    progress(f"    {made:,} rows")
        cursor.executemany(statement, batch)
        made += len(batch)
    return made


def _certificates(rng: random.Random, people: list[Any], ledger_rows: int) -> list[dict[str, Any]]:
    """Managers' 上岗培训合格证 (about half of them hold one; some expired, revoked before or
    after the as-of date, or replaced by a renewal), and qualification certificates of others
    that name a ledger row (the export shows them)."""
    from lms.certificates.models import CertificateSource, CertificateStatus

    made: list[dict[str, Any]] = []

    def add(person: Any, kind: str, issued: date, **extra: Any) -> None:
        number = len(made) + 1
        made.append(
            {
                "serial": f"BENCH-{kind[:2].upper()}-{number:08d}",
                "verification_code": f"bench{number:011d}{rng.getrandbits(64):016x}",
                "employee_id": person.id,
                "course_id": None,
                "design": kind,
                "kind": kind,
                "title": "管理人员上岗培训合格证" if kind == "onboarding" else "岗位培训合格证",
                "hours": Decimal("16.0"),
                "issued_on": issued,
                "valid_until": extra.get("valid_until", issued + timedelta(days=3 * 365)),
                "status": extra.get("status", CertificateStatus.valid),
                "source": CertificateSource.imported,
                "revoked_at": extra.get("revoked_at"),
                "revoked_reason": "复查撤销" if extra.get("revoked_at") else "",
                "ledger_entry_id": extra.get("ledger_entry_id"),
            }
        )

    for person in people:
        draw = rng.random()
        issued = AS_OF - timedelta(days=rng.randint(30, 1500))
        if person.is_manager:
            if draw < 0.45:
                add(person, "onboarding", issued)
            elif draw < 0.5:  # expired before the as-of date
                add(person, "onboarding", issued, valid_until=AS_OF - timedelta(days=40))
            elif draw < 0.52:  # revoked in the year: not held on the as-of date
                revoked = datetime(YEAR, 6, 1, 2, 0, tzinfo=UTC)
                add(person, "onboarding", issued, status="revoked", revoked_at=revoked)
            elif draw < 0.53:  # revoked after the as-of date: still held on it
                revoked = datetime(YEAR + 1, 1, 10, 2, 0, tzinfo=UTC)
                add(person, "onboarding", issued, status="revoked", revoked_at=revoked)
            elif draw < 0.56:  # renewed: the old one replaced, the new one valid
                add(person, "onboarding", issued, status="replaced")
                add(person, "onboarding", issued + timedelta(days=20))
        elif draw < 0.05 and ledger_rows:
            # ids follow the insert order in a fresh database: row n has id n
            add(person, "qualification", issued, ledger_entry_id=rng.randint(1, ledger_rows))
    return made


def _moves(
    rng: random.Random,
    working: list[Any],
    units_by_kind: dict[str, list[int]],
    unit_kind: dict[int, str],
) -> tuple[list[dict[str, Any]], list[dict[str, int]]]:
    """About 2% of the people moved to another unit of the same kind: half in the year (their
    unit on the as-of date is the new one), half after the as-of date (the old one)."""
    moves, updates = [], []
    for person in working:
        if rng.random() >= 0.02:
            continue
        others = [u for u in units_by_kind[unit_kind[person.unit_id]] if u != person.unit_id]
        if not others:
            continue
        target = rng.choice(others)
        day = (
            AS_OF + timedelta(days=rng.randint(1, 60))
            if rng.random() < 0.5
            else date(YEAR, 1, 1) + timedelta(days=rng.randint(0, 364))
        )
        moves.append(
            {
                "employee_id": person.id,
                "effective_on": day,
                "from_unit_id": person.unit_id,
                "to_unit_id": target,
                "from_post_id": person.post_id,
                "to_post_id": person.post_id,
                "note": "基准数据：调动",
            }
        )
        updates.append({"who": person.id, "unit": target})
    return moves, updates


def analyze(app: Any) -> float:
    """ANALYZE the database (PostgreSQL: VACUUM ANALYZE, as autovacuum would after a load:
    it also sets the visibility map that index-only scans need); its seconds."""
    engine = app.extensions["lms"].db.engine
    began = time.perf_counter()
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("SET statement_timeout = 0")
            connection.exec_driver_sql("VACUUM ANALYZE")
    else:
        with engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")
            connection.commit()
    return time.perf_counter() - began


# -- the coverage JSON ---------------------------------------------------------------------------


def coverage_once(app: Any) -> tuple[float, str]:
    """One ``lms report coverage --format json`` computation from a fresh read session: its
    seconds and the JSON text."""
    from zoneinfo import ZoneInfo

    from lms.reports import outputs
    from lms.reports.coverage import CoverageSettings, coverage

    settings = CoverageSettings.from_config(app.config)
    zone = ZoneInfo(app.config["LMS_TIMEZONE"])
    with app.app_context():
        began = time.perf_counter()
        session = app.extensions["lms"].db.session(write=False)
        try:
            found = coverage(
                session,
                year=YEAR,
                as_of=AS_OF,
                unit=None,
                settings=settings,
                zone=zone,
                breakdowns=False,
            )
            body = outputs.coverage_json(found, settings)
        finally:
            session.close()
        return time.perf_counter() - began, body


def time_coverage(url: str, folder: str, runs: int, warm_up: bool) -> None:
    """Child: ``runs`` coverage runs (after one warm-up, if asked) in a fresh process, as
    ``lms report coverage`` runs; prints every run's seconds and the last JSON, or the error
    (PostgreSQL's statement timeout) and when it came."""
    import sqlalchemy as sa

    app = make_app(url, folder)
    times: list[float] = []
    body = ""
    began = time.perf_counter()
    try:
        if warm_up:
            coverage_once(app)
        for _ in range(runs):
            began = time.perf_counter()
            seconds, body = coverage_once(app)
            times.append(seconds)
        print(json.dumps({"times": times, "body": body}, ensure_ascii=False))
    except sa.exc.OperationalError as error:
        reason = str(error.orig).splitlines()[0]
        print(json.dumps({"error": reason, "seconds": time.perf_counter() - began}))
    close_app(app)


def explain(app: Any, *, run: bool = True) -> str:
    """The plan of the grouped statement ``coverage`` runs (EXPLAIN QUERY PLAN on SQLite;
    on PostgreSQL EXPLAIN, with ``run`` (ANALYZE, BUFFERS))."""
    from zoneinfo import ZoneInfo

    import sqlalchemy as sa

    from lms.reports.coverage import CoverageSettings, in_scope_people

    settings = CoverageSettings.from_config(app.config)
    people = in_scope_people(
        year=YEAR, as_of=AS_OF, settings=settings, zone=ZoneInfo(app.config["LMS_TIMEZONE"])
    ).subquery()
    query = sa.select(
        people.c.unit_id,
        sa.func.count(),
        sa.func.sum(people.c.trained),
        sa.func.sum(people.c.manager),
        sa.func.sum(people.c.certified),
        sa.func.sum(people.c.ethics),
        sa.func.sum(people.c.records),
        sa.func.sum(people.c.hours),
    ).group_by(people.c.unit_id)
    engine = app.extensions["lms"].db.engine
    text = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
    if engine.dialect.name == "postgresql":
        prefix = "EXPLAIN (ANALYZE, BUFFERS) " if run else "EXPLAIN "
    else:
        prefix = "EXPLAIN QUERY PLAN "
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(prefix + text)
        lines = [" | ".join(str(v) for v in row) for row in rows]
    return "\n".join(lines)


# -- the naive version (child process) ------------------------------------------------------------


def naive(url: str, folder: str) -> None:
    """Child: the coverage JSON the naive way (every row through the ORM, counted in Python);
    prints its seconds, peak memory and the JSON."""
    from zoneinfo import ZoneInfo

    import sqlalchemy as sa

    from lms.certificates.models import Certificate, CertificateStatus
    from lms.org.models import Employee, EmployeeMove, EmploymentStatus, Unit
    from lms.reports.coverage import (
        Counts,
        Coverage,
        CoverageSettings,
        UnitRow,
        as_json,
        targets,
    )
    from lms.training.models import LedgerEntry

    app = make_app(url, folder)
    settings = CoverageSettings.from_config(app.config)
    zone = ZoneInfo(app.config["LMS_TIMEZONE"])
    with app.app_context():
        began = time.perf_counter()
        session = app.extensions["lms"].db.session(write=False)
        start, end = date(YEAR, 1, 1), min(AS_OF, date(YEAR, 12, 31))
        units = list(session.scalars(sa.select(Unit)))
        people = list(session.scalars(sa.select(Employee)))
        entries = list(
            session.scalars(sa.select(LedgerEntry).where(LedgerEntry.end_on.between(start, end)))
        )
        certificates = list(session.scalars(sa.select(Certificate)))
        moves = list(session.scalars(sa.select(EmployeeMove)))
        loaded = time.perf_counter() - began

        after_as_of = datetime.combine(AS_OF + timedelta(days=1), datetime.min.time(), zone)
        first_move: dict[int, EmployeeMove] = {}
        for move in sorted(moves, key=lambda m: (m.effective_on, m.id)):
            if move.effective_on > AS_OF:
                first_move.setdefault(move.employee_id, move)
        held = {
            c.employee_id
            for c in certificates
            if c.kind in settings.certificate_kinds
            and c.issued_on <= AS_OF
            and (c.valid_until is None or c.valid_until >= AS_OF)
            and (
                c.status in (CertificateStatus.valid, CertificateStatus.replaced)
                or (
                    c.status is CertificateStatus.revoked
                    and c.revoked_at is not None
                    and c.revoked_at >= after_as_of
                )
            )
        }
        records: dict[int, int] = {}
        hours: dict[int, Decimal] = {}
        ethics: set[int] = set()
        for entry in entries:
            if not entry.passed:
                continue
            records[entry.employee_id] = records.get(entry.employee_id, 0) + 1
            hours[entry.employee_id] = hours.get(entry.employee_id, Decimal(0)) + entry.hours
            if entry.programme in settings.ethics_programmes:
                ethics.add(entry.employee_id)
        own: dict[int, Counts] = {}
        for person in people:
            status_ok = person.status in settings.included_statuses or (
                EmploymentStatus.active in settings.included_statuses
                and person.status is EmploymentStatus.left
                and person.left_on is not None
                and person.left_on > AS_OF
            )
            if not status_ok or (person.hired_on is not None and person.hired_on > AS_OF):
                continue
            if person.left_on is not None and person.left_on <= AS_OF:
                continue
            move = first_move.get(person.id)
            unit_id = (move.from_unit_id or person.unit_id) if move else person.unit_id
            counts = own.setdefault(unit_id, Counts())
            trained = person.id in records and (
                settings.min_hours <= 0 or hours[person.id] >= Decimal(str(settings.min_hours))
            )
            counts.headcount += 1
            counts.trained += int(trained)
            counts.managers += int(person.is_manager)
            counts.certified += int(person.is_manager and person.id in held)
            counts.ethics += int(person.id in ethics)
            counts.records += records.get(person.id, 0)
            counts.hours += float(hours.get(person.id, 0))
        by_id = {u.id: u for u in units}
        subtree = {u.id: Counts() for u in units}
        total = Counts()
        for uid, counts in own.items():
            total.add(counts)
            for part in by_id[uid].path.strip("/").split("/"):
                subtree[int(part)].add(counts)
        children: dict[int | None, list[Unit]] = {}
        for u in units:
            children.setdefault(u.parent_id, []).append(u)
        rows: list[UnitRow] = []

        def walk(parent: int | None, depth: int) -> None:
            for u in sorted(children.get(parent, []), key=lambda u: (u.sort_order, u.code)):
                rows.append(UnitRow(u, depth, subtree[u.id], own.get(u.id, Counts())))
                walk(u.id, depth + 1)

        walk(None, 0)
        found = Coverage(
            year=YEAR,
            as_of=AS_OF,
            unit=None,
            total=total,
            targets=targets(total, settings),
            units=rows,
            by_post=[],
            by_staff_kind=[],
        )
        body = json.dumps(as_json(found, settings), ensure_ascii=False, indent=2) + "\n"
        seconds = time.perf_counter() - began
        objects = len(people) + len(entries) + len(certificates) + len(moves)
        session.close()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "seconds": seconds,
                "loading_s": loaded,
                "peak_mb": peak_mb,
                "objects": objects,
                "body": body,
            },
            ensure_ascii=False,
        )
    )


# -- the ledger's XLSX export (child process) ----------------------------------------------------


def export(url: str, folder: str, start: str, end: str) -> None:
    """Child: export the ledger from ``start`` to ``end`` as XLSX with ``export_ledger``, from a
    read session as the export job does; prints rows, seconds, peak memory and the file size."""
    from lms.reports.tables import LedgerFilter, export_ledger

    app = make_app(url, folder)
    path = Path(folder) / f"ledger-{start}-{end}.xlsx"
    with app.app_context():
        began = time.perf_counter()
        reader = app.extensions["lms"].db.session(write=False)
        try:
            written = export_ledger(
                reader,
                LedgerFilter(date.fromisoformat(start), date.fromisoformat(end)),
                path,
                fmt="xlsx",
            )
        finally:
            reader.close()
        seconds = time.perf_counter() - began
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    size_mb = path.stat().st_size / 2**20
    path.unlink()
    print(json.dumps({"rows": written, "seconds": seconds, "peak_mb": peak_mb, "size_mb": size_mb}))


def child(*arguments: str, folder: str) -> dict[str, Any]:
    """Run this script with ``arguments`` in a fresh process; its last line, parsed."""
    done = subprocess.run(
        [sys.executable, __file__, *arguments],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "LMS_INSTANCE_PATH": folder},
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def export_end(app: Any, rows: int) -> date:
    """The first end date whose ledger from 1 January holds at least ``rows`` rows."""
    import sqlalchemy as sa

    from lms.training.models import LedgerEntry

    with app.extensions["lms"].db.engine.connect() as connection:
        per_day = connection.execute(
            sa.select(LedgerEntry.end_on, sa.func.count())
            .group_by(LedgerEntry.end_on)
            .order_by(LedgerEntry.end_on)
        ).all()
    total = 0
    for day, count in per_day:
        total += count
        if total >= rows:
            return day
    return AS_OF


# -- one database --------------------------------------------------------------------------------


def run_database(backend: str, args: argparse.Namespace, sizes: dict[str, int]) -> dict[str, Any]:
    """Build, analyze and measure one database; its figures."""
    import sqlalchemy as sa

    from lms.migrate import upgrade

    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="lms-bench-") as folder:
        admin, name = None, ""
        if backend == "sqlite":
            url = f"sqlite:///{folder}/bench.db"
        else:
            name = f"lms_bench_{uuid.uuid4().hex[:8]}"
            admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
            url = sa.make_url(POSTGRES_URL).set(database=name).render_as_string(False)
        try:
            progress(
                f"{backend}: building {sizes['employees']:,} employees, {sizes['rows']:,} rows"
            )
            app = make_app(url, folder)
            upgrade(app)
            figures["built"] = build(app, sizes["employees"], sizes["rows"])
            # one run before ANALYZE: the database as the app leaves it after an import
            if args.explain:
                print(explain(app, run=False), flush=True)
            before = child("--coverage", url, "1", "0", folder=folder)
            if "error" in before:
                figures["before_analyze_s"] = before["seconds"]
                progress(
                    f"  coverage JSON before ANALYZE: failed after {before['seconds']:.1f} s: "
                    f"{before['error']}"
                )
            else:
                figures["before_analyze_s"] = before["times"][0]
                progress(f"  coverage JSON before ANALYZE (one run): {before['times'][0]:.3f} s")
            progress(f"  ANALYZE in {analyze(app):.1f} s")
            if args.explain:
                print(explain(app), flush=True)
            timed = child("--coverage", url, str(args.runs), "1", folder=folder)
            if "error" in timed:
                raise SystemExit(f"{backend}: coverage failed: {timed['error']}")
            times, body = timed["times"], timed["body"]
            seconds = statistics.median(times)
            figures["coverage_s"] = seconds
            total = json.loads(body)["targets"]
            progress(
                f"  coverage JSON: median {seconds:.3f} s of {args.runs} {_fmt(times)}; "
                + ", ".join(f"{t['numerator']}/{t['denominator']}" for t in total)
            )
            if not args.skip_naive:
                progress("  naive version (child process)...")
                found = child("--naive", url, folder=folder)
                if json.loads(found["body"]) != json.loads(body):
                    raise SystemExit(f"{backend}: the naive version's JSON differs")
                figures["naive_s"] = found["seconds"]
                figures["naive_peak_mb"] = found["peak_mb"]
                progress(
                    f"  naive: {found['seconds']:.1f} s ({found['loading_s']:.1f} s loading "
                    f"{found['objects']:,} ORM objects), peak {found['peak_mb']:,.0f} MB; same "
                    f"JSON; ratio {found['seconds'] / seconds:.0f}x"
                )
            if backend == "sqlite" and not args.skip_export:
                for label, rows in (("small", sizes["export_small"]), ("large", sizes["rows"])):
                    end = export_end(app, rows)
                    progress(f"  XLSX export 1 January to {end} (child process)...")
                    done = child("--export", url, f"{YEAR}-01-01", end.isoformat(), folder=folder)
                    figures[f"export_{label}"] = done
                    progress(
                        f"  XLSX export: {done['rows']:,} rows in {done['seconds']:.1f} s "
                        f"({done['rows'] / done['seconds']:,.0f} rows/s, "
                        f"{done['size_mb']:.0f} MB), peak {done['peak_mb']:.0f} MB"
                    )
            close_app(app)
        finally:
            if admin is not None:
                with admin.connect() as connection:
                    connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                admin.dispose()
    return figures


def _fmt(times: list[float]) -> str:
    return "(" + ", ".join(f"{t:.3f}" for t in times) + ")"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10,000 employees and 300,000 rows")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), help="only this one")
    parser.add_argument("--runs", type=int, default=5, help="coverage runs measured")
    parser.add_argument("--explain", action="store_true", help="print the statement's plan")
    parser.add_argument("--skip-naive", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--skip-export", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--naive", help=argparse.SUPPRESS)
    parser.add_argument("--export", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--coverage", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.naive:
        naive(args.naive, os.environ["LMS_INSTANCE_PATH"])
        return
    if args.coverage:
        url, runs, warm_up = args.coverage
        time_coverage(url, os.environ["LMS_INSTANCE_PATH"], int(runs), warm_up == "1")
        return
    if args.export:
        export(args.export[0], os.environ["LMS_INSTANCE_PATH"], *args.export[1:])
        return

    sizes = (
        {"employees": 10_000, "rows": 300_000, "export_small": 30_000}
        if args.quick
        else {"employees": 100_000, "rows": 3_000_000, "export_small": 300_000}
    )
    backends = (args.database,) if args.database else ("sqlite", "postgresql")
    results = []
    for backend in backends:
        figures = run_database(backend, args, sizes)
        results.append(
            result(f"coverage_s_{backend}", figures["coverage_s"], "s", COVERAGE_TARGET_S)
        )
        if "naive_s" in figures:
            results.append(
                result(
                    f"naive_ratio_{backend}",
                    figures["naive_s"] / figures["coverage_s"],
                    "x",
                    NAIVE_RATIO_TARGET,
                    better="higher",
                )
            )
        if "export_large" in figures:
            small, large = figures["export_small"], figures["export_large"]
            growth = large["peak_mb"] / small["peak_mb"]
            progress(
                f"XLSX export peak: {large['peak_mb']:.0f} MB at {large['rows']:,} rows against "
                f"{small['peak_mb']:.0f} MB at {small['rows']:,}: {growth:.2f}x"
            )
            results.append(result("xlsx_peak_growth_x", growth, "x", XLSX_GROWTH_TARGET))
    emit("report", results)


if __name__ == "__main__":
    main()
