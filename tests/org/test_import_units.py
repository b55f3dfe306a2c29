"""Importing the unit tree: order-independent parents, kinds, rural flag, errors, re-import."""

from __future__ import annotations

import sqlalchemy as sa

from lms.org import services
from lms.org.models import Employee, Unit, UnitKind
from lms.security import subtree_condition

HEADER = ["单位编码", "单位名称", "上级单位", "类型", "农村"]


def test_tree_with_children_before_parents(sample_units):
    """A file listing children before their parents builds the right tree."""
    units = sample_units
    assert len(units) == 7
    assert units["LC"].parent_id is None
    assert units["LC-ND"].parent_id == units["LC"].id
    assert units["LC-HT"].parent_id == units["LC-ND"].id
    assert units["LC-KF-1"].parent_id == units["LC-KF"].id


def test_kinds_in_chinese_and_english(sample_units):
    """类型 takes Chinese labels and English names."""
    units = sample_units
    assert units["LC"].kind is UnitKind.bureau
    assert units["LC-ND"].kind is UnitKind.department
    assert units["LC-HT"].kind is UnitKind.rural_office
    assert units["LC-YX"].kind is UnitKind.department
    assert units["LC-KF"].kind is UnitKind.centre
    assert units["LC-KF-1"].kind is UnitKind.team
    assert units["LC-CQ"].kind is UnitKind.urban_office


def test_rural_flag_defaults_by_kind(sample_units, import_units, units_by_code):
    """An empty 农村 is yes for rural offices and no otherwise; an explicit value wins."""
    assert sample_units["LC-HT"].is_rural is True
    assert sample_units["LC-CQ"].is_rural is False
    result = import_units(
        [["code", "name", "parent", "kind", "rural"], ["X", "某班", "LC", "team", "Y"]]
    )
    assert result.ok
    assert units_by_code()["X"].is_rural is True


def test_paths_rebuilt_for_subtree_queries(sample_units, db):
    """Materialised paths are set, so a subtree is one query."""
    nd = sample_units["LC-ND"]
    assert nd.path == f"/{sample_units['LC'].id}/{nd.id}/"
    codes = set(db.scalars(sa.select(Unit.code).where(subtree_condition(nd.path))))
    assert codes == {"LC-ND", "LC-HT"}
    everything = set(
        db.scalars(sa.select(Unit.code).where(subtree_condition(sample_units["LC"].path)))
    )
    assert len(everything) == 7


def test_reimport_changes_nothing(sample_units, import_units, files, counts):
    """Importing the same file again imports 0 and reports every row unchanged."""
    before = counts()
    result = import_units((files / "units.csv").read_bytes())
    assert (result.imported, result.unchanged, result.errors) == (0, 7, [])
    assert counts() == before


def test_reimport_updates_and_moves(sample_units, import_units, units_by_code, db):
    """A changed name and a new parent are updated, and paths follow the move."""
    result = import_units(
        [
            HEADER,
            ["LC-HT", "湖塘供电营业所", "LC-YX", "农村供电所", ""],
            ["LC", "龙城供电局", "", "局", "否"],
        ]
    )
    assert (result.imported, result.unchanged) == (1, 1)
    units = units_by_code()
    assert units["LC-HT"].name == "湖塘供电营业所"
    assert units["LC-HT"].parent_id == units["LC-YX"].id
    assert units["LC-HT"].path.startswith(units["LC-YX"].path)


def test_missing_parent_column_keeps_parents(sample_units, import_units, units_by_code):
    """A file without the 上级单位 column renames units but leaves the tree alone."""
    result = import_units([["单位编码", "单位名称", "类型"], ["LC-HT", "湖塘所", "农村供电所"]])
    assert result.ok and result.imported == 1
    units = units_by_code()
    assert units["LC-HT"].parent_id == units["LC-ND"].id


def test_missing_rural_column_keeps_flags(sample_units, import_units, units_by_code):
    """Without a 农村 column, existing units keep their rural flag; new ones get the default."""
    import_units([HEADER, ["LC-YX", "营销部", "LC", "部门", "是"]])
    result = import_units(
        [
            ["单位编码", "单位名称", "上级单位", "类型"],
            ["LC-YX", "营销部", "LC", "部门"],
            ["LC-NEW", "新所", "LC", "农村供电所"],
        ]
    )
    assert (result.imported, result.unchanged) == (1, 1)
    units = units_by_code()
    assert units["LC-YX"].is_rural is True and units["LC-NEW"].is_rural is True


