"""Course packs as files: named sets of courses that a manager assigns together.

The bureau's packs ship in ``catalogue/packs/`` (the rural-office pack: discipline and bureau
rules, business knowledge, standardised service). A file holds a list of packs::

    packs:
      - code: rural-office
        name: 农村供电所培训包
        description: ...
        courses: [RO-101, PE-104, WB-101, MR-101, SS-101]

Loading is all or nothing, like the catalogue: the file is read from PyYAML's safe node tree
(every value keeps its line; unknown fields, wrong types and unknown course codes are errors
naming the file, the line and the pack), then each pack is upserted by its code, its courses
replaced in the order given. Loading the same file again changes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from lms.audit.services import record as audit
from lms.courses.catalogue.reader import _compose
from lms.courses.models import Course
from lms.i18n import gettext as _
from lms.migrate import shipped_dir
from lms.org.models import Employee
from lms.sheets import ImportResult, Problem
from lms.training.models import CoursePack, CoursePackItem

PACK_FIELDS = ("code", "name", "description", "courses")
PACK_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
MAX_COURSES = 100


@dataclass
class PackData:
    """One pack as read from a file, with the line of the pack and of each field."""

    code: str = ""
    name: str = ""
    description: str = ""
    courses: list[str] = field(default_factory=list)
    line: int = 0
    lines: dict[str, int] = field(default_factory=dict)


def shipped_pack_files() -> list[Path]:
    """The shipped pack files, ``catalogue/packs/*.yaml``, in name order."""
    try:
        folder = shipped_dir("catalogue") / "packs"
    except FileNotFoundError:
        return []
    return sorted(folder.glob("*.yaml"))


def load_shipped_packs(db: Session, *, actor: Employee | None = None) -> ImportResult:
    """Load every shipped pack file (after the shipped catalogue, whose courses they name); the
    caller commits when the result is ok."""
    total = ImportResult()
    for path in shipped_pack_files():
        result = load_packs(db, path, actor=actor)
        total.imported += result.imported
        total.unchanged += result.unchanged
        total.errors += result.errors
        total.warnings += result.warnings
        total.details.setdefault("packs", []).extend(result.details.get("packs", []))
    return total


def load_packs(db: Session, path: Path, *, actor: Employee | None = None) -> ImportResult:
    """Upsert the packs of the file at ``path`` by code; nothing is written when the file has
    any error (each names the file, line and pack). ``imported`` counts packs created or
    changed, ``unchanged`` the others; the caller commits when the result is ok."""
    file = path.name
    result = ImportResult(details={"packs": []})
    packs = read_pack_file(path.read_bytes(), file, result.errors)
    if result.errors:
        return result
    known = _course_ids(db, {code for pack in packs for code in pack.courses})
    for pack in packs:
        unknown = [code for code in pack.courses if code not in known]
        if unknown:
            result.errors.append(
                Problem(
                    file,
                    pack.lines.get("courses", pack.line),
                    "courses",
                    _(
                        "Pack %(pack)s: unknown course code(s) %(codes)s.",
                        pack=pack.code,
                        codes=", ".join(unknown),
                    ),
                )
            )
    if result.errors:
        return result
    for pack in packs:
        changed = _upsert(db, pack, [known[code] for code in pack.courses], actor=actor, file=file)
        if changed:
            result.imported += 1
        else:
            result.unchanged += 1
        result.details["packs"].append(pack.code)
    db.flush()
    return result


def _course_ids(db: Session, codes: set[str]) -> dict[str, int]:
    if not codes:
        return {}
    return dict(db.execute(sa.select(Course.code, Course.id).where(Course.code.in_(codes))).all())


def _upsert(
    db: Session, data: PackData, course_ids: list[int], *, actor: Employee | None, file: str
) -> bool:
    """Create or update one pack; whether anything changed (audited when it did)."""
    pack = db.scalar(sa.select(CoursePack).where(CoursePack.code == data.code))
    before = None
    if pack is not None:
        before = {
            "name": pack.name,
            "description": pack.description,
            "courses": [item.course_id for item in pack.items],
        }
        after = {"name": data.name, "description": data.description, "courses": course_ids}
        if before == after:
            return False
    else:
        pack = CoursePack(code=data.code)
        db.add(pack)
    pack.name = data.name
    pack.description = data.description
    if before is None or before["courses"] != course_ids:
        pack.items.clear()
        db.flush()  # the old items go before the new ones take their keys
        pack.items.extend(
            CoursePackItem(course_id=course_id, position=position)
            for position, course_id in enumerate(course_ids, start=1)
        )
    db.flush()
    audit(
        db,
        actor=actor,
        action="pack.import",
        object_type="pack",
        object_id=data.code,
        summary=f"{file}: {data.name}, {len(course_ids)} courses",
        before=before,
        after={"name": data.name, "description": data.description, "courses": course_ids},
    )
    return True


# Reading a file --------------------------------------------------------------------------------


class _Invalid(Exception):
    def __init__(self, node: Node, column: str | None, message: str) -> None:
        super().__init__(message)
        self.line = node.start_mark.line + 1
        self.column = column
        self.message = message


def _text(node: Node, column: str, *, max_length: int, required: bool = True) -> str:
    if not isinstance(node, ScalarNode) or (required and node.tag.endswith(":null")):
        raise _Invalid(node, column, _("%(field)s: a text is expected.", field=column))
    value = "" if node.tag.endswith(":null") else node.value.strip()
    if required and not value:
        raise _Invalid(node, column, _("%(field)s: a text is expected.", field=column))
    if len(value) > max_length:
        raise _Invalid(
            node, column, _("%(field)s: at most %(max)d characters.", field=column, max=max_length)
        )
    return value


def read_pack_file(data: bytes, file: str, problems: list[Problem]) -> list[PackData]:
    """The packs of one file; problems (each with its line and field) go to ``problems``."""
    root = _compose(data, file, problems)
    if root is None:
        return []
    try:
        packs_node = _top(root)
    except _Invalid as problem:
        problems.append(Problem(file, problem.line, problem.column, problem.message))
        return []
    packs: list[PackData] = []
    seen: dict[str, PackData] = {}
    for node in packs_node.value:
        try:
            pack = _pack(node)
        except _Invalid as problem:
            problems.append(Problem(file, problem.line, problem.column, problem.message))
            continue
        first = seen.setdefault(pack.code, pack)
        if first is not pack:
            problems.append(
                Problem(
                    file,
                    pack.lines["code"],
                    "code",
                    _(
                        "Pack %(pack)s is also on line %(line)d.",
                        pack=pack.code,
                        line=first.lines["code"],
                    ),
                )
            )
            continue
        packs.append(pack)
    return packs


def _top(root: Node) -> SequenceNode:
    if not isinstance(root, MappingNode):
        raise _Invalid(root, None, _("The file has no packs: list."))
    packs = None
    for key, value in root.value:
        if not isinstance(key, ScalarNode) or key.value != "packs":
            raise _Invalid(
                key, None, _("Unknown field %(field)s.", field=getattr(key, "value", "?"))
            )
        packs = value
    if not isinstance(packs, SequenceNode):
        raise _Invalid(packs or root, "packs", _("The file has no packs: list."))
    return packs


def _pack(node: Node) -> PackData:
    if not isinstance(node, MappingNode):
        raise _Invalid(node, None, _("Each pack is a mapping with code, name and courses."))
    pack = PackData(line=node.start_mark.line + 1)
    given: dict[str, Node] = {}
    for key, value in node.value:
        name = key.value if isinstance(key, ScalarNode) else "?"
        if name not in PACK_FIELDS:
            raise _Invalid(key, None, _("Unknown field %(field)s.", field=name))
        if name in given:
            raise _Invalid(key, name, _("%(field)s is given twice.", field=name))
        given[name] = value
        pack.lines[name] = key.start_mark.line + 1
    for required in ("code", "name", "courses"):
        if required not in given:
            raise _Invalid(node, required, _("%(field)s is missing.", field=required))
    pack.code = _text(given["code"], "code", max_length=64)
    if not PACK_CODE.match(pack.code):
        raise _Invalid(
            given["code"],
            "code",
            _("code: letters, digits, - and _ only (such as rural-office)."),
        )
    pack.name = _text(given["name"], "name", max_length=200)
    if "description" in given:
        pack.description = _text(
            given["description"], "description", max_length=5000, required=False
        )
    courses = given["courses"]
    if not isinstance(courses, SequenceNode) or not courses.value:
        raise _Invalid(courses, "courses", _("courses: a list of course codes."))
    if len(courses.value) > MAX_COURSES:
        raise _Invalid(courses, "courses", _("courses: at most %(max)d courses.", max=MAX_COURSES))
    for item in courses.value:
        code = _text(item, "courses", max_length=64)
        if code in pack.courses:
            raise _Invalid(item, "courses", _("Course %(code)s is listed twice.", code=code))
        pack.courses.append(code)
    return pack
