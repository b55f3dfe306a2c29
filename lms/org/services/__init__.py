"""Org services: the unit tree, posts, employees, moves, search, and the import/export formats.

Imports are all-or-nothing: every row is checked first and all problems are reported together
(each naming its line and column); only a file without errors changes anything. Re-importing
the same file changes nothing and reports every row as unchanged.
"""

from lms.org.services.employees import (
    EMPLOYEE_COLUMNS,
    export_employees,
    import_employees,
    parse_role,
    parse_staff_kind,
    parse_status,
)
from lms.org.services.people import (
    RoleNotAllowed,
    all_posts,
    employee_moves,
    get_or_create_post,
    home_summary,
    move_employee,
    search_employees,
    set_locale,
    update_employee,
)
from lms.org.services.units import (
    UNIT_COLUMNS,
    export_units,
    import_units,
    parse_unit_kind,
    rebuild_paths,
    unit_name_paths,
    unit_tree,
)

__all__ = [
    "EMPLOYEE_COLUMNS",
    "UNIT_COLUMNS",
    "RoleNotAllowed",
    "all_posts",
    "employee_moves",
    "export_employees",
    "export_units",
    "get_or_create_post",
    "home_summary",
    "import_employees",
    "import_units",
    "move_employee",
    "parse_role",
    "parse_staff_kind",
    "parse_status",
    "parse_unit_kind",
    "rebuild_paths",
    "search_employees",
    "set_locale",
    "unit_name_paths",
    "unit_tree",
    "update_employee",
]
