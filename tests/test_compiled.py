"""The numpy paths (numba not installed, or SPEECHBOT_NUMBA=0) answer exactly as the
compiled loops do."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval import load_queries
from retrieval.index import compiled
from retrieval.index.snapshot import Snapshot
from retrieval.query.search import SearchEngine

DATA = Path(__file__).parent / "data"
QUERIES = [
    q.query for name in ("dev-queries", "staff-tune") for q in load_queries(DATA / f"{name}.jsonl")
]


def _twin(engine: SearchEngine) -> SearchEngine:
    """The same snapshot, its indexes built anew with the compiled loops switched off."""
    snap = engine.snapshot
    with compiled.disabled():
        plain = Snapshot(snap.fingerprint, snap.speeches, snap.segments, snap.dead, snap.params)
        assert not plain.text.compiled
        return SearchEngine(plain, engine.tokenizer, engine.ranking)


@pytest.mark.skipif(not compiled.enabled(), reason="numba is not installed")
def test_numpy_top_k_equals_the_compiled_one(engine: SearchEngine) -> None:
    assert engine.snapshot.text.compiled
    plain = _twin(engine)
    with compiled.disabled():
        for query in QUERIES:
            fast, slow = engine.search(query, k=10), plain.search(query, k=10)
            assert fast.confidence == slow.confidence, query
            assert [(h.speech_id, h.paragraph) for h in fast.hits] == [
                (h.speech_id, h.paragraph) for h in slow.hits
            ], query
            assert [h.score for h in fast.hits] == pytest.approx([h.score for h in slow.hits])


@pytest.mark.skipif(not compiled.enabled(), reason="numba is not installed")
@pytest.mark.parametrize("needle", ["工会", "职工之家", "识大体顾大局", "劳动竞赛", "没有的短语"])
def test_numpy_phrase_check_equals_the_compiled_one(engine: SearchEngine, needle: str) -> None:
    snap = engine.snapshot
    fast = snap.containing(needle)
    with compiled.disabled():
        assert snap.containing(needle).tolist() == fast.tolist()
