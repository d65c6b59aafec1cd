"""The machinery that makes a big corpus fast must give exactly what the simple way gives:
an updated snapshot equals a fresh build, a saved one equals the one saved, pruned top-k
equals sorting every score, parallel work equals serial work."""

import random
import shutil
from pathlib import Path

import numpy as np
import pytest

from bot.config import BUNDLED_CORPUS
from retrieval.index import build as index
from retrieval.index import persist, topk
from retrieval.index.bm25 import BM25, BM25Params
from retrieval.index.build import build_snapshot, token_source
from retrieval.index.columns import DiskArray
from retrieval.index.postings import Postings
from retrieval.index.snapshot import Snapshot
from retrieval.index.topk import Field, matched_docs, top
from retrieval.ingest import sync as corpus
from retrieval.library import Library
from retrieval.query.ranking import Ranking
from retrieval.query.search import SearchEngine
from retrieval.store import Store

SPEECH = "在测试市工会第{n}次代表大会上的讲话\n\n一、总体要求\n\n{body}\n\n二、工作安排\n\n{more}\n"


def _corpus_sentences() -> list[str]:
    text = next(BUNDLED_CORPUS.iterdir()).read_text(encoding="utf-8")
    return [s + "。" for s in text.split("。") if 8 < len(s) < 80 and "(" not in s]


def _write_speeches(folder: Path, count: int, seed: int) -> None:
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


def _assert_same(a: Snapshot, b: Snapshot) -> None:
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


@pytest.mark.parametrize("kept_maxima_df", [BM25Params().kept_maxima_df, 0.0, np.inf])
def test_an_updated_snapshot_equals_a_fresh_build(tmp_path: Path, kept_maxima_df: float) -> None:
    # Block bounds from kept maxima for every word (0), for none (inf), across segments
    # and dead documents.
    docs = tmp_path / "corpus"
    _write_speeches(docs, 16, seed=1)
    params = BM25Params(kept_maxima_df=kept_maxima_df)
    library = Library(docs, Store(tmp_path / "s.db"), params=params)
    library.reload()
    (docs / "s001.txt").unlink()
    _write_speeches(tmp_path / "other", 20, seed=2)
    shutil.copy(tmp_path / "other" / "s003.txt", docs / "s003.txt")
    shutil.copy(tmp_path / "other" / "s017.txt", docs / "s017.txt")
    report = library.reload()
    assert report.removed == ["s001.txt"]
    assert report.changed == ["s003.txt"] and report.added == ["s017.txt"]
    updated = library.engine.snapshot
    assert len(updated.segments) == 2 and updated.dead.any()
    fresh = build_snapshot(library.store, library.tokenizer, library.params)
    _assert_same(updated, fresh)
    tokenizer = library.tokenizer
    for question in ("全心全意为职工服务", "工会工作怎么做", "“代表大会”", "职工群众"):
        got = SearchEngine(updated, tokenizer).search(question, k=10)
        want = SearchEngine(fresh, tokenizer).search(question, k=10)
        assert got.hits == want.hits and got.phrase_count == want.phrase_count
    (docs / "s017.txt").unlink()  # its paragraphs live in the newer segment
    library.reload()
    assert library.engine.snapshot.dead[len(updated.segments[0]) :].any()
    _assert_same(library.engine.snapshot, build_snapshot(library.store, tokenizer, library.params))


