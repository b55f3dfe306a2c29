"""The render pool: long-lived worker processes render certificates, warmed up as they start;
a render past the time limit is stopped (its process killed) and the next render works."""

from __future__ import annotations

import os
import time

import pytest

from lms.certificates.designs import qr_data_uri, shipped_designs
from lms.certificates.rendering import RenderPool, RenderTimeout

CONTEXT = {
    "bureau": "龙城供电局",
    "holder_name": "张三",
    "emp_no": "LC1",
    "course_title": "安全规程",
    "issued_on": "2026-11-29",
    "serial": "LCGD-2026-HG-000001",
    "qr": qr_data_uri("https://lms.example.cn/verify/x"),
}


def test_renders_in_workers_and_recovers_from_a_timeout() -> None:
    pool = RenderPool(1, timeout=60)
    try:
        pdf, refused = pool.render(shipped_designs()["qualification"], CONTEXT)
        assert pdf.startswith(b"%PDF") and refused == []
        worker = pool.run(os.getpid)
        assert pool.run(os.getpid) == worker  # the same long-lived process
        started = time.monotonic()
        with pytest.raises(RenderTimeout):
            pool.run(time.sleep, 30, timeout=0.5)
        assert time.monotonic() - started < 10
        assert pool.run(os.getpid) != worker  # a new process took over
        pdf, _ = pool.render(shipped_designs()["qualification"], CONTEXT)
        assert pdf.startswith(b"%PDF")
    finally:
        pool.close()


def test_warm_starts_every_worker_ready_to_render() -> None:
    pool = RenderPool(2, timeout=60)
    try:
        pool.warm()
        workers = {process.pid for process in pool._pool()._processes.values()}
        assert len(workers) == 2
        # each has rendered its warm-up page: WeasyPrint and the CJK font are loaded
        assert all(pool.run(_weasyprint_loaded) for _ in range(4))
        pdf, refused = pool.render(shipped_designs()["onboarding"], CONTEXT)
        assert pdf.startswith(b"%PDF") and refused == []
        assert {process.pid for process in pool._pool()._processes.values()} == workers
    finally:
        pool.close()


def _weasyprint_loaded() -> bool:
    import sys

    from lms.pdf import _local

    return "weasyprint" in sys.modules and hasattr(_local, "font_config")
