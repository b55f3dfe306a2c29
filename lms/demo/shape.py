"""The shape of the demo bureau 龙城供电局: its units, and the posts and headcounts of each.

Headcounts are those of the default 1,800-person bureau; :func:`lms.demo.build.plan` scales the
rank and file to any size while the heads and deputies stay as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lms.demo.names import JINTAN_TOWNS, WUJIN_TOWNS
from lms.org.models import Role, StaffKind, UnitKind

#: Posts of the professional and technical staff (专业技术人员); management posts are recognised
#: by :func:`staff_kind_of`, and every other post is skilled (技能人员).
PROFESSIONAL_POSTS = frozenset(
    {
        "技术员",
        "安全员",
        "调度员",
        "监控员",
        "自动化运维员",
        "计量检定员",
        "采集运维员",
        "客户经理",
    }
)
_MANAGEMENT_TITLES = ("局长", "总工程师", "主任", "所长", "科长", "专责", "出纳", "档案管理员")


def staff_kind_of(post: str) -> StaffKind:
    """管理 / 专业技术 / 技能 for a post; management staff are the 管理人员 of the targets."""
    if post.endswith(_MANAGEMENT_TITLES):
        return StaffKind.management
    if post in PROFESSIONAL_POSTS:
        return StaffKind.professional
    return StaffKind.skilled


@dataclass(frozen=True)
class Staffing:
    """``count`` holders of ``post`` in a unit of the default bureau.

    ``fixed`` lines (heads, deputies, a few named roles) do not grow with the bureau; the others
    share whatever headcount is left. ``minimum`` holders exist at any size.
    """

    post: str
    count: float
    role: Role = Role.employee
    fixed: bool = False
    minimum: int = 0


@dataclass(frozen=True)
class UnitSpec:
    code: str
    name: str
    kind: UnitKind
    staff: tuple[Staffing, ...] = ()
    children: tuple[UnitSpec, ...] = field(default=())
    rural: bool = False


def head(post: str, role: Role = Role.manager) -> Staffing:
    """The head of a unit: always exactly one, and the unit's manager in the LMS."""
    return Staffing(post, 1, role=role, fixed=True, minimum=1)


def deputies(post: str, count: int) -> Staffing:
    return Staffing(post, count, fixed=True)


def department(
    code: str, name: str, *staff: Staffing, children: tuple[UnitSpec, ...] = ()
) -> UnitSpec:
    return UnitSpec(code, name, UnitKind.department, staff, children)


def team(code: str, name: str, *staff: Staffing) -> UnitSpec:
    return UnitSpec(code, name, UnitKind.team, (head("班长"), *staff))


def rural_office(county: str, town: str, code: str, size: float) -> UnitSpec:
    """A 农村供电所 of about ``30 * size`` people."""
    per = 30 * size - 2
    return UnitSpec(
        f"{county}-{code}",
        f"{town}供电所",
        UnitKind.rural_office,
        (
            head("所长"),
            deputies("副所长", 1),
            Staffing("台区经理", per * 0.32),
            Staffing("农电工", per * 0.24, minimum=1),
            Staffing("营业窗口", per * 0.12),
            Staffing("收费员", per * 0.08),
            Staffing("抄表员", per * 0.1),
            Staffing("配电抢修工", per * 0.12),
            Staffing("安全员", per * 0.02),
        ),
        rural=True,
    )


def urban_office(code: str, name: str, size: float) -> UnitSpec:
    per = 70 * size - 3
    return UnitSpec(
        code,
        name,
        UnitKind.urban_office,
        (
            head("所长"),
            deputies("副所长", 2),
            Staffing("技术员", per * 0.04),
            Staffing("台区经理", per * 0.28, minimum=1),
            Staffing("营业窗口", per * 0.15),
            Staffing("抄表员", per * 0.1),
            Staffing("收费员", per * 0.09),
            Staffing("装表接电工", per * 0.12),
            Staffing("配电抢修工", per * 0.22),
        ),
    )


