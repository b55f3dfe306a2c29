"""Benchmark: build the 100,000-employee demo bureau on SQLite, then serve the employee list.

    python bench/demo_scale.py            # 100,000 employees
    python bench/demo_scale.py --quick    # 10,000 employees (a smoke run)

Measures the time to build and commit the bureau (``build_100k_s``, target under 120 s), then,
signed in as the demo HR user through the real sign-in form, the median time to serve the first
page of ``GET /employees`` and of a 工号 search ``GET /employees?q=...`` (targets under 200 ms).
Prints human lines, and as its last line one JSON object (see DESIGN.md, Benchmarks).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# Runs from a fresh checkout, installed or not.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import emit, result

BUILD_TARGET_S_PER_100K = 120.0
PAGE_TARGET_MS = 200.0
HR_EMP_NO = "LC000002"  # the demo HR sign-in (教育培训科)


def median_ms(client: Any, url: str, runs: int) -> float:
    """Median wall time of ``runs`` GETs of ``url`` after one warm-up, in milliseconds."""
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(times)


def sign_in(client: Any, emp_no: str, password: str) -> None:
    """Sign in through the form, with the CSRF token it carries, as a browser would."""
    page = client.get("/login").get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', page
    )
    assert match, "no CSRF token on the sign-in form"
    response = client.post(
        "/login", data={"emp_no": emp_no, "password": password, "csrf_token": match.group(1)}
    )
    assert response.status_code == 302 and "/login" not in response.headers["Location"], (
        "sign-in failed"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10,000 employees instead of 100,000")
    parser.add_argument("--employees", type=int, help="build this many employees instead")
    parser.add_argument("--runs", type=int, default=15, help="requests per page measured")
    args = parser.parse_args()
    employees = args.employees or (10_000 if args.quick else 100_000)

    with tempfile.TemporaryDirectory(prefix="lms-bench-") as folder:
        os.environ["LMS_INSTANCE_PATH"] = folder
        import lms
        from lms.demo import DEMO_PASSWORD, build_demo
        from lms.migrate import upgrade

        app = lms.create_app(
            {
                "SECRET_KEY": "bench",
                "LMS_DATABASE_URL": f"sqlite:///{folder}/bench.db",
                "LMS_DATA_DIR": folder,
                "LMS_SESSION_COOKIE_SECURE": False,  # the test client speaks plain HTTP
            }
        )
        upgrade(app)
        database = app.extensions["lms"].db

        start = time.perf_counter()
        with app.app_context(), database.transaction() as session:
            build_demo(session, employees=employees)
        build_s = time.perf_counter() - start
        print(f"built {employees:,} employees in {build_s:.1f} s (including the commit)")

        client = app.test_client()
        sign_in(client, HR_EMP_NO, DEMO_PASSWORD)
        list_ms = median_ms(client, "/employees", args.runs)
        print(f"GET /employees (first page, as HR): median {list_ms:.1f} ms")
        # A 工号 prefix that matches 100 people, and one full 工号 in the middle of the range.
        middle = f"LC{employees // 2:06d}"
        prefix = middle[:-2]
        search_ms = median_ms(client, f"/employees?q={prefix}", args.runs)
        print(f"GET /employees?q={prefix} (工号 prefix): median {search_ms:.1f} ms")
        exact_ms = median_ms(client, f"/employees?q={middle}", args.runs)
        print(f"GET /employees?q={middle} (full 工号): median {exact_ms:.1f} ms")
        app.extensions["lms"].job_runner.shutdown()
        database.dispose()

    size = f"{employees // 1000}k" if employees % 1000 == 0 else str(employees)
    build_target = BUILD_TARGET_S_PER_100K * employees / 100_000
    emit(
        "demo_scale",
        [
            result(f"build_{size}_s", build_s, "s", build_target),
            result("employee_list_ms", list_ms, "ms", PAGE_TARGET_MS),
            result("employee_search_ms", search_ms, "ms", PAGE_TARGET_MS),
            result("employee_search_exact_ms", exact_ms, "ms", PAGE_TARGET_MS),
        ],
    )


if __name__ == "__main__":
    main()
