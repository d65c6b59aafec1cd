"""Our inverted-index BM25 must give rank-bm25's scores, the scores of record."""

import random

import numpy as np
import pytest
from rank_bm25 import BM25L, BM25Okapi, BM25Plus

from retrieval.index.bm25 import BM25, BM25Params
from retrieval.index.postings import Postings

REFERENCE = {"plus": BM25Plus, "l": BM25L}


def _corpus(seed: int, docs: int, vocab: int) -> list[list[str]]:
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(vocab)]
    # A few very common words, so Okapi's negative-IDF flooring is exercised.
    common = ["工会", "职工", "发展"]
    return [
        rng.choices(words, k=rng.randint(0, 40)) + rng.sample(common, k=rng.randint(0, 3))
        for _ in range(docs)
    ]


@pytest.mark.parametrize("variant", ["okapi", "plus", "l"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_scores_equal_rank_bm25(variant: str, seed: int) -> None:
    docs = _corpus(seed, docs=300, vocab=400)
    params = BM25Params(variant=variant, delta=1.0 if variant == "plus" else 0.5)
    reference = _reference(docs, params)
    ours = BM25.from_tokens(docs, params)
    rng = random.Random(seed + 100)
    vocab = sorted({w for d in docs for w in d})
    for _ in range(30):
        query = rng.choices(vocab, k=rng.randint(1, 6)) + rng.choice([[], ["unseen"], ["工会"]])
        expected = reference.get_scores(query)
        got = ours.get_scores(query)
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)


def _reference(docs: list[list[str]], params: BM25Params) -> BM25Okapi | BM25L | BM25Plus:
    if params.variant == "okapi":
        return BM25Okapi(docs, k1=params.k1, b=params.b, epsilon=params.epsilon)
    return REFERENCE[params.variant](docs, k1=params.k1, b=params.b, delta=params.delta)


@pytest.mark.parametrize("variant", ["okapi", "plus", "l"])
def test_a_group_scores_as_each_of_its_documents_would(variant: str) -> None:
    """A section's context is indexed once for all its paragraphs (a dead one's for none)."""
    rng = random.Random(7)
    groups = _corpus(7, docs=60, vocab=80)
    sizes = [rng.choice([0, 1, 2, 5, 9]) for _ in groups]
    params = BM25Params(variant=variant)
    grouped = BM25([Postings.from_tokens(groups)], params, np.array(sizes))
    each = [group for group, size in zip(groups, sizes, strict=True) for _ in range(size)]
    reference = _reference(each, params)
    owner = np.repeat(np.arange(len(groups)), sizes)
    vocab = sorted({w for d in groups for w in d})
    for _ in range(30):
        query = rng.choices(vocab, k=rng.randint(1, 6))
        expected = reference.get_scores(query)
        np.testing.assert_allclose(grouped.get_scores(query)[owner], expected, rtol=1e-9)
        assert grouped.doc_freq(query[0]) == sum(query[0] in d for d in each)


def test_term_in_half_the_documents_gets_zero_idf_in_okapi() -> None:
    docs = [["工会", "a"], ["工会", "b"], ["c"], ["d"]]
    okapi = BM25.from_tokens(docs, BM25Params(variant="okapi"))
    assert okapi.term_idf("工会") == 0.0
    plus = BM25.from_tokens(docs, BM25Params(variant="plus"))
    assert plus.term_idf("工会") > 0


def test_scores_of_the_chosen_variant_on_the_bundled_corpus(
    snapshot_tokens: list[list[str]],
) -> None:
    params = BM25Params()
    reference = REFERENCE[params.variant](
        snapshot_tokens, k1=params.k1, b=params.b, delta=params.delta
    )
    ours = BM25.from_tokens(snapshot_tokens, params)
    for query in (["工会", "职工"], ["娘家人"], ["劳动", "竞赛", "劳动竞赛"], ["没有这个词"]):
        np.testing.assert_allclose(ours.get_scores(query), reference.get_scores(query), rtol=1e-9)
