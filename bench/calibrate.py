"""Calibrate the answer tiers (retrieval/tiers.py) on a query set, and check them on another.

    python bench/calibrate.py tests/data/staff-tune.jsonl tests/data/staff-validation.jsonl \
        --check tests/data/staff-holdout.jsonl --check tests/data/dev-queries.jsonl

The evidence of every query is gathered once; each triple of coverage thresholds on the
grid (answer, related, related when the fact asked for is missing) is then scored against
the targets (answerable told "none" ≤ 3 % — 2 % here, for a margin —, unanswerable answered
confidently ≤ 10 % — 6 % here —, unanswerable told "none" ≥ 60 %, answerable confident
≥ 70 %). The triple chosen meets the targets with the most room and is checked by 5-fold
cross-validation on the tuning set, then on the held-out set, which is not looked at while
choosing.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config import BUNDLED_CORPUS
from retrieval.evaluate import NOANSWER, first_correct_rank, load_queries
from retrieval.library import Library
from retrieval.model import ANSWER, NONE
from retrieval.query.search import SearchEngine
from retrieval.query.tiers import Evidence, TierRule

GRID = [round(0.05 * i, 2) for i in range(0, 20)]


@dataclass(frozen=True)
class Case:
    id: str
    answerable: bool
    rank: int | None
    fixed: str
    evidence: Evidence | None


def gather(engine: SearchEngine, path: Path) -> list[Case]:
    cases = []
    for q in load_queries(path):
        ranked = engine.rank(engine.analyse(q.query), 5)
        texts = [engine.snapshot.row(int(d)).text for d in ranked.order[:5]]
        rank = first_correct_rank(texts, q.gold) if q.gold else None
        # Without evidence the tier did not come from the coverage rule (a phrase, no terms).
        fixed = "" if ranked.evidence else ranked.confidence
        cases.append(Case(q.id, q.kind != NOANSWER, rank, fixed, ranked.evidence))
    return cases


def measure(cases: list[Case], rule: TierRule) -> dict[str, float]:
    tiers = [c.fixed or rule.decide(c.evidence) for c in cases]  # type: ignore[arg-type]
    yes = [(c, t) for c, t in zip(cases, tiers, strict=True) if c.answerable]
    no = [t for c, t in zip(cases, tiers, strict=True) if not c.answerable]
    return {
        "hit@1": sum(c.rank == 1 and t != NONE for c, t in yes) / max(len(yes), 1),
        "hit@3": sum((c.rank or 9) <= 3 and t != NONE for c, t in yes) / max(len(yes), 1),
        "answerable_none": sum(t == NONE for _, t in yes) / max(len(yes), 1),
        "answerable_answer": sum(t == ANSWER for _, t in yes) / max(len(yes), 1),
        "noanswer_answer": sum(t == ANSWER for t in no) / max(len(no), 1),
        "noanswer_none": sum(t == NONE for t in no) / max(len(no), 1),
    }


def room(m: dict[str, float]) -> tuple[float, float, float]:
    """How far inside the targets a result is (negative: a target missed). The two worst
    failures come first: "nothing found" for an answerable question, then a confident
    answer to an unanswerable one; the other two targets only decide among the rest, the
    one missed by most first, then both together.
    Both are held tighter here than the targets, to 2 % and 6 % (from 3 % and 10 %): they
    rose by a point or more from one set of ours to the next (new writers, new ways of
    asking), and a held-out set of 25 unanswerable questions moves 4 % with each one."""
    worst = min(0.02 - m["answerable_none"], 0.06 - m["noanswer_answer"])
    rest = (m["noanswer_none"] - 0.60, m["answerable_answer"] - 0.70)
    return min(worst, 0.0), min(rest), sum(rest)


def choose(cases: list[Case]) -> TierRule:
    rules = [TierRule(a, r, f) for a in GRID for r in GRID if r <= a for f in GRID if f >= r]
    return max(rules, key=lambda rule: (*room(measure(cases, rule)), rule.related_coverage))


def _name(rule: TierRule) -> str:
    return f"{rule.answer_coverage}/{rule.related_coverage}/{rule.fact_missing_coverage}"


def show(name: str, m: dict[str, float]) -> str:
    return f"{name:<24}" + "  ".join(f"{k} {v:.3f}" for k, v in m.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tune", type=Path, nargs="+")
    parser.add_argument("--check", type=Path, action="append", default=[])
    args = parser.parse_args()
    library = Library.open(BUNDLED_CORPUS, ":memory:")
    engine = library.engine
    cases = [case for path in args.tune for case in gather(engine, path)]
    folds = [cases[i::5] for i in range(5)]
    for i, held in enumerate(folds):
        rest = [c for j, f in enumerate(folds) if j != i for c in f]
        rule = choose(rest)
        print(show(f"fold {i} {_name(rule)}", measure(held, rule)))
    rule = choose(cases)
    print(show(f"tune {_name(rule)}", measure(cases, rule)))
    shipped = engine.ranking.tiers
    print(show("tune, as shipped", measure(cases, shipped)))
    for path in args.check:
        print(show(f"{path.stem}, as shipped", measure(gather(engine, path), shipped)))


if __name__ == "__main__":
    main()
