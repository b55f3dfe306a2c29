"""Fixed lists for the demo bureau: surnames with weights, given-name characters, town names.

Everything is fixed data, so a seeded ``random.Random`` always draws the same people.
"""

from __future__ import annotations

import itertools
import random

#: Common surnames with rough relative weights (national frequency, plus names common around
#: 龙城 such as 顾, 陆, 恽, 庄, 缪), written as ``surname`` followed by its weight.
_SURNAME_TEXT = """
王72 李71 张68 刘54 陈46 杨32 黄25 赵22 吴21 周20
徐17 孙15 马14 朱13 胡12 郭12 何11 高10 林10 罗10
郑9 梁8 谢8 宋7 唐7 许7 韩6 冯6 邓6 曹6 彭5 曾5 肖5
田5 董5 袁5 潘4 于4 蒋6 蔡4 余4 杜4 叶4 程4 苏4 魏4
吕4 丁4 任3 沈5 姚3 卢3 姜3 崔3 钟3 谭3 陆5 汪3 范3
金3 石3 廖2 贾2 夏2 韦2 方2 白2 邹2 孟2 熊2 秦2 邱2
江2 尹2 薛2 段2 雷2 侯2 史2 陶2 贺2 顾4 毛2 龚2 邵2
万2 钱3 严2 戴2 孔1 汤2 恽1 庄2 缪1 华1 储1 欧阳1
"""
SURNAMES: tuple[tuple[str, int], ...] = tuple(
    (item.rstrip("0123456789"), int(item[len(item.rstrip("0123456789")) :]))
    for item in _SURNAME_TEXT.split()
)

#: Characters for given names; a given name has one or two of them.
MALE_CHARS = (
    "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林"
    "峰建国志东文海亮成新晓永卫春立忠振锋毅晨睿轩昊子博嘉"
)
FEMALE_CHARS = (
    "芳娜敏静丽艳娟霞燕玲婷雪慧颖琳洁晶倩萍红梅兰英华秀云莉佳欣怡悦雯璐蕾晓春丹宁琴凤薇婧瑶涵思梦诗"
)

#: Towns of the two county bureaus: (name, code, relative size of the 供电所).
WUJIN_TOWNS: tuple[tuple[str, str, float], ...] = (
    ("湖塘", "HT", 1.5),
    ("牛塘", "NT", 1.0),
    ("南夏墅", "NXS", 0.9),
    ("洛阳", "LY", 1.1),
    ("遥观", "YG", 1.1),
    ("横林", "HL", 1.2),
    ("横山桥", "HSQ", 0.9),
    ("雪堰", "XY", 1.0),
    ("前黄", "QH", 1.0),
    ("礼嘉", "LJ", 0.8),
    ("嘉泽", "JZ", 0.8),
    ("湟里", "HLI", 0.8),
)
JINTAN_TOWNS: tuple[tuple[str, str, float], ...] = (
    ("金城", "JC", 1.4),
    ("尧塘", "YT", 0.9),
    ("儒林", "RL", 0.9),
    ("直溪", "ZX", 1.0),
    ("朱林", "ZL", 0.9),
    ("薛埠", "XB", 1.0),
    ("指前", "ZQ", 0.9),
    ("西城", "XC", 1.1),
    ("东城", "DC", 1.1),
    ("社头", "ST", 0.7),
    ("唐王", "TW", 0.7),
    ("白塔", "BT", 0.8),
)

#: Posts mostly held by women (a rough share, so names look plausible per post).
MOSTLY_FEMALE_POSTS = frozenset({"营业窗口", "收费员", "95598坐席", "出纳", "档案管理员"})
#: Field posts mostly held by men.
MOSTLY_MALE_POSTS = frozenset(
    {
        "配电抢修工",
        "装表接电工",
        "农电工",
        "配电运维工",
        "电缆工",
        "带电作业工",
        "驾驶员",
        "台区经理",
    }
)

_SURNAME_LIST = [name for name, _ in SURNAMES]
_SURNAME_CUM = list(itertools.accumulate(weight for _, weight in SURNAMES))


def female_share(post: str) -> float:
    """The chance that the holder of ``post`` is a woman (only shapes the given name)."""
    if post in MOSTLY_FEMALE_POSTS:
        return 0.75
    if post in MOSTLY_MALE_POSTS:
        return 0.08
    return 0.4


def random_name(rng: random.Random, post: str) -> str:
    """A plausible Chinese name: a weighted surname and a one- or two-character given name."""
    surname = rng.choices(_SURNAME_LIST, cum_weights=_SURNAME_CUM)[0]
    chars = FEMALE_CHARS if rng.random() < female_share(post) else MALE_CHARS
    if rng.random() < 0.3:
        return surname + rng.choice(chars)
    return surname + rng.choice(chars) + rng.choice(chars)
