"""Helpers shared by the index tests: small corpora written from the bundled speeches, and
the check that two snapshots hold and find the same."""

import random
from pathlib import Path

import numpy as np

from bot.config import BUNDLED_CORPUS
from retrieval.index.snapshot import Snapshot

SPEECH = "在测试市工会第{n}次代表大会上的讲话\n\n一、总体要求\n\n{body}\n\n二、工作安排\n\n{more}\n"


def _corpus_sentences() -> list[str]:
    text = next(BUNDLED_CORPUS.iterdir()).read_text(encoding="utf-8")
    return [s + "。" for s in text.split("。") if 8 < len(s) < 80 and "(" not in s]


def write_speeches(folder: Path, count: int, seed: int) -> None:
    rng = random.Random(seed)
    pool = _corpus_sentences()
    folder.mkdir(exist_ok=True)
    for n in range(count):
        body = "".join(rng.sample(pool, 3))
        more = "".join(rng.sample(pool, 2))
        (folder / f"s{n:03d}.txt").write_text(
            SPEECH.format(n=n + 1, body=body, more=more), encoding="utf-8"
        )


def _rowids(snapshot: Snapshot, docs: np.ndarray) -> list[int]:
    return [snapshot.row(int(d)).rowid for d in docs]


def assert_same(a: Snapshot, b: Snapshot) -> None:
    """The same live paragraphs, scored and found alike (document ids may differ)."""
    assert len(a) == len(b)
    assert list(a.rows()) == list(b.rows())
    assert [a.context_text(int(d)) for d in a.live()] == [b.context_text(int(d)) for d in b.live()]
    for ours, theirs in zip(a.fields(), b.fields(), strict=True):
        for term in set(ours.index.terms) | set(theirs.index.terms):
            assert ours.index.doc_freq(term) == theirs.index.doc_freq(term), term
            if not theirs.index.doc_freq(term):
                continue
            assert ours.index.term_idf(term) == theirs.index.term_idf(term)
            (our_docs, our_weights), (their_docs, their_weights) = (
                ours.postings(term),
                theirs.postings(term),
            )
            assert _rowids(a, our_docs) == _rowids(b, their_docs)
            np.testing.assert_array_equal(our_weights, their_weights)
    for needle in ("工会", "职工群众", "代表大会", "全心全意", "不存在的短语"):
        assert _rowids(a, a.containing(needle)) == _rowids(b, b.containing(needle))
