"""The programmes (kinds of training) that the bureau's targets count, as DESIGN.md lists them.

Built-in programmes are fixed here; HR may add more (``lms_programme`` rows). Courses, classroom
sessions and ledger rows name a programme by its code.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from lms.i18n import lazy_gettext as _l


@dataclass(frozen=True)
class ProgrammeInfo:
    code: str
    name: str  # Chinese, as the bureau's files use it
    label: object  # shown on pages, in the user's language


BUILTIN_PROGRAMMES: tuple[ProgrammeInfo, ...] = (
    ProgrammeInfo("professional_ethics", "职业道德", _l("Professional ethics")),
    ProgrammeInfo("ethics_codes", "道德规范与守则", _l("Ethics codes")),
    ProgrammeInfo("new_three_studies", "新三学", _l("New three studies")),
    ProgrammeInfo("post_training", "岗位培训", _l("Post training")),
    ProgrammeInfo("repair_skills", "抢修技能", _l("Repair skills")),
    ProgrammeInfo(
        "rural_discipline", "供电所纪律与规范化服务", _l("Rural office discipline and service")
    ),
    ProgrammeInfo("service_standards", "服务规范", _l("Service standards")),
    ProgrammeInfo("onboarding_management", "管理人员上岗培训", _l("Management onboarding")),
    ProgrammeInfo("integrity", "廉洁", _l("Integrity")),
    ProgrammeInfo("safety", "安规", _l("Safety rules")),
    ProgrammeInfo("culture", "企业文化", _l("Corporate culture")),
    ProgrammeInfo("study_day", "学习日", _l("Study day")),
)


def all_programmes(db: Session) -> dict[str, ProgrammeInfo]:
    """Built-in programmes, then HR's own, by code."""
    from lms.training.models import Programme

    found = {p.code: p for p in BUILTIN_PROGRAMMES}
    for row in db.scalars(sa.select(Programme).order_by(Programme.code)):
        found.setdefault(row.code, ProgrammeInfo(row.code, row.name, row.name))
    return found


def programme_code(db: Session, text: str) -> str | None:
    """The code of a programme given by its code or its Chinese name; None when unknown."""
    value = text.strip()
    for info in all_programmes(db).values():
        if value in (info.code, info.name):
            return info.code
    return None
