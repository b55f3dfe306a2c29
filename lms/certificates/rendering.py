"""Rendering certificates in long-lived worker processes, with a time limit.

WeasyPrint takes most of a second to start and a certificate about a tenth of one once warm, so
PDFs are rendered in a small pool of processes that live as long as the app process (never a new
process per certificate). A render that runs past the limit (a pathological value, a stuck
font lookup) is abandoned: the pool is torn down, its processes killed, and a new one started
for the next render. The workers import nothing of the app: a design and plain data go in,
bytes come out.

Each worker loads WeasyPrint and the CJK font as it starts (:func:`_start_worker`), and keeps
what does not change between certificates (:mod:`lms.certificates.designs`): a design goes in
with every render (a few kilobytes to pickle), and its compiled template and parsed stylesheet
are looked up by their text.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from lms.certificates.designs import Design, render_pdf

log = logging.getLogger(__name__)

#: what a worker renders as it starts: a line in the designs' fonts, so that WeasyPrint, Pango and
#: the fonts are loaded before the first certificate (a second or two otherwise)
WARM_UP_HTML = (
    "<p style=\"font-family: 'LMS Noto Serif CJK SC', 'Noto Serif CJK SC', serif\">"
    "合格证 LCGD-2026-HG-000001</p>"
)


def _start_worker() -> None:
    """A new worker's first act (the pool's initializer): load what every render needs."""
    from lms.pdf import html_to_pdf, use_common_cjk_font

    try:
        use_common_cjk_font()
        html_to_pdf(WARM_UP_HTML)
    except Exception:  # the first certificate reports what is wrong, with its own error
        log.exception("a certificate render worker could not warm up")


class RenderTimeout(RuntimeError):
    """A render ran past the time limit and was stopped."""


class RenderPool:
    """``workers`` long-lived processes; :meth:`run` calls a function in one of them."""

    def __init__(self, workers: int, timeout: float) -> None:
        self.workers = max(1, workers)
        self.timeout = timeout
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None

    def _pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                # forkserver: the workers do not inherit the app's threads and connections
                context = multiprocessing.get_context("forkserver")
                self._executor = ProcessPoolExecutor(
                    self.workers, mp_context=context, initializer=_start_worker
                )
            return self._executor

    def run(self, function: Callable[..., Any], *args: Any, timeout: float | None = None) -> Any:
        """``function(*args)`` in a worker; :class:`RenderTimeout` past the limit."""
        future: Future[Any] = self._pool().submit(function, *args)
        try:
            return future.result(timeout=timeout if timeout is not None else self.timeout)
        except FutureTimeout:
            self._kill()
            raise RenderTimeout(f"rendering took more than {timeout or self.timeout:g} s") from None

    def warm(self) -> None:
        """Start every worker now (each warms up as it starts) rather than with the first
        certificates; :class:`RenderTimeout` when they take longer than the time limit."""
        pool = self._pool()
        # the pool starts a process for each call submitted while none is idle
        futures = [pool.submit(os.getpid) for _ in range(self.workers)]
        try:
            for future in futures:
                future.result(timeout=self.timeout)
        except FutureTimeout:
            self._kill()
            raise RenderTimeout(f"starting took more than {self.timeout:g} s") from None

    def render(self, design: Design, context: Mapping[str, Any]) -> tuple[bytes, list[str]]:
        """A certificate's PDF and the URLs refused (see :func:`designs.render_pdf`)."""
        return self.run(render_pdf, design, dict(context))

    def _kill(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is None:
            return
        for process in list(getattr(executor, "_processes", {}).values()):
            process.kill()  # a stuck render does not return: the process must go
        executor.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)


_shared: RenderPool | None = None
_shared_lock = threading.Lock()


def shared_pool(workers: int, timeout: float) -> RenderPool:
    """The process's render pool, started on first use (its size and limit come from the first
    caller's settings) and shut down when the process exits."""
    global _shared
    with _shared_lock:
        if _shared is None:
            import atexit

            _shared = RenderPool(workers, timeout)
            atexit.register(_shared.close)
        return _shared
