"""Benchmark: certificates per second in a bulk issue, one on-demand certificate, PDF size.

    python bench/certificates.py            # a bulk issue of 500
    python bench/certificates.py --quick    # 100 (a smoke run)

Builds a throwaway instance on SQLite (one unit, the people, a course with the 合格证 design and
a passing ledger row per person), starts the app's render pool (``LMS_PDF_WORKERS`` = 2
long-lived worker processes, warmed up before anything is timed), then measures:

- ``bulk_per_s``: the real bulk issue service end to end, as the bulk issue job runs it:
  finding the candidates (:func:`lms.certificates.bulk.bulk_candidates`), then
  :func:`lms.certificates.bulk.issue_bulk` (serials, QR codes, rendering in the 2 workers,
  storing the PDFs, inserting the certificates with their audit rows), committed. Target: at
  least 12 a second;
- ``one_warm_ms``: one on-demand certificate (:func:`lms.certificates.services.issue_certificate`
  with the pool's renderer, in a transaction of its own: serial, render, stored PDF, row,
  audit, commit) once the workers are warm, the median of several. Target: under 150 ms;
- ``pdf_median_kb``: the median size of the PDFs the bulk issue stored (1 KB = 1,000 bytes).
  Target: under 250 KB.

For comparison it also prints (not as results) the two halves of an on-demand certificate:
the render alone in this process (no pool, database or storage), and the issue with a PDF
ready (serial, QR code, storing, the row, the commit; no rendering). Prints human lines, then
one JSON line (DESIGN.md, Benchmarks).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

# Runs from a fresh checkout, installed or not.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import emit, result

BULK_TARGET_PER_S = 12.0
ONE_TARGET_MS = 150.0
SIZE_TARGET_KB = 250.0
WORKERS = 2
DESIGN = "qualification"
#: people who did not pass the course: the on-demand certificates go to them
EXTRA_PEOPLE = 40
COURSE_TITLE = "电力安全工作规程（配电部分）"
PASSED_FROM, PASSED_TO = date(2026, 3, 1), date(2026, 10, 31)


def build(database: Any, people: int, seed: int = 11) -> tuple[int, list[int]]:
    """A unit, ``people`` employees and a course with a certificate design; everyone but the
    last :data:`EXTRA_PEOPLE` passed it between March and October (their ledger rows);
    returns the course's id and the ids of those who did not (for the on-demand issues)."""
    from lms.courses.models import Course
    from lms.demo.names import random_name
    from lms.org.models import Employee, Unit, UnitKind
    from lms.org.services import rebuild_paths
    from lms.training.models import LedgerSource, TrainingForm
    from lms.training.services import add_ledger_entry

    rng = random.Random(seed)
    with database.transaction() as db:
        unit = Unit(
            code="B01", name="湖塘供电所", kind=UnitKind.rural_office, is_rural=True, path=""
        )
        db.add(unit)
        db.flush()
        rebuild_paths(db)
        course = Course(
            code="AQ-PD",
            title=COURSE_TITLE,
            programme="service_standards",
            hours=Decimal("16"),
            certificate_design=DESIGN,
        )
        db.add(course)
        employees = [
            Employee(emp_no=f"LC{number:06d}", name=random_name(rng, "配电抢修工"), unit_id=unit.id)
            for number in range(1, people + 1)
        ]
        db.add_all(employees)
        db.flush()
        span = (PASSED_TO - PASSED_FROM).days
        passed, others = employees[: people - EXTRA_PEOPLE], employees[people - EXTRA_PEOPLE :]
        for number, person in enumerate(passed, 1):
            day = date.fromordinal(PASSED_FROM.toordinal() + rng.randrange(span + 1))
            add_ledger_entry(
                db,
                employee_id=person.id,
                programme=course.programme,
                title=course.title,
                form=TrainingForm.online,
                start_on=day,
                end_on=day,
                hours=course.hours,
                source=LedgerSource.online,
                source_ref=f"bench:{number}",
                course_id=course.id,
                score=Decimal(rng.randrange(60, 101)),
            )
        return course.id, [person.id for person in others]


