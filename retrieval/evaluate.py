"""Answer quality on a JSONL query set: Hit@1, Hit@3, MRR@5 per kind, and honest no-answers."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from retrieval.search import SearchEngine

_KEEP = re.compile(r"[^\u3400-\u9fff\uf900-\ufaffA-Za-z0-9]+")
NOANSWER = "noanswer"
DEPTH = 5


@dataclass(frozen=True)
class EvalQuery:
    id: str
    kind: str
    query: str
    gold: tuple[str, ...]


def judge_form(text: str) -> str:
    """The comparison form of the query set's README: CJK, letters, digits; 著 as 着."""
    return _KEEP.sub("", text).replace("著", "着")


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


def evaluate(engine: SearchEngine, queries: list[EvalQuery]) -> dict:
    per_kind: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0, 0.0])
    details = []
    noanswer_total = noanswer_right = 0
    for q in queries:
        answer = engine.search(q.query, k=DEPTH)
        texts = [h.text for h in answer.hits] if answer.answered else []
        if q.kind == NOANSWER:
            noanswer_total += 1
            noanswer_right += not answer.answered
            details.append({"id": q.id, "kind": q.kind, "ok": not answer.answered})
            continue
        rank = first_correct_rank(texts, q.gold)
        for key in (q.kind, "overall"):
            row = per_kind[key]
            row[0] += 1
            row[1] += rank == 1
            row[2] += rank is not None and rank <= 3
            row[3] += 1 / rank if rank else 0.0
        details.append({"id": q.id, "kind": q.kind, "rank": rank, "answered": answer.answered})
    kinds = {
        kind: {
            "n": int(n),
            "hit@1": h1 / n,
            "hit@3": h3 / n,
            "mrr@5": rr / n,
        }
        for kind, (n, h1, h3, rr) in sorted(per_kind.items(), key=lambda kv: kv[0] == "overall")
    }
    return {
        "kinds": kinds,
        "noanswer": {
            "n": noanswer_total,
            "nothing_found": noanswer_right / noanswer_total if noanswer_total else None,
        },
        "queries": details,
    }


def format_report(result: dict) -> str:
    lines = [f"{'kind':<12}{'n':>4}{'Hit@1':>8}{'Hit@3':>8}{'MRR@5':>8}"]
    for kind, row in result["kinds"].items():
        lines.append(
            f"{kind:<12}{row['n']:>4}{row['hit@1']:>8.3f}{row['hit@3']:>8.3f}{row['mrr@5']:>8.3f}"
        )
    na = result["noanswer"]
    if na["n"]:
        lines.append(f"{'noanswer':<12}{na['n']:>4}  nothing found: {na['nothing_found']:.3f}")
    misses = [d["id"] for d in result["queries"] if d.get("rank") != 1 and not d.get("ok", False)]
    if misses:
        lines.append("not first: " + " ".join(misses))
    return "\n".join(lines)
