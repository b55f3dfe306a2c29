"""Quick bulk inserts for the report tests: people, ledger rows and certificates by the
thousand (``sa.insert`` with plain rows), as the reports count them. Imported by the tests as
``from tests.reports.conftest import people, record, certificate``."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from lms.certificates.models import CertificateSource, CertificateStatus
from lms.org.models import Employee, EmploymentStatus, Role
from lms.training.models import LedgerSource, TrainingForm

_refs = iter(range(1, 10_000_000))


def people(db: Any, unit: Any, count: int, **values: Any) -> list[int]:
    """``count`` employees of ``unit`` inserted at once (``values`` override the defaults);
    their ids."""
    start = db.scalar(sa.select(sa.func.coalesce(sa.func.max(Employee.id), 0)))
    rows = [
        {
            "emp_no": f"B{start + n:07d}",
            "name": f"员工{start + n}",
            "unit_id": unit.id,
            "status": EmploymentStatus.active,
            "role": Role.employee,
            "is_manager": False,
            "must_change_password": False,
            "session_version": 1,
            **values,
        }
        for n in range(1, count + 1)
    ]
    db.execute(sa.insert(Employee), rows)
    return list(
        db.scalars(
            sa.select(Employee.id)
            .where(Employee.emp_no.in_([r["emp_no"] for r in rows]))
            .order_by(Employee.id)
        )
    )


def record(
    employee_id: int,
    end: date,
    *,
    start: date | None = None,
    programme: str = "safety",
    passed: bool = True,
    hours: Any = "2",
    **values: Any,
) -> dict[str, Any]:
    """A ledger row (for ``sa.insert(LedgerEntry)``) ending on ``end``."""
    return {
        "employee_id": employee_id,
        "programme": programme,
        "title": "安规培训",
        "form": TrainingForm.classroom,
        "start_on": start or end,
        "end_on": end,
        "hours": Decimal(str(hours)),
        "passed": passed,
        "source": LedgerSource.imported,
        "source_ref": f"t:{next(_refs)}",
        **values,
    }


def certificate(employee_id: int, **values: Any) -> dict[str, Any]:
    """A valid 上岗培训合格证 row (for ``sa.insert(Certificate)``), issued 2025-06-01 for three
    years."""
    number = next(_refs)
    return {
        "serial": f"S-{number}",
        "verification_code": f"code{number:018d}",
        "employee_id": employee_id,
        "design": "onboarding",
        "kind": "onboarding",
        "title": "管理人员上岗培训",
        "issued_on": date(2025, 6, 1),
        "valid_until": date(2028, 6, 1),
        "status": CertificateStatus.valid,
        "source": CertificateSource.issued,
        **values,
    }