def county_bureau(code: str, name: str, towns: tuple[tuple[str, str, float], ...]) -> UnitSpec:
    return UnitSpec(
        code,
        name,
        UnitKind.bureau,
        (
            head("局长"),
            deputies("副局长", 2),
            Staffing("综合专责", 3),
            Staffing("营销专责", 3),
            Staffing("生产专责", 3),
            Staffing("安全专责", 2),
            Staffing("驾驶员", 2),
        ),
        tuple(rural_office(code, town, town_code, size) for town, town_code, size in towns),
    )


FUNCTIONAL_DEPARTMENTS: tuple[UnitSpec, ...] = (
    department(
        "LC-BGS",
        "办公室",
        head("主任"),
        deputies("副主任", 2),
        # The system administrator of the demo: the first 信息专责.
        Staffing("信息专责", 1, role=Role.admin, fixed=True, minimum=1),
        Staffing("信息专责", 3),
        Staffing("文秘专责", 4),
        Staffing("后勤专责", 3),
        Staffing("档案管理员", 2),
        Staffing("驾驶员", 5),
    ),
    department(
        "LC-RZ",
        "人力资源部",
        head("主任", Role.hr),
        deputies("副主任", 1),
        Staffing("人事专责", 4),
        Staffing("薪酬专责", 3),
        Staffing("劳动组织专责", 2),
        children=(
            UnitSpec(
                "LC-RZ-JP",
                "教育培训科",
                UnitKind.team,
                (
                    head("科长", Role.hr),
                    Staffing("培训专责", 3, role=Role.hr, fixed=True, minimum=1),
                    Staffing("培训专责", 2),
                ),
            ),
        ),
    ),
    department(
        "LC-CW",
        "财务资产部",
        head("主任"),
        deputies("副主任", 1),
        Staffing("会计专责", 6),
        Staffing("资产专责", 4),
        Staffing("出纳", 3),
    ),
    department(
        "LC-AJ",
        "安全监察质量部",
        head("主任"),
        deputies("副主任", 1),
        Staffing("安全专责", 8),
        Staffing("质量专责", 4),
    ),
    department(
        "LC-SC",
        "生产技术部",
        head("主任"),
        deputies("副主任", 2),
        Staffing("运检专责", 8),
        Staffing("技术专责", 6),
    ),
    department(
        "LC-YX",
        "市场营销部",
        head("主任"),
        deputies("副主任", 2),
        Staffing("营销专责", 8),
        Staffing("电价专责", 4),
        Staffing("计量专责", 4),
        Staffing("用电检查专责", 4),
    ),
    department(
        "LC-ND",
        "农电工作部",
        head("主任"),
        deputies("副主任", 1),
        Staffing("农电专责", 8),
    ),
    department(
        "LC-DQ",
        "党群工作部",
        head("主任"),
        deputies("副主任", 1),
        Staffing("党建专责", 4),
        Staffing("工会专责", 4),
        Staffing("宣传专责", 3),
    ),
    department("LC-JJ", "纪检监察室", head("主任"), Staffing("纪检专责", 6)),
    department("LC-GH", "发展策划部", head("主任"), deputies("副主任", 1), Staffing("规划专责", 7)),
    department("LC-SJ", "审计部", head("主任"), Staffing("审计专责", 5)),
)


def _centre(code: str, name: str, *staff: Staffing, teams: tuple[UnitSpec, ...]) -> UnitSpec:
    return UnitSpec(code, name, UnitKind.centre, staff, teams)


