"""Benchmark: import 10,000 questions from XLSX and from GIFT, time and peak memory.

    python bench/import_banks.py            # 10,000 questions per file
    python bench/import_banks.py --quick    # 1,000

Builds a bank of realistic mixed questions, writes it with the product's own XLSX and GIFT
writers, then imports each file into a fresh SQLite database in a child process (read, check,
store every question with its first version, commit) and reports that process's wall time and
peak resident memory (``ru_maxrss``: the whole process, Python and the app included). Targets:
under 10 s and under 300 MB each. Prints human lines, then one JSON line (DESIGN.md, Benchmarks).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import emit, result  # noqa: E402  (bench/common.py)

TIME_TARGET_S = 10.0
MEMORY_TARGET_MB = 300.0
TOPICS = [
    "服务承诺",
    "95598工单",
    "故障抢修",
    "职业道德",
    "计量装置",
    "安规",
    "电费回收",
    "农电业务",
]
POSTS = ["营业窗口", "抄表员", "收费员", "装表接电工", "配电抢修工", "农电工"]


def make_bank(count: int, seed: int = 7) -> list:
    """``count`` questions of every built-in auto-graded type, in the shares a real bank has."""
    from lms.questions.data import Choice, MatchPair, NumericAnswer, QuestionData
    from lms.questions.html import plain_to_html

    rng = random.Random(seed)
    questions = []
    for number in range(1, count + 1):
        topic = rng.choice(TOPICS)
        stem = f"第{number}题：关于{topic}，下列说法中正确的是哪一项？请结合本局规定作答。"
        question = QuestionData(
            type="single_choice",
            stem=plain_to_html(stem),
            external_id=f"B-{number:05d}",
            explanation=plain_to_html(f"依据本局《{topic}管理规定》第{rng.randint(1, 40)}条。"),
            difficulty=rng.randint(1, 5),
            knowledge_points=[topic],
            posts=[rng.choice(POSTS)],
        )
        kind = rng.random()
        if kind < 0.45:
            right = rng.randrange(4)
            question.choices = [
                Choice(plain_to_html(f"{topic}选项{c}"), 1.0 if i == right else 0.0)
                for i, c in enumerate("ABCD")
            ]
        elif kind < 0.65:
            question.type = "multiple_choice"
            question.choices = [
                Choice(plain_to_html(f"{topic}要点{c}"), 0.5 if i < 2 else 0.0)
                for i, c in enumerate("ABCD")
            ]
        elif kind < 0.85:
            question.type, question.answer_true = "true_false", rng.random() < 0.5
        elif kind < 0.95:
            question.type = "fill_in"
            question.stem = plain_to_html(f"第{number}题：{topic}的服务时限是 ___ 分钟。")
            question.blanks = [[Choice(str(rng.choice([5, 45, 90, 120])), 1.0)]]
        elif kind < 0.98:
            question.type = "numerical"
            question.numbers = [NumericAnswer(value=99.89, tolerance=0.01)]
        else:
            question.type = "matching"
            question.pairs = [
                MatchPair(plain_to_html("城区"), "45分钟"),
                MatchPair(plain_to_html("农村"), "90分钟"),
            ]
        questions.append(question)
    return questions


def measure(path: str) -> None:
    """Child process: import one file into a fresh SQLite database; print seconds and peak MB."""
    folder = tempfile.mkdtemp(prefix="lms-bench-")
    os.environ["LMS_INSTANCE_PATH"] = folder
    import lms
    from lms.migrate import upgrade
    from lms.questions.formats import read_file
    from lms.questions.services import get_or_create_bank, import_files

    app = lms.create_app(
        {"SECRET_KEY": "bench", "LMS_DATABASE_URL": f"sqlite:///{folder}/bench.db"}
    )
    upgrade(app)
    state = app.extensions["lms"]
    start = time.perf_counter()
    data = Path(path).read_bytes()
    with app.app_context(), state.db.transaction() as session:
        parsed = read_file(data, Path(path).name)
        bank = get_or_create_bank(session, "bench", title="基准题库")
        outcome = import_files(session, [(parsed, bank)], types=state.question_types, actor=None)
        assert outcome.ok, outcome.errors[:3]
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "imported": outcome.imported}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 questions instead of 10,000")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.measure)
        return
    count = 1_000 if args.quick else 10_000
    from lms.questions.formats import gift, sheet

    bank = make_bank(count)
    results = []
    with tempfile.TemporaryDirectory(prefix="lms-bench-") as folder:
        for name, fmt in (("xlsx", sheet.XLSX), ("gift", gift.FORMAT)):
            path = Path(folder) / f"bank.{name}"
            path.write_bytes(fmt.write(bank, {"code": "bench", "title": "基准题库"}))
            child = subprocess.run(
                [sys.executable, __file__, "--measure", str(path)],
                check=True,
                capture_output=True,
                text=True,
            )
            figures = json.loads(child.stdout.strip().splitlines()[-1])
            assert figures["imported"] == count, figures
            print(
                f"{name}: {count:,} questions ({path.stat().st_size / 2**20:.1f} MB) imported "
                f"in {figures['seconds']:.2f} s, peak {figures['peak_mb']:.0f} MB"
            )
            size = f"{count // 1000}k"
            results.append(result(f"{name}_{size}_s", figures["seconds"], "s", TIME_TARGET_S))
            results.append(
                result(f"{name}_{size}_peak_mb", figures["peak_mb"], "MB", MEMORY_TARGET_MB)
            )
    emit("import_banks", results)


if __name__ == "__main__":
    main()
