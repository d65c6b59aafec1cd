"""What each retrieval step is worth: the tables of docs/retrieval.md.

    python bench/quality.py tests/data/dev-queries.jsonl tests/data/staff-tune.jsonl \
        tests/data/staff-holdout.jsonl

The first rows build the pipeline up one step at a time; the rows after "shipped" take one
piece out of the shipped pipeline. Each query set is scored on its own: Hit@1 and Hit@3
count passages shown in any tier; "told none" is the share of answerable questions
answered 没有找到; "none" and "confident" are the shares of unanswerable ones answered
没有找到 and answered in the confident tier.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager as ContextManager
from contextlib import contextmanager, nullcontext
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config import BUNDLED_CORPUS
from retrieval.evaluate import evaluate, load_queries
from retrieval.index.bm25 import BM25Params
from retrieval.index.build import build_snapshot
from retrieval.index.tokenize import Tokenizer
from retrieval.library import Library
from retrieval.model import ANSWER, NONE
from retrieval.query import analysis as query_module
from retrieval.query import ranking as ranking_module
from retrieval.query.analysis import Query, analyse
from retrieval.query.ranking import Judge, Ranked, Ranking
from retrieval.query.scope import Catalog, Reference
from retrieval.query.search import SearchEngine


class NoRerank(SearchEngine):
    """Plain BM25 order, and every question with a matching term counts as answered."""

    def _rerank(self, query: Query, order: np.ndarray, scores: np.ndarray) -> Ranked:
        return Ranked(order, scores, ANSWER if order.size else NONE)


class NoUnderstanding(SearchEngine):
    """The question as typed: no filler, named speech, typo or synonym handling."""

    def analyse(self, raw: str, follows: str = "") -> Query:
        return analyse(raw, self.tokenizer)


@contextmanager
def without(owner: object, name: str, replacement: object) -> Iterator[None]:
    """The shipped code with one piece replaced, for one row."""
    saved = getattr(owner, name)
    setattr(owner, name, replacement)
    try:
        yield
    finally:
        setattr(owner, name, saved)


def cells(engine: SearchEngine, queries: list) -> str:
    result = evaluate(engine, queries)
    overall, shares = result["kinds"]["overall"], result["tiers"]
    yes, no = shares["answerable"], shares["noanswer"]
    return (
        f"{overall['hit@1']:.3f} | {overall['hit@3']:.3f} | {yes['none']:.3f} | "
        f"{no['none']:.3f} | {no['answer']:.3f}"
    )


def main() -> int:
    sets = [(Path(p).stem, load_queries(Path(p))) for p in sys.argv[1:]]
    library = Library.open(BUNDLED_CORPUS, ":memory:")
    store, tokenizer, shipped = library.store, library.tokenizer, library.engine
    snap = shipped.snapshot
    accurate = Tokenizer(search_mode=False)
    okapi = BM25Params(variant="okapi", k1=1.5, b=0.75)
    no_bigrams = Ranking(bigram_share=0.0, nearby_share=0.0)
    no_nearby = Ranking(nearby_share=0.0)

    def fresh(cls: type[SearchEngine], ranking: Ranking) -> Callable[[], SearchEngine]:
        return lambda: cls(snap, tokenizer, ranking)

    Row = tuple[str, Callable[[], SearchEngine], Callable[[], ContextManager[None]]]
    rows: list[Row] = [
        (
            "BM25Okapi (rank-bm25 defaults), jieba accurate mode, no context",
            lambda: NoRerank(
                build_snapshot(store, accurate, okapi), accurate, Ranking(context_weight=0.0)
            ),
            nullcontext,
        ),
        ("+ jieba search mode, BM25L, context field", fresh(NoRerank, Ranking()), nullcontext),
        ("+ coverage re-ranking and tiers", fresh(NoUnderstanding, no_bigrams), nullcontext),
        ("+ query understanding", fresh(SearchEngine, no_bigrams), nullcontext),
        ("+ character bigrams in re-ranking", fresh(SearchEngine, no_nearby), nullcontext),
        (
            "+ the question's words near each other (shipped)",
            fresh(SearchEngine, Ranking()),
            nullcontext,
        ),
        (
            "shipped without a named speech's name counting less inside it",
            fresh(SearchEngine, Ranking()),
            lambda: without(Judge, "scoped_terms", lambda self, query, terms: terms),
        ),
        (
            "shipped without typo correction",
            fresh(SearchEngine, Ranking()),
            lambda: without(query_module, "_corrected", lambda text, tok, lex: (text, ())),
        ),
        (
            "shipped without synonyms",
            fresh(SearchEngine, Ranking()),
            lambda: without(query_module, "alternatives", lambda text, table: {}),
        ),
        (
            "shipped without named-speech scope",
            fresh(SearchEngine, Ranking()),
            lambda: without(Catalog, "find", lambda self, text: Reference()),
        ),
        (
            "shipped without the fact check (number, date, person)",
            fresh(SearchEngine, Ranking()),
            lambda: without(ranking_module, "holds", lambda *_: True),
        ),
    ]
    names = ", ".join(name for name, _ in sets)
    print(f"Each set: Hit@1 | Hit@3 | told none | none | confident. Sets: {names}")
    for name, make, context in rows:
        with context():
            engine = make()
            print(f"| {name} | " + " | ".join(cells(engine, qs) for _, qs in sets) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
