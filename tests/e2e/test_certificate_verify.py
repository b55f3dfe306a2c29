"""A certificate's QR code in a real browser: visiting the URL it encodes (what a phone does
after scanning) shows the status without signing in; after HR revokes it with the button on the
holder's training record page, it shows revoked."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from .browser import sign_in

pytestmark = pytest.mark.e2e


def test_the_qr_url_shows_the_status_and_then_revoked(page, site):
    import sqlalchemy as sa

    from lms import storage
    from lms.certificates.designs import shipped_designs
    from lms.certificates.issuing import verify_url
    from lms.certificates.services import issue_certificate
    from lms.courses.models import Course
    from lms.db import utcnow
    from lms.org.models import Employee

    app = site.app
    database = app.extensions["lms"].db
    with app.test_request_context(base_url=site.url), database.transaction() as session:
        holder = session.get(Employee, site.accounts["employee"].id)
        course = session.scalars(sa.select(Course).order_by(Course.id)).first()
        certificate = issue_certificate(
            session,
            employee=holder,
            course=course,
            design=shipped_designs()["onboarding"],
            issued_on=date(2026, 11, 29),
            score=Decimal(95),
            bureau="龙城供电局",
            serial_bureau="LCGD",
            verify_url=verify_url,
            data_dir=storage.data_dir(app),
            actor=None,
            now=utcnow(),
        )
        url, serial = verify_url(certificate.verification_code), certificate.serial
        course_title = course.title
    assert url.startswith(site.url + "/verify/")

    page.goto(url)  # no sign-in
    expect(page.get_by_test_id("verify-status")).to_have_attribute("data-status", "valid")
    expect(page.get_by_test_id("verify-status")).to_have_text("有效")
    expect(page.get_by_test_id("verify-result")).to_contain_text(course_title)
    expect(page.get_by_test_id("verify-holder")).not_to_have_text(site.accounts["employee"].name)

    # HR revokes it with the button on the holder's record page, which it then returns to
    sign_in(page, site.accounts["hr"])
    page.goto(f"/employees/{site.accounts['employee'].id}/record")
    row = page.locator(f'tr[data-serial="{serial}"]')
    row.get_by_test_id("revoke").locator("summary").click()
    form = row.get_by_test_id("revoke-form")
    form.locator("input[name=reason]").fill("培训记录不实")
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    expect(page).to_have_url(f"{site.url}/employees/{site.accounts['employee'].id}/record")
    expect(page.locator(".flash-success")).to_contain_text(serial)

    page.goto(url)
    expect(page.get_by_test_id("verify-status")).to_have_attribute("data-status", "revoked")
    expect(page.get_by_test_id("verify-status")).to_have_text("已撤销")
