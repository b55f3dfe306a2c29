"""Benchmark: 200 candidates through a 50-question drawn paper, the app under gunicorn.

    python bench/exam_load.py                        # SQLite, then PostgreSQL
    python bench/exam_load.py --database sqlite      # one of them
    python bench/exam_load.py --quick                # 5 s phases, a smoke run

For each database: a throwaway instance (temporary folder; SQLite file, or a throwaway
PostgreSQL database on ``LMS_BENCH_POSTGRES_URL``, default the local server) with the shipped
question banks, 200 employees and a published drawn paper of 50 questions (single and multiple
choice, true/false, fill-in, across banks). It starts ``gunicorn -w 2 -k sync`` on a free
loopback port, signs every candidate in through the sign-in form and starts their attempts
(``attempts_started_per_s``: 32 client threads in this process), then drives two phases with
``wrk`` at 32 connections (``--duration`` seconds each, after a short warm-up):

- the exam page, ``GET /attempts/<id>`` (every item with its widget), spread over candidates;
- saving an answer, ``POST /attempts/<id>/answers/<key>`` with ``{"response": ...}`` and the
  ``X-CSRFToken`` header, as ``lms.js`` does, over every candidate and item.

Every response must be 200: any other status or socket error is printed and marks the figures
invalid (``ok`` false). Targets at 32 connections: the exam page at least 600 requests/s with
p99 under 100 ms; saving an answer at least 1,000 requests/s with p99 under 50 ms. Needs
``wrk`` (Debian package ``wrk``; ``scripts/install --bench``) and gunicorn. Prints human
lines, then one JSON line (DESIGN.md, Benchmarks).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import emit, result  # noqa: E402  (bench/common.py)

LUA_SCRIPT = ROOT / "bench" / "exam_load.lua"
POSTGRES_URL = os.environ.get(
    "LMS_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
PASSWORD = "bench-password-42"
#: the paper's mix: 50 questions by type
PAPER_MIX = {"single_choice": 25, "multiple_choice": 10, "true_false": 10, "fill_in": 5}
PAGE_RPS_TARGET, PAGE_P99_TARGET = 600.0, 100.0
SAVE_RPS_TARGET, SAVE_P99_TARGET = 1000.0, 50.0


@dataclass
class Candidate:
    emp_no: str
    cookies: dict[str, str] = field(default_factory=dict)
    attempt_path: str = ""
    csrf: str = ""
    #: (save path, JSON body) per item
    answers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())


# -- building the instance ---------------------------------------------------------------------


def build(url: str, folder: str, candidates: int) -> int:
    """Migrate, import the shipped banks, add the candidates and the drawn paper; its id."""
    import sqlalchemy as sa
    from argon2 import PasswordHasher

    import lms
    from lms.exams.models import ExamDrawRule, ExamPaper, PaperKind, ReviewPolicy
    from lms.migrate import upgrade
    from lms.org.models import Employee, EmploymentStatus, Role, Unit, UnitKind
    from lms.org.services import rebuild_paths
    from lms.questions.models import Question
    from lms.questions.shipped import import_shipped_banks

    app = lms.create_app({"SECRET_KEY": "bench", "LMS_DATABASE_URL": url, "LMS_DATA_DIR": folder})
    upgrade(app)
    database = app.extensions["lms"].db
    with app.app_context():
        with database.transaction() as session:
            banks = import_shipped_banks(session, types=app.extensions["lms"].question_types)
            if not banks.ok:
                raise SystemExit(f"the shipped banks did not import: {banks.errors[0]}")
        with database.transaction() as session:
            unit = Unit(code="BENCH", name="压测班组", kind=UnitKind.team, is_rural=False, path="")
            session.add(unit)
            session.flush()
            rebuild_paths(session)
            # One hash for everyone (hashing 200 times would only slow the set-up); cheap
            # parameters, matched by the server's settings, so sign-in costs little and never
            # rehashes: the sign-in is not what is measured.
            password_hash = PasswordHasher(time_cost=1, memory_cost=1024).hash(PASSWORD)
            for n in range(1, candidates + 1):
                session.add(
                    Employee(
                        emp_no=f"BX{n:06d}",
                        name=f"考生{n}",
                        unit_id=unit.id,
                        role=Role.employee,
                        status=EmploymentStatus.active,
                        password_hash=password_hash,
                        must_change_password=False,
                    )
                )
            # Rules per type across the banks that have such questions, totalling 50.
            available = session.execute(
                sa.select(Question.bank_id, Question.type, sa.func.count())
                .where(Question.enabled)
                .group_by(Question.bank_id, Question.type)
                .order_by(Question.bank_id)
            ).all()
            rules = []
            for kind, wanted in PAPER_MIX.items():
                for bank_id, _type, count in (row for row in available if row[1] == kind):
                    take = min(wanted, count, 5)  # a few from each bank, as HR would spread them
                    if take:
                        rules.append(
                            ExamDrawRule(
                                bank_id=bank_id, type=kind, count=take, points_each=Decimal(2)
                            )
                        )
                        wanted -= take
                if wanted:
                    raise SystemExit(f"the shipped banks lack {wanted} {kind} questions")
            paper = ExamPaper(
                code="BENCH",
                title="压测抽题试卷",
                kind=PaperKind.drawn,
                published=True,
                time_limit_minutes=600,
                shuffle_questions=True,
                shuffle_options=True,
                review_policy=ReviewPolicy.score,
                rules=rules,
            )
            session.add(paper)
            session.flush()
            paper_id = paper.id
    app.extensions["lms"].job_runner.shutdown()
    database.dispose()
    return paper_id


# -- a small HTTP client for the set-up phases ---------------------------------------------------


def fetch(
    port: int,
    method: str,
    path: str,
    who: Candidate,
    *,
    form: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], str]:
    """One request with the candidate's cookies; Set-Cookie updates them."""
    from urllib.parse import urlencode

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Cookie": who.cookie_header} if who.cookies else {}
    body = None
    if form is not None:
        body = urlencode(form)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    text = response.read().decode("utf-8")
    for name, value in response.getheaders():
        if name.lower() == "set-cookie":
            key, _, rest = value.partition("=")
            who.cookies[key.strip()] = rest.split(";", 1)[0]
    connection.close()
    return response.status, dict(response.getheaders()), text


