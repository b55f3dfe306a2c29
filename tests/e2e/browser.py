"""Helpers for the browser tests: the demo accounts, Chromium's location, signing in."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
DEMO_EMPLOYEES = 200
ROLES = ("employee", "manager", "hr", "admin")


@dataclass(frozen=True)
class Account:
    """A demo sign-in, with the employee's database id."""

    role: str
    emp_no: str
    password: str
    name: str
    unit: str
    id: int


@dataclass
class Site:
    """The live server: its base URL, the demo sign-ins by role, and another plain employee."""

    url: str
    accounts: dict[str, Account]
    other_employee: tuple[int, str]  # (id, name) of an employee who is none of the demo sign-ins
    app: Any = field(repr=False)


def chromium_executable() -> str:
    for candidate in (
        os.environ.get("LMS_CHROMIUM"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and Path(candidate).is_file():
            return candidate
    pytest.fail(
        "Chromium not found at /usr/bin/chromium (set LMS_CHROMIUM, or run scripts/install --test)",
        pytrace=False,
    )


@dataclass
class ConsoleLog:
    """What the page reported: console errors and warnings (CSP violations among them) and
    uncaught exceptions, each as ``"type: text (url)"``."""

    messages: list[str] = field(default_factory=list)

    def record(self, kind: str, text: str, url: str = "") -> None:
        self.messages.append(f"{kind}: {text}" + (f" ({url})" if url else ""))

    def problems(self, *, allow: Callable[[str], bool] = lambda text: False) -> list[str]:
        """Every message but those ``allow`` accepts."""
        return [text for text in self.messages if not allow(text)]


def sign_in(page: Any, account: Account, password: str | None = None) -> Any:
    """Sign in through the real form: fill 工号 and password, press the submit button."""
    page.goto("/login")
    form = page.locator("main form")
    form.get_by_label("工号").fill(account.emp_no)  # the label names 工号 in every language
    form.locator("#password").fill(account.password if password is None else password)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    return page
