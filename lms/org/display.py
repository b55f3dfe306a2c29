"""How roles, unit kinds, staff kinds and statuses are named on pages, in the user's language.

The files HR exchanges use the fixed Chinese words in :mod:`lms.org.models` (``ROLE_LABELS``...);
pages use these translated names instead.
"""

from __future__ import annotations

from lms.i18n import lazy_gettext as _l
from lms.org.models import EmploymentStatus, Role, StaffKind, UnitKind

ROLE_NAMES = {
    Role.employee: _l("Employee"),
    Role.manager: _l("Manager"),
    Role.hr: _l("HR"),
    Role.admin: _l("Administrator"),
}

UNIT_KIND_NAMES = {
    UnitKind.bureau: _l("Bureau"),
    UnitKind.department: _l("Department"),
    UnitKind.centre: _l("Centre"),
    UnitKind.team: _l("Team"),
    UnitKind.urban_office: _l("Urban supply office"),
    UnitKind.rural_office: _l("Rural supply office"),
}

STAFF_KIND_NAMES = {
    StaffKind.management: _l("Management"),
    StaffKind.professional: _l("Professional and technical"),
    StaffKind.skilled: _l("Skilled"),
}

STATUS_NAMES = {
    EmploymentStatus.active: _l("In post"),
    EmploymentStatus.away: _l("Off post"),
    EmploymentStatus.early_retired: _l("Early retired"),
    EmploymentStatus.seconded: _l("Seconded"),
    EmploymentStatus.long_sick_leave: _l("Long sick leave"),
    EmploymentStatus.left: _l("Left"),
}