def form_token(page: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', page
    )
    if not match:
        raise SystemExit("no CSRF token on the page")
    return match.group(1)


def sign_in(port: int, who: Candidate) -> None:
    _status, _headers, page = fetch(port, "GET", "/login", who)
    status, headers, _page = fetch(
        port,
        "POST",
        "/login",
        who,
        form={"emp_no": who.emp_no, "password": PASSWORD, "csrf_token": form_token(page)},
    )
    if status != 302 or "/login" in headers.get("Location", ""):
        raise SystemExit(f"{who.emp_no} could not sign in ({status})")


def start(port: int, paper_id: int, who: Candidate) -> None:
    """Open the paper's page and press Start (the timed part of the set-up)."""
    _status, _headers, page = fetch(port, "GET", f"/exams/{paper_id}", who)
    status, headers, _page = fetch(
        port, "POST", f"/exams/{paper_id}/start", who, form={"csrf_token": form_token(page)}
    )
    location = headers.get("Location", "")
    if status != 302 or "/attempts/" not in location:
        raise SystemExit(f"{who.emp_no} could not start the exam ({status} {location})")
    who.attempt_path = "/" + location.split("/", 3)[3] if "://" in location else location


def read_attempt(port: int, who: Candidate, counter: list[int]) -> None:
    """From the attempt page: the token lms.js sends, and an answer for every item."""
    status, _headers, page = fetch(port, "GET", who.attempt_path, who)
    if status != 200:
        raise SystemExit(f"{who.emp_no}: attempt page answered {status}")
    token = re.search(r'data-csrf-token="([^"]+)"', page)
    if not token:
        raise SystemExit("no data-csrf-token on the attempt page")
    who.csrf = token.group(1)
    sections = re.split(r"<section class=\"card exam-item\"", page)[1:]
    for section in sections:
        url = re.search(r'data-save-url="([^"]+)"', section).group(1)
        kind = re.search(r'data-type="([^"]+)"', section).group(1)
        n = counter[0] = counter[0] + 1
        if kind == "single_choice":
            options = section.count('type="radio"')
            response: Any = n % options
        elif kind == "multiple_choice":
            options = section.count('type="checkbox"')
            response = sorted({n % options, (n + 1) % options})
        elif kind == "true_false":
            response = n % 2 == 0
        elif kind == "fill_in":
            response = ["答案"] * section.count('type="text"')
        else:
            raise SystemExit(f"unexpected question type {kind}")
        who.answers.append((url, json.dumps({"response": response})))
    if len(who.answers) != sum(PAPER_MIX.values()):
        raise SystemExit(f"{who.emp_no}: {len(who.answers)} items on the attempt page")


