"""Exact phrase look-up: the bigram index and the compiled check find exactly the
paragraphs whose comparison form contains the needle."""

import random

import numpy as np
import pytest

from retrieval.index import phrases
from retrieval.query.search import SearchEngine
from retrieval.text import normalize


@pytest.mark.parametrize(
    ("narrowing_ratio", "split_from"),
    [(phrases.NARROWING_RATIO, phrases.SPLIT_FROM), (0, phrases.SPLIT_FROM), (np.inf, 2)],
)
def test_containing_is_exactly_a_substring_search(
    engine: SearchEngine, narrowing_ratio: float, split_from: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 0: candidates from the rarest bigram alone; inf: from every bigram. A split from two
    # candidates on: the check shared between threads, as a common phrase's is.
    monkeypatch.setattr(phrases, "SPLIT_FROM", split_from)
    snap = engine.snapshot
    live = snap.live().tolist()
    flats = {doc: normalize(snap.row(doc).text) for doc in live}
    # The phrase index keeps each paragraph's comparison form (coverage reads it too).
    assert all(snap.flat_of(doc) == flat for doc, flat in flats.items())
    rng = random.Random(5)
    needles = ["工会", "职工群众", "全心全意依靠工人阶级", "2013", "不存在的短语", "会", "十三五"]
    for _ in range(150):
        flat = flats[rng.choice(live)]
        size = rng.randint(1, 12)
        start = rng.randrange(max(1, len(flat) - size))
        needles.append(flat[start : start + size])
    # Needles sharing every bigram with a paragraph that lacks them, and ones at its ends.
    needles += [flats[live[0]][:9], flats[live[-1]][-9:], "工会工会工会", "职工职工"]
    for needle in needles:
        want = [doc for doc in live if needle in flats[doc]]
        found = snap.containing(needle, narrowing_ratio)
        np.testing.assert_array_equal(found, want, err_msg=needle)