def test_unknown_parent(import_units, counts):
    """An unknown parent code is an error naming the line and the 上级单位 column."""
    before = counts()
    result = import_units([HEADER, ["A", "甲", "", "局", ""], ["B", "乙", "NOPE", "部门", ""]])
    assert [(e.file, e.line, e.column) for e in result.errors] == [("units.csv", 3, "上级单位")]
    assert "NOPE" in result.errors[0].message
    assert counts() == before


def test_cycle(import_units, counts):
    """Parent links that form a cycle are one error, and nothing is imported."""
    before = counts()
    result = import_units(
        [
            HEADER,
            ["A", "甲", "", "局", ""],
            ["B", "乙", "C", "部门", ""],
            ["C", "丙", "B", "部门", ""],
        ]
    )
    assert len(result.errors) == 1
    assert (result.errors[0].line, result.errors[0].column) in {(3, "上级单位"), (4, "上级单位")}
    assert counts() == before


def test_own_parent_is_one_error(import_units):
    """A unit that names itself as parent gives one message, not two."""
    result = import_units([HEADER, ["A", "甲", "A", "局", ""]])
    assert [(e.line, e.column) for e in result.errors] == [(2, "上级单位")]


def test_cycle_through_existing_units(sample_units, import_units, units_by_code):
    """Making a unit the child of its own descendant (in the database) is refused."""
    result = import_units([HEADER, ["LC-ND", "农电工作部", "LC-HT", "部门", ""]])
    assert len(result.errors) == 1 and result.errors[0].line == 2
    assert units_by_code()["LC-ND"].parent_id == sample_units["LC"].id


def test_duplicate_code(import_units, counts):
    """A code listed twice names the second line and the first."""
    before = counts()
    result = import_units([HEADER, ["A", "甲", "", "局", ""], ["A", "乙", "", "局", ""]])
    assert [(e.line, e.column) for e in result.errors] == [(3, "单位编码")]
    assert "2" in result.errors[0].message
    assert counts() == before


def test_bad_values_each_named(import_units, counts):
    """Unknown kind, bad rural flag and empty name each give a message with line and column."""
    before = counts()
    result = import_units(
        [
            HEADER,
            ["A", "", "", "局", ""],
            ["B", "乙", "", "车间", ""],
            ["C", "丙", "", "局", "也许"],
        ]
    )
    assert sorted((e.line, e.column) for e in result.errors) == [
        (2, "单位名称"),
        (3, "类型"),
        (4, "农村"),
    ]
    assert counts() == before


def test_english_headers(import_units, units_by_code):
    """The English header aliases work for the units file."""
    result = import_units([["code", "name", "parent", "kind"], ["R", "Root", "", "bureau"]])
    assert result.ok and units_by_code()["R"].kind is UnitKind.bureau


def test_export_round_trip(sample_units, import_units, db, app):
    """The units export, imported again, changes nothing."""
    from lms.sheets import write_csv

    headers, rows = services.export_units(db)
    assert rows[0][0] == "LC"  # parents before children
    data = write_csv(headers, rows)
    result = import_units(data)
    assert (result.imported, result.unchanged) == (0, 7)


def test_tree_headcounts(sample_units, create_employee, db):
    """The unit tree lists units in tree order with the people directly in each."""
    create_employee(unit=sample_units["LC-HT"])
    tree = services.unit_tree(db)
    assert tree[0][0].code == "LC" and tree[0][1] == 0
    counts = {unit.code: count for unit, _depth, count in tree}
    assert counts["LC-HT"] == 1
    assert db.scalar(sa.select(sa.func.count()).select_from(Employee)) == 1


def test_paths_fresh_in_the_same_session(app, db, files):
    """Units loaded in the importing session see their new paths without a reload."""
    from lms.sheets import read_table

    table = read_table((files / "units.csv").read_bytes(), "units.csv", services.UNIT_COLUMNS)
    services.import_units(db, table, actor=None)
    units = {u.code: u for u in db.scalars(sa.select(Unit))}
    assert units["LC-HT"].path == f"/{units['LC'].id}/{units['LC-ND'].id}/{units['LC-HT'].id}/"
    db.rollback()
