"""What every benchmark script shares: the machine's description and the JSON result line."""

from __future__ import annotations

import json
import os
import platform
import sqlite3
from datetime import UTC, datetime
from typing import Any


def machine() -> str:
    """Platform, CPUs, memory, Python and SQLite versions: enough to compare runs."""
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
        memory_text = f"{memory:.1f} GB RAM"
    except (ValueError, OSError, AttributeError):
        memory_text = "RAM unknown"
    return (
        f"{platform.system()} {platform.release()} {platform.machine()}, "
        f"{os.cpu_count()} CPUs, {memory_text}, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}"
    )


def result(
    name: str, value: float, unit: str, target: float, better: str = "lower"
) -> dict[str, Any]:
    """One result of the JSON line; ``ok`` compares with the target in the better direction."""
    ok = value < target if better == "lower" else value > target
    return {
        "name": name,
        "value": round(value, 2),
        "unit": unit,
        "target": target,
        "better": better,
        "ok": ok,
    }


def emit(bench: str, results: list[dict[str, Any]]) -> None:
    """Print the last line: ``{"bench", "machine", "date", "results"}``."""
    print(
        json.dumps(
            {
                "bench": bench,
                "machine": machine(),
                "date": datetime.now(UTC).date().isoformat(),
                "results": results,
            },
            ensure_ascii=False,
        )
    )