CENTRES: tuple[UnitSpec, ...] = (
    _centre(
        "LC-DK",
        "调度控制中心",
        head("主任"),
        deputies("副主任", 1),
        Staffing("调度专责", 3),
        teams=(
            team("LC-DK-DD", "调度班", Staffing("调度员", 24)),
            team("LC-DK-JK", "监控班", Staffing("监控员", 16)),
            team("LC-DK-ZDH", "自动化班", Staffing("自动化运维员", 9)),
        ),
    ),
    _centre(
        "LC-KF",
        "客户服务中心",
        head("主任"),
        deputies("副主任", 2),
        Staffing("营销专责", 4),
        teams=(
            team("LC-KF-YY", "营业班", Staffing("营业窗口", 40)),
            team("LC-KF-CB", "抄表班", Staffing("抄表员", 52)),
            team("LC-KF-SF", "收费班", Staffing("收费员", 32)),
            team("LC-KF-95", "95598客户服务班", Staffing("95598坐席", 40)),
            team("LC-KF-DK", "大客户经理班", Staffing("客户经理", 18)),
        ),
    ),
    _centre(
        "LC-PD",
        "配电运检中心",
        head("主任"),
        deputies("副主任", 2),
        Staffing("运检专责", 4),
        teams=(
            team("LC-PD-YW1", "配电运维一班", Staffing("技术员", 2), Staffing("配电运维工", 28)),
            team("LC-PD-YW2", "配电运维二班", Staffing("技术员", 2), Staffing("配电运维工", 26)),
            *(
                team(f"LC-PD-QX{n}", f"抢修{label}班", Staffing("配电抢修工", 24))
                for n, label in enumerate("一二三四", start=1)
            ),
            team("LC-PD-DL", "电缆运检班", Staffing("电缆工", 20)),
            team("LC-PD-DZ", "带电作业班", Staffing("带电作业工", 14)),
        ),
    ),
    _centre(
        "LC-JL",
        "计量中心",
        head("主任"),
        deputies("副主任", 1),
        Staffing("计量专责", 3),
        teams=(
            team("LC-JL-ZB", "装表接电班", Staffing("装表接电工", 42)),
            team("LC-JL-JD", "计量检定班", Staffing("计量检定员", 22)),
            team("LC-JL-CJ", "用电信息采集班", Staffing("采集运维员", 16)),
        ),
    ),
)

URBAN_OFFICES: tuple[UnitSpec, ...] = (
    urban_office("LC-CD", "城东供电所", 1.1),
    urban_office("LC-CX", "城西供电所", 0.9),
    urban_office("LC-CN", "城南供电所", 1.0),
    urban_office("LC-CB", "城北供电所", 1.0),
)

COUNTY_BUREAUS: tuple[UnitSpec, ...] = (
    county_bureau("LC-WJ", "武进县供电局", WUJIN_TOWNS),
    county_bureau("LC-JT", "金坛县供电局", JINTAN_TOWNS),
)

BUREAU = UnitSpec(
    "LC",
    "龙城供电局",
    UnitKind.bureau,
    (
        head("局长"),
        deputies("副局长", 3),
        deputies("总工程师", 1),
    ),
    (*FUNCTIONAL_DEPARTMENTS, *CENTRES, *URBAN_OFFICES, *COUNTY_BUREAUS),
)


@dataclass(frozen=True)
class DemoAccount:
    """A demo sign-in: the first holder of ``post`` in unit ``unit_code`` with ``role``."""

    emp_no: str
    role: Role
    unit_code: str
    post: str


#: The demo sign-ins, with fixed 工号 whatever the seed or size, so that docs can name them.
DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount("LC000001", Role.admin, "LC-BGS", "信息专责"),
    DemoAccount("LC000002", Role.hr, "LC-RZ-JP", "培训专责"),
    DemoAccount("LC000003", Role.manager, "LC-WJ-HT", "所长"),
    DemoAccount("LC000004", Role.employee, "LC-WJ-HT", "农电工"),
    DemoAccount("LC000005", Role.manager, "LC-CD", "所长"),
    DemoAccount("LC000006", Role.employee, "LC-CD", "台区经理"),
)
