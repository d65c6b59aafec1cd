"""What each retrieval step is worth: the table of docs/retrieval.md.

    python bench/quality.py tests/data/dev-queries.jsonl tests/data/own-queries.jsonl

Each row adds one step to the one above; the last row is the product as shipped.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config import BUNDLED_CORPUS
from retrieval import coverage
from retrieval.bm25 import BM25Params
from retrieval.evaluate import evaluate, load_queries
from retrieval.index import build_snapshot
from retrieval.library import Library
from retrieval.query import Query
from retrieval.search import Ranked, Ranking, SearchEngine
from retrieval.tokenize import Tokenizer


class NoRerank(SearchEngine):
    """Plain BM25 order, and every question with a matching term counts as answered."""

    def _rerank(self, query: Query, order: np.ndarray, scores: np.ndarray) -> Ranked:
        return Ranked(order, scores, bool(order.size))


def row(name: str, engine: SearchEngine, queries: list) -> str:
    result = evaluate(engine, queries)
    overall, question = result["kinds"]["overall"], result["kinds"]["question"]
    nothing = result["noanswer"]["nothing_found"]
    return (
        f"| {name} | {overall['hit@1']:.3f} | {overall['hit@3']:.3f} | {overall['mrr@5']:.3f} "
        f"| {question['hit@1']:.3f} | {nothing:.3f} |"
    )


def main() -> int:
    queries = [q for path in sys.argv[1:] for q in load_queries(Path(path))]
    library = Library.open(BUNDLED_CORPUS, ":memory:")
    store = library.store
    okapi = BM25Params(variant="okapi", k1=1.5, b=0.75)
    plain = Ranking(context_weight=0.0)
    steps = [
        (
            "BM25Okapi (rank-bm25 defaults), jieba accurate mode",
            Tokenizer(False),
            okapi,
            plain,
            NoRerank,
        ),
        ("+ jieba search mode, union dictionary", library.tokenizer, okapi, plain, NoRerank),
        ("+ BM25L, k1=1.2, b=0.3", library.tokenizer, BM25Params(), plain, NoRerank),
        (
            "+ context field (heading, title, congress)",
            library.tokenizer,
            BM25Params(),
            Ranking(),
            NoRerank,
        ),
        (
            "+ coverage re-ranking and nothing-found rule",
            library.tokenizer,
            BM25Params(),
            Ranking(),
            SearchEngine,
        ),
    ]
    print(f"queries: {len(queries)} from {', '.join(sys.argv[1:])}")
    print("| pipeline | Hit@1 | Hit@3 | MRR@5 | questions Hit@1 | nothing found |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, tokenizer, params, ranking, engine_class in steps:
        snapshot = build_snapshot(store, tokenizer, params)
        print(row(name, engine_class(snapshot, tokenizer, ranking), queries))
    saved = coverage.UNKNOWN_PLACE_WEIGHT
    coverage.UNKNOWN_PLACE_WEIGHT = 1.0
    print(row("shipped, but unknown places weigh as other words", library.engine, queries))
    coverage.UNKNOWN_PLACE_WEIGHT = saved
    return 0


if __name__ == "__main__":
    sys.exit(main())
