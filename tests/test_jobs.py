"""The jobs seam: run now with progress, failures rolled back, background runs, job pages."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from lms.jobs.models import Job, JobState
from lms.jobs.services import JobFailed, enqueue, job, run_now
from lms.org.models import Role, Unit, UnitKind


@job("test.add_units")
def add_units(ctx, *, count: int, fail: str = "") -> dict:
    """Adds ``count`` units, reporting progress after each; optionally fails at the end."""
    for number in range(1, count + 1):
        ctx.db.add(Unit(code=f"J{number}", name=f"单位{number}", kind=UnitKind.team, path=""))
        ctx.db.flush()
        ctx.progress(number, count, f"unit {number}")
    if fail == "expected":
        raise JobFailed("二号单位有问题")
    if fail == "crash":
        raise RuntimeError("boom")
    return {"added": count}


def unit_codes(db) -> set[str]:
    db.rollback()
    return set(db.scalars(sa.select(Unit.code)))


def wait_for(client, job_id: int, timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = client.get(f"/jobs/{job_id}.json").get_json()
        if data["finished"]:
            return data
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish")


def test_run_now_reports_progress(app, db):
    """A job run here and now reports its progress to the listener and commits its work."""
    seen = []
    result = run_now(
        app, "test.add_units", {"count": 3}, listener=lambda d, t, m: seen.append((d, t, m))
    )
    assert seen == [(1, 3, "unit 1"), (2, 3, "unit 2"), (3, 3, "unit 3")]
    assert result.state is JobState.succeeded and result.result == {"added": 3}
    assert (result.done, result.total, result.error) == (3, 3, None)
    assert result.started_at is not None and result.finished_at is not None
    assert unit_codes(db) == {"J1", "J2", "J3"}


def test_expected_failure_rolls_back(app, db):
    """A job that fails with JobFailed is marked failed with its message; its work is undone."""
    result = run_now(app, "test.add_units", {"count": 2, "fail": "expected"})
    assert result.state is JobState.failed and result.error == "二号单位有问题"
    assert result.result is None
    assert unit_codes(db) == set()


def test_crash_is_recorded_and_rolled_back(app, db):
    """A job that raises is marked failed with the error, and its database work rolled back."""
    result = run_now(app, "test.add_units", {"count": 2, "fail": "crash"})
    assert result.state is JobState.failed
    assert result.error.startswith("RuntimeError: boom")
    assert unit_codes(db) == set()
    stored = db.get(Job, result.id)
    assert stored.state is JobState.failed


def test_unknown_kind_is_refused(app):
    """Only registered kinds can be stored."""
    with pytest.raises(KeyError):
        run_now(app, "test.nope", {})


def test_duplicate_kind_is_refused():
    """A second function under a registered kind fails at registration."""
    with pytest.raises(RuntimeError):
        job("test.add_units")(lambda ctx: None)


def test_background_job_and_its_page(app, client, create_employee, login, db):
    """A queued job runs in the background; its starter polls the JSON and sees the result."""
    hr = create_employee(role=Role.hr)
    login(hr)
    job_id = enqueue(app, "test.add_units", {"count": 2}, hr)
    data = wait_for(client, job_id)
    assert data["state"] == "succeeded" and data["percent"] == 100 and data["error"] is None
    page = client.get(f"/jobs/{job_id}")
    assert page.status_code == 200 and "succeeded" in page.get_data(as_text=True)
    assert {"J1", "J2"} <= unit_codes(db)


def test_job_pages_hidden_from_others(app, client, create_employee, login):
    """Another employee gets 404 for a job's page and JSON; its starter and HR see it."""
    owner = create_employee()
    job_id = run_now(app, "test.add_units", {"count": 1}, actor=owner).id
    login(create_employee())
    assert client.get(f"/jobs/{job_id}").status_code == 404
    assert client.get(f"/jobs/{job_id}.json").status_code == 404
    assert client.get(f"/jobs/{job_id + 1000}").status_code == 404
    client.post("/logout", data={"csrf_token": _token(client)})
    login(owner)
    assert client.get(f"/jobs/{job_id}.json").status_code == 200
    client.post("/logout", data={"csrf_token": _token(client)})
    login(create_employee(role=Role.hr))
    assert client.get(f"/jobs/{job_id}").status_code == 200


def test_job_page_needs_sign_in(app, client):
    """An anonymous visitor is sent to sign in."""
    job_id = run_now(app, "test.add_units", {"count": 1}).id
    response = client.get(f"/jobs/{job_id}.json")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def _token(client) -> str:
    from tests.conftest import csrf_token

    return csrf_token(client, "/")


GATE = threading.Event()


@job("test.wait")
def wait_at_half(ctx) -> dict:
    """Reports half done, then waits until the test opens the gate."""
    ctx.db.add(Unit(code="W", name="等待", kind=UnitKind.team, path=""))
    ctx.db.flush()
    ctx.progress(1, 2, "half")
    assert GATE.wait(20)
    return {}


def test_progress_visible_while_running(app, client, create_employee, login):
    """While a job runs, its JSON shows the progress reported so far."""
    hr = create_employee(role=Role.hr)
    login(hr)
    GATE.clear()
    job_id = enqueue(app, "test.wait", {}, hr)
    try:
        deadline = time.monotonic() + 20
        data = client.get(f"/jobs/{job_id}.json").get_json()
        while data["done"] != 1 and time.monotonic() < deadline:
            time.sleep(0.05)
            data = client.get(f"/jobs/{job_id}.json").get_json()
        assert (data["state"], data["percent"], data["message"]) == ("running", 50, "half")
        assert 'value="50"' in client.get(f"/jobs/{job_id}").get_data(as_text=True)
    finally:
        GATE.set()
    assert wait_for(client, job_id)["state"] == "succeeded"
