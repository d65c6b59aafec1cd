"""Pruned top-k, by block bounds or in numpy, equals sorting every score."""

import random

import numpy as np
import pytest

from retrieval.index import topk
from retrieval.index.bm25 import BM25, BM25Params
from retrieval.index.postings import Postings
from retrieval.index.topk import Field, matched_docs, top


def _ranked_by_sorting(
    fields: list[Field], query: list[str], m: int, within: np.ndarray | None = None
) -> np.ndarray:
    scores = sum(f.weight * f.index.get_scores(query) for f in fields)
    docs = matched_docs(fields, query)
    if within is not None:
        docs = np.intersect1d(docs, within)
    return docs[np.argsort(-scores[docs], kind="stable")][:m]


@pytest.mark.parametrize("kept_maxima_df", [BM25Params().kept_maxima_df, 0.0, np.inf])
@pytest.mark.parametrize("variant", ["okapi", "plus", "l"])
def test_pruned_top_k_equals_sorting_every_score(
    variant: str, kept_maxima_df: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The m best by block bounds, from kept maxima or from postings, are what sorting
    every score gives."""
    ways = {"blocks": 0, "numpy": 0}
    for name, target in (("blocks", "pruning.best_matches"), ("numpy", "matched_docs")):
        owner, attr = (topk.pruning, "best_matches") if "." in target else (topk, target)
        original = getattr(owner, attr)

        def counted(*args: object, _name: str = name, _original=original) -> object:
            ways[_name] += 1
            return _original(*args)

        monkeypatch.setattr(owner, attr, counted)
    rng = random.Random(11)
    words = [f"w{i}" for i in range(3000)]
    common = ["工会", "职工", "发展", "工作"]
    docs = [
        rng.choices(words, k=rng.randint(1, 30)) + rng.sample(common, k=rng.randint(0, 4))
        for _ in range(6000)
    ]
    # Contexts come in runs of documents (a section's paragraphs), indexed once a run.
    sizes: list[int] = []
    while sum(sizes) < len(docs):
        sizes.append(min(rng.randint(1, 60), len(docs) - sum(sizes)))
    starts = np.cumsum([0, *sizes])
    contexts = [[*rng.sample(common, k=2), f"t{i % 40}"] for i in range(len(sizes))]
    params = BM25Params(variant=variant, kept_maxima_df=kept_maxima_df)
    text = Field(BM25.from_tokens(docs, params))
    grouped = BM25([Postings.from_tokens(contexts)], params, np.array(sizes))
    fields = [text, Field(grouped, 0.7, starts)]
    each = [c for c, size in zip(contexts, sizes, strict=True) for _ in range(size)]
    one_by_one = [text, Field(BM25.from_tokens(each, params), 0.7)]
    some = np.array(sorted(rng.sample(range(len(docs)), 1500)))
    for _ in range(60):
        query = rng.sample(common, k=rng.randint(0, 3)) + rng.choices(words, k=rng.randint(0, 3))
        query += rng.choice([[], [f"t{rng.randrange(40)}"], [common[0]]])
        m = rng.choice([1, 3, 20])
        everything = sum(f.weight * f.index.get_scores(query) for f in one_by_one)
        for within in (None, some):
            found, scores = top(fields, query, m, within)
            np.testing.assert_array_equal(found, _ranked_by_sorting(one_by_one, query, m, within))
            np.testing.assert_array_equal(scores, everything[found])
    if variant == "plus":
        # BM25+ gives every document something for every word: every match is scored.
        assert ways == {"blocks": 0, "numpy": 120}
    else:
        assert ways == {"blocks": 120, "numpy": 0}


def test_frequencies_of_256_and_more_are_scored_in_numpy() -> None:
    docs = [["工会"] * 300 + ["职工"], ["工会", "职工"], ["职工"] * 3, ["发展"]]
    index = BM25.from_tokens(docs, BM25Params())
    assert index.segments[0].tfs.dtype == np.uint16 and not index.compiled
    index.warm()
    fields = [Field(index)]
    for query in (["工会"], ["职工", "工会"], ["发展", "职工"]):
        found, scores = top(fields, query, 2)
        np.testing.assert_array_equal(found, _ranked_by_sorting(fields, query, 2))
        np.testing.assert_array_equal(scores, index.get_scores(query)[found])
