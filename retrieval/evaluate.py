"""Answer quality on a JSONL query set: Hit@1, Hit@3, MRR@5 per kind, and the answer tiers."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from retrieval.model import ANSWER, NONE, RELATED, Answer
from retrieval.text import NOT_WORD

NOANSWER = "noanswer"
DEPTH = 5
TIERS = (ANSWER, RELATED, NONE)


class Searcher(Protocol):
    def search(self, question: str, k: int = 3) -> Answer: ...


@dataclass(frozen=True)
class EvalQuery:
    id: str
    kind: str
    query: str
    gold: tuple[str, ...]


def judge_form(text: str) -> str:
    """The comparison form of the query set's README: CJK, letters, digits; 著 as 着."""
    return NOT_WORD.sub("", text).replace("著", "着")


def load_queries(path: Path) -> list[EvalQuery]:
    queries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            queries.append(
                EvalQuery(str(row["id"]), str(row["kind"]), str(row["query"]), tuple(row["gold"]))
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"line {number}: {exc}") from exc
    return queries


def first_correct_rank(texts: list[str], gold: tuple[str, ...]) -> int | None:
    golds = [judge_form(g) for g in gold]
    for rank, text in enumerate(texts, 1):
        flat = judge_form(text)
        if any(g and g in flat for g in golds):
            return rank
    return None


def evaluate(engine: Searcher, queries: list[EvalQuery]) -> dict:
    """Ranks count passages shown in any tier; `tiers` shares count each tier's answers."""
    per_kind: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0, 0.0])
    tiers: dict[str, Counter] = {"answerable": Counter(), NOANSWER: Counter()}
    details = []
    for q in queries:
        answer = engine.search(q.query, k=DEPTH)
        texts = [h.text for h in answer.hits] if answer.answered else []
        if q.kind == NOANSWER:
            tiers[NOANSWER][answer.confidence] += 1
            details.append(
                {"id": q.id, "kind": q.kind, "ok": not answer.answered, "tier": answer.confidence}
            )
            continue
        tiers["answerable"][answer.confidence] += 1
        rank = first_correct_rank(texts, q.gold)
        for key in (q.kind, "overall"):
            row = per_kind[key]
            row[0] += 1
            row[1] += rank == 1
            row[2] += rank is not None and rank <= 3
            row[3] += 1 / rank if rank else 0.0
        details.append({"id": q.id, "kind": q.kind, "rank": rank, "tier": answer.confidence})
    kinds = {
        kind: {
            "n": int(n),
            "hit@1": h1 / n,
            "hit@3": h3 / n,
            "mrr@5": rr / n,
        }
        for kind, (n, h1, h3, rr) in sorted(per_kind.items(), key=lambda kv: kv[0] == "overall")
    }
    shares = {
        group: {"n": sum(c.values()), **{t: c[t] / max(sum(c.values()), 1) for t in TIERS}}
        for group, c in tiers.items()
    }
    noanswer = shares[NOANSWER]
    return {
        "kinds": kinds,
        "tiers": shares,
        "noanswer": {
            "n": noanswer["n"],
            "nothing_found": noanswer[NONE] if noanswer["n"] else None,
        },
        "queries": details,
    }


def format_report(result: dict) -> str:
    lines = [f"{'kind':<12}{'n':>4}{'Hit@1':>8}{'Hit@3':>8}{'MRR@5':>8}"]
    for kind, row in result["kinds"].items():
        lines.append(
            f"{kind:<12}{row['n']:>4}{row['hit@1']:>8.3f}{row['hit@3']:>8.3f}{row['mrr@5']:>8.3f}"
        )
    lines.append(f"{'tiers':<12}{'n':>4}{ANSWER:>9}{RELATED:>9}{NONE:>9}")
    for group, row in result["tiers"].items():
        if row["n"]:
            shares = "".join(f"{row[t]:>9.3f}" for t in TIERS)
            lines.append(f"{group:<12}{row['n']:>4}{shares}")
    misses = [d["id"] for d in result["queries"] if d.get("rank") != 1 and not d.get("ok", False)]
    if misses:
        lines.append("not first: " + " ".join(misses))
    return "\n".join(lines)
