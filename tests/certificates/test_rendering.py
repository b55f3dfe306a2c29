"""The render pool: long-lived worker processes render certificates; a render past the time
limit is stopped (its process killed) and the next render works."""

from __future__ import annotations

import os
import time

import pytest

from lms.certificates.designs import qr_data_uri, shipped_designs
from lms.certificates.rendering import RenderPool, RenderTimeout


def test_renders_in_workers_and_recovers_from_a_timeout() -> None:
    pool = RenderPool(1, timeout=60)
    context = {
        "bureau": "龙城供电局",
        "holder_name": "张三",
        "emp_no": "LC1",
        "course_title": "安全规程",
        "issued_on": "2026-11-29",
        "serial": "LCGD-2026-HG-000001",
        "qr": qr_data_uri("https://lms.example.cn/verify/x"),
    }
    try:
        pdf, refused = pool.render(shipped_designs()["qualification"], context)
        assert pdf.startswith(b"%PDF") and refused == []
        worker = pool.run(os.getpid)
        assert pool.run(os.getpid) == worker  # the same long-lived process
        started = time.monotonic()
        with pytest.raises(RenderTimeout):
            pool.run(time.sleep, 30, timeout=0.5)
        assert time.monotonic() - started < 10
        assert pool.run(os.getpid) != worker  # a new process took over
        pdf, _ = pool.render(shipped_designs()["qualification"], context)
        assert pdf.startswith(b"%PDF")
    finally:
        pool.close()
