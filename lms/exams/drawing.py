"""Drawing a paper by rules: which distinct questions each rule gets, so that rules that
overlap (share questions) are met together whenever that is possible at all."""

from __future__ import annotations

import random
from collections.abc import Sequence


def match_rules(
    pools: Sequence[Sequence[int]], counts: Sequence[int], *, rng: random.Random | None = None
) -> list[list[int]]:
    """A maximum assignment of distinct questions to rules: ``result[i]`` holds at most
    ``counts[i]`` questions of ``pools[i]``, no question twice, as many in all as possible.

    Augmenting paths (Kuhn's algorithm with a rule standing for ``count`` interchangeable
    slots): a slot left unmatched means no assignment at all fills every rule. With ``rng`` the
    pools are tried in a random order, which makes a random draw that meets every rule whenever
    that is possible (a plain greedy draw can take a question a narrower rule needed).
    """
    order = [list(pool) for pool in pools]
    if rng is not None:
        for pool in order:
            rng.shuffle(pool)
    owner: dict[int, int] = {}  # question -> rule
    held: list[list[int]] = [[] for _ in pools]

    def augment(rule: int, seen_questions: set[int], seen_rules: set[int]) -> bool:
        # A rule already on the path has tried (or is trying) every question of its pool,
        # so entering it again finds nothing new: this also bounds the depth by the rules.
        seen_rules.add(rule)
        for question in order[rule]:
            if question in seen_questions:
                continue
            seen_questions.add(question)
            other = owner.get(question)
            if other is None or (
                other not in seen_rules and augment(other, seen_questions, seen_rules)
            ):
                if other is not None:
                    held[other].remove(question)
                owner[question] = rule
                held[rule].append(question)
                return True
        return False

    for rule, count in enumerate(counts):
        for _slot in range(count):
            if not augment(rule, set(), set()):
                break  # the same search fails for the rule's remaining slots too
    return held