def warm_up(pool: Any, design: Any, context: dict[str, Any]) -> None:
    """Start every worker of the pool and render in each (the pool starts a process for each
    render submitted while none is idle, so renders submitted at once start them all)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(pool.workers * 2) as threads:
        for _ in range(2):
            list(threads.map(lambda _: pool.render(design, context), range(pool.workers * 2)))


def bare_render_ms(design: Any, context: dict[str, Any], runs: int) -> float:
    """Median time of the certificate rendered in this process (no pool, database, storage)."""
    from lms.certificates.designs import render_pdf

    render_pdf(design, context)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        render_pdf(design, context)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a bulk issue of 100 instead of 500")
    parser.add_argument("--count", type=int, help="issue this many in bulk instead")
    parser.add_argument("--runs", type=int, default=15, help="on-demand certificates timed")
    args = parser.parse_args()
    count = args.count or (100 if args.quick else 500)
    # the figures mean little on a busy machine: say how busy it was
    print("load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    runs = min(7 if args.quick else args.runs, EXTRA_PEOPLE // 2 - 1)

    with tempfile.TemporaryDirectory(prefix="lms-bench-") as folder:
        os.environ["LMS_INSTANCE_PATH"] = folder
        import sqlalchemy as sa

        import lms
        from lms.certificates.bulk import bulk_candidates, issue_bulk
        from lms.certificates.designs import shipped_designs
        from lms.certificates.issuing import renderer, verify_url_builder
        from lms.certificates.models import Certificate
        from lms.certificates.services import certificate_context, issue_certificate
        from lms.courses.models import Course
        from lms.db import utcnow
        from lms.migrate import upgrade
        from lms.org.models import Employee

        data_dir = Path(folder) / "data"
        app = lms.create_app(
            {
                "SECRET_KEY": "bench",
                "LMS_DATABASE_URL": f"sqlite:///{folder}/bench.db",
                "LMS_DATA_DIR": str(data_dir),
                "LMS_PUBLIC_URL": "https://lms.example.cn",
                "LMS_PDF_WORKERS": WORKERS,
            }
        )
        upgrade(app)
        database = app.extensions["lms"].db
        config = app.config
        design = shipped_designs()[DESIGN]
        course_id, others = build(database, count + EXTRA_PEOPLE)

        with app.app_context():
            pool = renderer()
            verify_url = verify_url_builder()
            with database.transaction() as db:
                sample = certificate_context(
                    employee=db.get(Employee, others[-1]),
                    course=db.get(Course, course_id),
                    serial="LCGD-2026-HG-999999",
                    code="x" * 22,
                    issued_on=date.today(),
                    valid_until=None,
                    score=Decimal("88"),
                    bureau=config["LMS_BUREAU_NAME"],
                    verify_url=verify_url,
                )
            start = time.perf_counter()
            warm_up(pool, design, sample)
            print(
                f"started and warmed {pool.workers} render workers in "
                f"{time.perf_counter() - start:.2f} s"
            )

            # -- bulk: everyone who passed, as the bulk issue job does it -----------------------
            start, cpu_start = time.perf_counter(), time.process_time()
            with database.transaction() as db:
                candidates = bulk_candidates(db, course_id, PASSED_FROM, PASSED_TO)
            outcome = issue_bulk(
                database,
                course_id=course_id,
                design=design,
                candidates=candidates,
                bureau=config["LMS_BUREAU_NAME"],
                serial_bureau=config["LMS_CERTIFICATE_SERIAL_PREFIX"],
                verify_url=verify_url,
                data_dir=data_dir,
                actor_id=None,
                render=pool.render,
                workers=pool.workers,
            )
            bulk_s = time.perf_counter() - start
            main_cpu_ms = (time.process_time() - cpu_start) * 1000 / count
            assert (outcome.issued, outcome.skipped, outcome.failed) == (count, 0, []), outcome
            bulk_per_s = count / bulk_s
            print(
                f"bulk issue of {count}: {bulk_s:.1f} s, {bulk_per_s:.1f} certificates/s "
                f"(this process: {main_cpu_ms:.0f} ms of CPU a certificate, the rest in the "
                "workers)"
            )

            with database.transaction() as db:
                paths = db.scalars(sa.select(Certificate.pdf_path)).all()
            sizes = [(data_dir / path).stat().st_size / 1000 for path in paths]
            assert len(sizes) == count
            pdf_median_kb = statistics.median(sizes)
            print(
                f"PDF size: median {pdf_median_kb:.0f} KB "
                f"(smallest {min(sizes):.0f} KB, largest {max(sizes):.0f} KB)"
            )

            # -- one on-demand certificate in a warm worker ------------------------------------
            def issue_one(employee_id: int, render: Any) -> float:
                """Milliseconds to issue the course's certificate to one person, committed."""
                start = time.perf_counter()
                with database.transaction() as db:
                    issue_certificate(
                        db,
                        employee=db.get(Employee, employee_id),
                        course=db.get(Course, course_id),
                        design=design,
                        issued_on=date.today(),
                        score=Decimal("88"),
                        bureau=config["LMS_BUREAU_NAME"],
                        serial_bureau=config["LMS_CERTIFICATE_SERIAL_PREFIX"],
                        verify_url=verify_url,
                        data_dir=data_dir,
                        actor=None,
                        now=utcnow(),
                        renderer=render,
                    )
                return (time.perf_counter() - start) * 1000

            times = [issue_one(person, pool.render) for person in others[: runs + 1]][1:]
            one_warm_ms = statistics.median(times)  # the first was a warm-up
            print(
                f"one on-demand certificate: median {one_warm_ms:.0f} ms of {len(times)} "
                f"(fastest {min(times):.0f} ms, slowest {max(times):.0f} ms)"
            )

            # -- for comparison: its two halves ------------------------------------------------
            bare_ms = bare_render_ms(design, sample, runs)
            print(f"  the render alone, in this process: median {bare_ms:.0f} ms")
            rendered = pool.render(design, sample)
            rest = [issue_one(person, lambda *_: rendered) for person in others[runs + 1 :]]
            print(
                "  the rest (serial, QR code, storing the PDF, the row, commit) with a ready "
                f"PDF: median {statistics.median(rest):.0f} ms"
            )
            pool.close()
        app.extensions["lms"].job_runner.shutdown()
        database.dispose()

    print("load average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    emit(
        "certificates",
        [
            result("bulk_per_s", bulk_per_s, "/s", BULK_TARGET_PER_S, better="higher"),
            result("one_warm_ms", one_warm_ms, "ms", ONE_TARGET_MS),
            result("pdf_median_kb", pdf_median_kb, "KB", SIZE_TARGET_KB),
        ],
    )


if __name__ == "__main__":
    main()