def test_start_up_maps_the_saved_snapshot_without_tokenising(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = tmp_path / "corpus"
    _write_speeches(docs, 3, seed=3)
    first = Library.open(docs, tmp_path / "s.db")
    built = first.engine.snapshot
    first.wait_saved()
    assert (tmp_path / "s.db.index" / built.fingerprint / "meta.json").is_file()

    def no_tokenising(*_: object) -> None:
        raise AssertionError("start-up must not tokenise")

    monkeypatch.setattr(index.TokenSource, "tokens", no_tokenising)
    monkeypatch.setattr(persist, "MAP_BYTES", 0)
    again = Library.open(docs, tmp_path / "s.db")
    loaded = again.engine.snapshot
    segment = loaded.segments[0]
    assert not segment.text.doc_ids.flags.writeable  # mapped from disk, read-only
    assert isinstance(segment.texts.data, DiskArray)  # read a text at a time
    assert isinstance(segment.phrases.docs, DiskArray)
    _assert_same(loaded, built)
    assert (
        again.engine.search("全心全意为职工服务").hits
        == first.engine.search("全心全意为职工服务").hits
    )


def test_a_damaged_saved_snapshot_is_built_again(tmp_path: Path) -> None:
    docs = tmp_path / "corpus"
    _write_speeches(docs, 2, seed=4)
    first = Library.open(docs, tmp_path / "s.db")
    first.wait_saved()
    folder = tmp_path / "s.db.index" / first.engine.snapshot.fingerprint
    (folder / "meta.json").write_text("{", encoding="utf-8")
    library = Library.open(docs, tmp_path / "s.db")
    assert len(library.engine.snapshot) == library.store.counts()[1]


def test_reloads_keep_only_the_snapshot_in_use(tmp_path: Path) -> None:
    docs = tmp_path / "corpus"
    _write_speeches(docs, 2, seed=5)
    library = Library.open(docs, tmp_path / "s.db")
    _write_speeches(docs, 3, seed=6)
    library.reload()
    library.wait_saved()
    root = tmp_path / "s.db.index"
    snapshot = library.engine.snapshot
    assert sorted(f.name for f in root.iterdir()) == [snapshot.fingerprint, "segments"]
    assert sorted(f.name for f in (root / "segments").iterdir()) == sorted(
        s.key for s in snapshot.segments
    )


def test_parsing_and_tokenising_on_every_core_give_the_serial_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = tmp_path / "corpus"
    _write_speeches(docs, corpus.PARALLEL_MIN_FILES + 2, seed=7)
    serial = Library(docs, Store(tmp_path / "serial.db"))
    monkeypatch.setattr(corpus, "PARALLEL_MIN_FILES", 10**9)
    monkeypatch.setattr(index, "PARALLEL_MIN_TEXTS", 10**9)
    serial.reload()
    monkeypatch.undo()
    monkeypatch.setattr(index, "PARALLEL_MIN_TEXTS", 10)
    monkeypatch.setattr(index, "BATCH_TEXTS", 7)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    parallel = Library(docs, Store(tmp_path / "parallel.db"))
    parallel.reload()
    _assert_same(parallel.engine.snapshot, serial.engine.snapshot)


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


def test_tokens_come_from_the_cache_once_computed(tmp_path: Path) -> None:
    library = Library.open(BUNDLED_CORPUS, tmp_path / "s.db")
    texts = [row.text for row in library.engine.snapshot.rows()][:20]
    with token_source(library.store, library.tokenizer) as source:
        first = source.tokens(texts)
    cached = library.store.cached_tokens([library.tokenizer.cache_key(t) for t in texts])
    assert len(cached) == len(set(texts))
    assert first == [cached[library.tokenizer.cache_key(t)].split() for t in texts]


def test_keywords_found_by_checking_the_best_first_as_by_checking_all(
    engine: SearchEngine,
) -> None:
    keywords = ["工会", "职工之家", "劳模精神", "四季送", "代表大会", "工会工作", "娘家人", "职工"]
    # Keywords whose query words are split otherwise in the text (各位代 → 代): few or no
    # paragraphs match a word, and those holding the keyword come by id.
    keywords += ["各位代", "作在全", "局的高"]
    # Quoted phrases and pasted fragments: the best of the paragraphs holding them.
    keywords += ["“工会”", "“各位代”", "“职工群众”", "全心全意依靠工人阶级"]
    checked_all = {k: engine.search(k, k=8) for k in keywords}
    best_first = SearchEngine(engine.snapshot, engine.tokenizer, Ranking(check_all=0))
    for keyword in keywords:
        got, want = best_first.search(keyword, k=8), checked_all[keyword]
        assert got.hits == want.hits and got.phrase_count == want.phrase_count, keyword
        if want.phrase_count:
            assert len(got.hits) == min(8, want.phrase_count), keyword


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