# -- load with wrk -------------------------------------------------------------------------------


def lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def write_requests(path: Path, requests: list[tuple[str, str, dict[str, str], str]]) -> None:
    """A Lua file returning ``{method, path, headers, body}`` rows for exam_load.lua."""
    lines = ["return {"]
    for method, url, headers, body in requests:
        pairs = ", ".join(f"[{lua_string(k)}] = {lua_string(v)}" for k, v in headers.items())
        lines.append(
            f"  {{{lua_string(method)}, {lua_string(url)}, {{{pairs}}}, {lua_string(body)}}},"
        )
    lines.append("}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def run_wrk(port: int, requests_file: Path, connections: int, seconds: float) -> dict[str, Any]:
    command = [
        "wrk",
        "-t2",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA_SCRIPT),
        f"http://127.0.0.1:{port}",
        "--",
        str(requests_file),
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next((x for x in output.splitlines() if x.startswith("RESULT ")), None)
    if line is None:
        raise SystemExit(f"wrk printed no result:\n{output}")
    stats = json.loads(line[len("RESULT ") :])
    stats["rps"] = stats["requests"] / (stats["duration_us"] / 1e6)
    stats["errors"] = sum(stats[k] for k in ("bad_status", "connect", "read", "write", "timeout"))
    return stats


def describe(label: str, stats: dict[str, Any]) -> None:
    print(
        f"  {label}: {stats['rps']:.0f} req/s, p50 {stats['p50_us'] / 1000:.1f} ms, "
        f"p95 {stats['p95_us'] / 1000:.1f} ms, p99 {stats['p99_us'] / 1000:.1f} ms, "
        f"max {stats['max_us'] / 1000:.0f} ms ({stats['requests']} requests)"
    )
    if stats["errors"]:
        print(
            f"  {label}: {stats['errors']} ERRORS (non-200: {stats['bad_status']}, last status "
            f"{stats['last_bad_status']}; socket connect/read/write/timeout: {stats['connect']}/"
            f"{stats['read']}/{stats['write']}/{stats['timeout']}): the figures are invalid"
        )


# -- one database --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(port: int, server: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("gunicorn exited at start-up")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/login")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not answer")


def run_database(backend: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    import sqlalchemy as sa

    print(f"{backend}:")
    with tempfile.TemporaryDirectory(prefix="lms-exam-load-") as folder:
        os.environ["LMS_INSTANCE_PATH"] = folder
        admin = None
        if backend == "sqlite":
            url = f"sqlite:///{folder}/bench.db"
        else:
            name = f"lms_bench_{uuid.uuid4().hex[:8]}"
            admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
            url = sa.make_url(POSTGRES_URL).set(database=name).render_as_string(False)
        server = None
        try:
            began = time.perf_counter()
            paper_id = build(url, folder, args.candidates)
            print(f"  built the instance in {time.perf_counter() - began:.1f} s")
            port = free_port()
            env = dict(
                os.environ,
                LMS_INSTANCE_PATH=folder,
                LMS_SECRET_KEY="exam-load-bench",
                LMS_DATABASE_URL=url,
                LMS_DATA_DIR=folder,
                LMS_SESSION_COOKIE_SECURE="0",  # plain HTTP on loopback
                LMS_ARGON2_TIME_COST="1",  # as the bench's hash: no rehash at sign-in
                LMS_ARGON2_MEMORY_KIB="1024",
            )
            server = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "-w",
                    "2",
                    "-k",
                    "sync",
                    "-b",
                    f"127.0.0.1:{port}",
                    "--log-level",
                    "warning",
                    "lms:create_app()",
                ],
                env=env,
                cwd=folder,
            )
            wait_until_up(port, server)
            people = [Candidate(f"BX{n:06d}") for n in range(1, args.candidates + 1)]
            with ThreadPoolExecutor(args.connections) as pool:
                list(pool.map(lambda who: sign_in(port, who), people))
                began = time.perf_counter()
                list(pool.map(lambda who: start(port, paper_id, who), people))
                start_s = time.perf_counter() - began
                counter = [0]
                list(pool.map(lambda who: read_attempt(port, who, counter), people))
            starts_per_s = len(people) / start_s
            print(
                f"  {len(people)} attempts started in {start_s:.2f} s: {starts_per_s:.0f}/s "
                f"(paper page + start, {args.connections} Python client threads)"
            )

            pages = [
                (
                    "GET",
                    who.attempt_path,
                    {"Cookie": who.cookie_header, "Accept": "text/html"},
                    "",
                )
                for who in people
            ]
            # Interleaved: consecutive requests are different candidates' answers.
            saves = [
                (
                    "POST",
                    who.answers[i][0],
                    {
                        "Cookie": who.cookie_header,
                        "Content-Type": "application/json",
                        "Accept": "application/json",
                        "X-CSRFToken": who.csrf,
                    },
                    who.answers[i][1],
                )
                for i in range(len(people[0].answers))
                for who in people
            ]
            pages_file, saves_file = Path(folder, "pages.lua"), Path(folder, "saves.lua")
            write_requests(pages_file, pages)
            write_requests(saves_file, saves)

            run_wrk(port, pages_file, args.connections, args.warmup)
            page = run_wrk(port, pages_file, args.connections, args.duration)
            describe("exam page   GET  /attempts/<id>", page)
            run_wrk(port, saves_file, args.connections, args.warmup)
            save = run_wrk(port, saves_file, args.connections, args.duration)
            describe("save answer POST /attempts/<id>/answers/<key>", save)
        finally:
            if server is not None:
                server.terminate()
                server.wait(timeout=30)
            if admin is not None:
                with admin.connect() as connection:
                    connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                admin.dispose()

    def checked(item: dict[str, Any], stats: dict[str, Any]) -> dict[str, Any]:
        item["ok"] = item["ok"] and not stats["errors"]
        item["errors"] = stats["errors"]
        return item

    return [
        result(f"attempts_started_per_s_{backend}", starts_per_s, "1/s", 0, better="higher"),
        checked(
            result(f"exam_page_rps_{backend}", page["rps"], "req/s", PAGE_RPS_TARGET, "higher"),
            page,
        ),
        result(f"exam_page_p95_ms_{backend}", page["p95_us"] / 1000, "ms", PAGE_P99_TARGET),
        checked(
            result(f"exam_page_p99_ms_{backend}", page["p99_us"] / 1000, "ms", PAGE_P99_TARGET),
            page,
        ),
        checked(
            result(f"save_answer_rps_{backend}", save["rps"], "req/s", SAVE_RPS_TARGET, "higher"),
            save,
        ),
        result(f"save_answer_p95_ms_{backend}", save["p95_us"] / 1000, "ms", SAVE_P99_TARGET),
        checked(
            result(f"save_answer_p99_ms_{backend}", save["p99_us"] / 1000, "ms", SAVE_P99_TARGET),
            save,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--duration", type=float, default=20, help="seconds per measured phase")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of warm-up per phase")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--candidates", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="5 s phases, 1 s warm-up")
    args = parser.parse_args()
    if args.quick:
        args.duration, args.warmup = 5, 1
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk (or scripts/install --bench)")
    print(f"exam_load: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {args.connections} connections")
    backends = ("sqlite", "postgresql") if args.database == "both" else (args.database,)
    results: list[dict[str, Any]] = []
    for backend in backends:
        results.extend(run_database(backend, args))
    emit("exam_load", results)


if __name__ == "__main__":
    main()
