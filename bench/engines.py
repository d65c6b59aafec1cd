"""Reference engines for bench/bench.py, measured on what speechbot indexed.

BM25 engines (tantivy, bm25s, rank-bm25) index speechbot's own jieba tokens of every live
paragraph and are asked speechbot's own query terms, so they differ from it in the engine
alone; their build times leave out tokenising, which speechbot's includes. Phrase engines
(tantivy over single characters, SQLite FTS5's trigram tokenizer) index the paragraphs in
the comparison form speechbot's phrase look-up searches (retrieval.text.normalize), so
every engine's count of a phrase must equal a substring scan, and each is checked against
one on a sample.

Each engine's build and queries run in one step (a process of its own), its start-up
(open the saved index, answer a first query) in a fresh one. tantivy and bm25s are
optional: without them their figures say so. Only speed and size are compared: tantivy and
bm25s score with Lucene's BM25, not rank-bm25's BM25L (speechbot's scores of record). The
comparison table of every engine, speechbot's included, is printed from here too.
"""

from __future__ import annotations

import importlib
import shutil
import sqlite3
import statistics
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from retrieval.library import Library

T = TypeVar("T")

NOT_INSTALLED = "not installed"
# Phrases whose counts are checked against a substring scan of every paragraph.
CHECKED_PHRASES = 20
# rank-bm25 scores every paragraph in Python: about 2 s a query at a million.
RANK_BM25_QUERIES = 10
# FTS5's trigram tokenizer finds nothing shorter than a trigram.
FTS5_SHORTEST = 3


def timings(fn: Callable[[T], object], items: Iterable[T]) -> list[float]:
    """Milliseconds each call takes, one call an item."""
    out = []
    for item in items:
        started = time.perf_counter()
        fn(item)
        out.append((time.perf_counter() - started) * 1000)
    return out


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def latency(name: str, values: Sequence[float], worst: bool = False) -> dict[str, float]:
    """Median and 99th percentile (and the worst) of per-query milliseconds."""
    out = {
        f"{name}_median_ms": statistics.median(values),
        f"{name}_p99_ms": percentile(values, 0.99),
    }
    if worst:
        out[f"{name}_worst_ms"] = max(values)
    return out


def optional(module: str) -> ModuleType | None:
    """An optional engine's module, None when it is not installed."""
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def folder_mb(path: Path) -> float:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files) / 1e6


def steady(library: Library) -> None:
    """Wait for the background warm-up: latency is measured in steady state."""
    from retrieval.library import WARM_THREAD

    library.load()
    for thread in threading.enumerate():
        if thread.name == WARM_THREAD:
            thread.join()


def library_at(docs: Path, db: Path) -> Library:
    """The library the index step built, warmed up."""
    from retrieval.library import Library

    library = Library.open(docs, db)
    steady(library)
    return library


def scratch(db: Path, engine: str) -> Path:
    """Where a reference engine keeps its index: beside the store, in the scratch folder."""
    return db.with_name(f"{db.stem}.{engine}")


# what every engine is asked ------------------------------------------------------------


@dataclass
class Words:
    """Speechbot's index terms of every live paragraph, and its terms of the questions."""

    tokens: list[list[str]]
    terms: list[list[str]]
    warm: list[list[str]]


@dataclass
class Phrases:
    """Every live paragraph in comparison form, and the phrases in that form."""

    flats: list[str]
    needles: list[str]
    warm: list[str]

    def mismatches(self, count: Callable[[str], int], needles: Sequence[str]) -> int:
        """How many of the first phrases an engine counts otherwise than a substring scan."""
        return sum(count(n) != sum(n in f for f in self.flats) for n in needles[:CHECKED_PHRASES])


def query_terms(library: Library, queries: Sequence[str]) -> list[list[str]]:
    """Terms of the questions that have any (a question of stop words alone asks nothing)."""
    terms = [library.tokenizer.query_terms(q) for q in queries]
    return [t for t in terms if t]


def words(library: Library, queries: Sequence[str], warm: Sequence[str]) -> Words:
    from retrieval.index.build import token_source

    # Through speechbot's own tokeniser: the very tokens its index holds.
    with token_source(library.tokenizer) as source:
        tokens = source.tokens([row.text for row in library.engine.snapshot.rows()])
    return Words(tokens, query_terms(library, queries), query_terms(library, warm))


def needles(phrases: Sequence[str]) -> list[str]:
    from retrieval.text import normalize

    return [n for n in map(normalize, phrases) if n]


def phrases_of(library: Library, quoted: Sequence[str], warm: Sequence[str]) -> Phrases:
    snapshot = library.engine.snapshot
    flats = [snapshot.flat_of(doc) for doc in snapshot.live().tolist()]
    return Phrases(flats, needles(quoted), needles(warm))


# tantivy -------------------------------------------------------------------------------

BODY = "body"


def _bm25_query(tantivy: Any, schema: Any, terms: list[str]) -> Any:
    """A disjunction of the terms, as BM25 scores a bag of words."""
    should = tantivy.Occur.Should
    return tantivy.Query.boolean_query(
        [(should, tantivy.Query.term_query(schema, BODY, t)) for t in terms]
    )


def _phrase_query(tantivy: Any, schema: Any, needle: str) -> Any:
    if len(needle) == 1:  # a phrase query wants two terms or more
        return tantivy.Query.term_query(schema, BODY, needle)
    return tantivy.Query.phrase_query(schema, BODY, list(needle))


def _tantivy_index(tantivy: Any, folder: Path, texts: Iterable[str], positions: bool) -> Any:
    """An index of space-separated tokens. The whitespace tokenizer keeps them as they
    are (no lower-casing, no splitting), so its terms are exactly the given ones."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    builder = tantivy.SchemaBuilder()
    option = "position" if positions else "freq"
    builder.add_text_field(BODY, tokenizer_name="whitespace", index_option=option)
    index = tantivy.Index(builder.build(), path=str(folder))
    writer = index.writer()
    for text in texts:
        writer.add_document(tantivy.Document(**{BODY: text}))
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    return index


def tantivy_bm25(docs: Path, db: Path, queries: list[str], warm: list[str]) -> dict:
    """BM25 top 10 over words: no positions, as speechbot's word postings have none."""
    tantivy = optional("tantivy")
    if tantivy is None:
        return {"tantivy": NOT_INSTALLED}
    work, folder = words(library_at(docs, db), queries, warm), scratch(db, "tantivy")
    started = time.perf_counter()
    index = _tantivy_index(tantivy, folder, (" ".join(t) for t in work.tokens), False)
    row: dict = {"tantivy_build_s": time.perf_counter() - started}
    row["tantivy_disk_mb"] = folder_mb(folder)
    searcher, schema = index.searcher(), index.schema

    def top10(terms: list[str]) -> None:
        # Without a count, tantivy may skip what cannot reach the top 10 (block-max WAND).
        searcher.search(_bm25_query(tantivy, schema, terms), limit=10, count=False)

    timings(top10, work.warm)
    return row | latency("tantivy_top10", timings(top10, work.terms))


def tantivy_phrases(docs: Path, db: Path, phrases: list[str], warm: list[str]) -> dict:
    """Exact phrase counts from single characters with their positions: the one way of
    cutting text into tokens whose phrase queries find phrases of any length (n-grams
    miss those shorter than n)."""
    tantivy = optional("tantivy")
    if tantivy is None:
        return {"tantivy_chars": NOT_INSTALLED}
    work = phrases_of(library_at(docs, db), phrases, warm)
    folder = scratch(db, "tantivy_chars")
    started = time.perf_counter()
    index = _tantivy_index(tantivy, folder, (" ".join(f) for f in work.flats), True)
    row: dict = {"tantivy_chars_build_s": time.perf_counter() - started}
    row["tantivy_chars_disk_mb"] = folder_mb(folder)
    searcher, schema = index.searcher(), index.schema

    def count(needle: str) -> int:
        return int(searcher.search(_phrase_query(tantivy, schema, needle), limit=1).count)

    timings(count, work.warm)
    row |= latency("tantivy_chars_phrase", timings(count, work.needles), worst=True)
    row["tantivy_chars_count_mismatches"] = work.mismatches(count, work.needles)
    return row


def _tantivy_startup(folder: Path, terms: list[str]) -> dict:
    started = time.perf_counter()
    tantivy = optional("tantivy")
    if tantivy is None:
        return {}
    index = tantivy.Index.open(str(folder))
    index.searcher().search(_bm25_query(tantivy, index.schema, terms), limit=10, count=False)
    return {"tantivy_startup_s": time.perf_counter() - started}


# SQLite FTS5 ---------------------------------------------------------------------------

FTS5_COUNT = "SELECT count(*) FROM phrases WHERE phrases MATCH ?"


def _fts5_count(db: sqlite3.Connection, needle: str) -> int:
    # A quoted string is a phrase: consecutive trigrams, so the needle as a substring.
    return int(db.execute(FTS5_COUNT, ['"' + needle.replace('"', '""') + '"']).fetchone()[0])


def fts5(docs: Path, db: Path, phrases: list[str], warm: list[str]) -> dict:
    """Contentless (content=''): the index alone, as speechbot's phrase index is set
    against it; case-sensitive, as a substring scan is. Merged into one b-tree and
    vacuumed, so its size is that of a finished index."""
    work, path = phrases_of(library_at(docs, db), phrases, warm), scratch(db, "fts5.db")
    path.unlink(missing_ok=True)
    started = time.perf_counter()
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=OFF")
    con.execute(
        "CREATE VIRTUAL TABLE phrases USING fts5("
        "flat, content='', tokenize='trigram case_sensitive 1')"
    )
    with con:
        con.executemany("INSERT INTO phrases(flat) VALUES (?)", ((f,) for f in work.flats))
    with con:
        con.execute("INSERT INTO phrases(phrases) VALUES ('optimize')")
    con.execute("VACUUM")
    row: dict = {"fts5_build_s": time.perf_counter() - started, "fts5_disk_mb": folder_mb(path)}
    usable = [n for n in work.needles if len(n) >= FTS5_SHORTEST]
    row["fts5_phrases_not_supported"] = len(work.needles) - len(usable)

    def count(needle: str) -> int:
        return _fts5_count(con, needle)

    timings(count, [n for n in work.warm if len(n) >= FTS5_SHORTEST])
    row |= latency("fts5_phrase", timings(count, usable), worst=True)
    row["fts5_count_mismatches"] = work.mismatches(count, usable)
    con.close()
    return row


def _fts5_startup(path: Path, needle: str) -> dict:
    started = time.perf_counter()
    _fts5_count(sqlite3.connect(path), needle)
    return {"fts5_startup_s": time.perf_counter() - started}


# bm25s ---------------------------------------------------------------------------------


def bm25s_engine(docs: Path, db: Path, queries: list[str], warm: list[str]) -> dict:
    """bm25s with its default method (Lucene's BM25), speechbot's k1 and b, and its numba
    backend, its fastest: compared for speed only. Its "bm25l" is not rank-bm25's BM25L
    either (no factor of the raw term frequency, and it subtracts a score for the terms a
    paragraph lacks), so no method of it gives speechbot's scores."""
    bm25s = optional("bm25s")
    if bm25s is None:
        return {"bm25s": NOT_INSTALLED}
    library = library_at(docs, db)
    work, folder, p = words(library, queries, warm), scratch(db, "bm25s"), library.params
    backend = "numba" if optional("numba") else "numpy"
    started = time.perf_counter()
    retriever = bm25s.BM25(k1=p.k1, b=p.b, backend=backend)
    retriever.index(work.tokens, show_progress=False)
    shutil.rmtree(folder, ignore_errors=True)
    retriever.save(str(folder), show_progress=False)
    row: dict = {"bm25s_build_s": time.perf_counter() - started, "bm25s_disk_mb": folder_mb(folder)}

    def top10(terms: list[str]) -> None:
        retriever.retrieve([terms], k=10, show_progress=False, n_threads=1)

    timings(top10, work.warm)
    row |= latency("bm25s_top10", timings(top10, work.terms))
    row["bm25s_scores_median_ms"] = statistics.median(timings(retriever.get_scores, work.terms))
    return row


def _bm25s_startup(folder: Path, terms: list[str]) -> dict:
    started = time.perf_counter()
    bm25s = optional("bm25s")
    if bm25s is None:
        return {}
    retriever = bm25s.BM25.load(str(folder), mmap=True)
    retriever.retrieve([terms], k=10, show_progress=False, n_threads=1)
    return {"bm25s_startup_s": time.perf_counter() - started}


def startup(docs: Path, db: Path, engine: str, first: str) -> dict:
    """A reference engine's saved index opened in a fresh process and asked a first
    question (`first`: a question, or for FTS5 a phrase). The engines under test take
    tokens: the question's are worked out before the clock starts, loading jieba is not
    theirs to pay."""
    if engine == "fts5":
        return _fts5_startup(scratch(db, "fts5.db"), needles([first])[0])
    from retrieval.index.tokenize import Tokenizer

    terms = Tokenizer().query_terms(first)
    start = {"tantivy": _tantivy_startup, "bm25s": _bm25s_startup}[engine]
    return start(scratch(db, engine), terms)


# rank-bm25 -----------------------------------------------------------------------------


def rank_bm25(docs: Path, db: Path, queries: list[str]) -> dict:
    """rank-bm25's BM25L, the scores of record: its top 10 (every score, then a sort), and
    the largest relative difference between speechbot's scores and its own. It keeps
    everything in memory: nothing on disk, no start-up but building it again."""
    import numpy as np
    from rank_bm25 import BM25L

    library = library_at(docs, db)
    work = words(library, queries[:RANK_BM25_QUERIES], [])
    snapshot = library.engine.snapshot
    p = snapshot.text.params
    started = time.perf_counter()
    reference = BM25L(work.tokens, k1=p.k1, b=p.b, delta=p.delta)
    row: dict = {"rank_bm25_build_s": time.perf_counter() - started}
    ids = list(range(len(work.tokens)))
    top10 = timings(lambda t: reference.get_top_n(t, ids, n=10), work.terms)
    row |= latency("rank_bm25_top10", top10)
    worst = 0.0
    for terms in work.terms:
        # Ours scores every document id, the dead ones of a replaced file too.
        expected = reference.get_scores(terms)
        got = snapshot.text.get_scores(terms)[snapshot.live()]
        scale = np.maximum(np.abs(expected), 1e-300)
        worst = max(worst, float(np.max(np.abs(got - expected) / scale)))
    row["max_rel_diff_vs_rank_bm25"] = worst
    return row


STEPS: dict[str, Callable[..., dict]] = {
    "rank_bm25": rank_bm25,
    "tantivy": tantivy_bm25,
    "tantivy_chars": tantivy_phrases,
    "fts5": fts5,
    "bm25s": bm25s_engine,
    "startup": startup,
}


# the comparison ------------------------------------------------------------------------

# Each column's keys, by what they measure; an engine's keys for them below.
COLUMNS = (
    ("index on disk, MB", ("disk",)),
    ("build, s", ("build",)),
    ("start-up, s", ("startup",)),
    ("BM25 top 10 median / p99, ms", ("top10_median", "top10_p99")),
    ("phrase median / p99 / worst, ms", ("phrase_median", "phrase_p99", "phrase_worst")),
    ("answer median / p99, ms", ("answer_median", "answer_p99")),
    ("answers/s", ("answers",)),
)
SPEECHBOT = {
    "disk": "disk_index_mb",
    "build": "index_s",
    "startup": "startup_s",
    "top10_median": "our_top10_median_ms",
    "top10_p99": "our_top10_p99_ms",
    "phrase_median": "our_phrase_count_median_ms",
    "phrase_p99": "our_phrase_count_p99_ms",
    "phrase_worst": "our_phrase_count_worst_ms",
    "answer_median": "answer_median_ms",
    "answer_p99": "answer_p99_ms",
    "answers": "answers_per_s",
}
# Reference engines: name, prefix of their keys, whether they rank by BM25 or count phrases.
REFERENCES = (
    ("tantivy, words", "tantivy", "top10"),
    ("tantivy, characters", "tantivy_chars", "phrase"),
    ("SQLite FTS5 trigram", "fts5", "phrase"),
    ("bm25s", "bm25s", "top10"),
    ("rank-bm25 BM25L", "rank_bm25", "top10"),
)


def reference_keys(prefix: str, does: str) -> dict[str, str]:
    keys = {"disk": f"{prefix}_disk_mb", "build": f"{prefix}_build_s"}
    keys["startup"] = f"{prefix}_startup_s"
    if does == "top10":
        keys |= {"top10_median": f"{prefix}_top10_median_ms", "top10_p99": f"{prefix}_top10_p99_ms"}
    else:
        for stat in ("median", "p99", "worst"):
            keys[f"phrase_{stat}"] = f"{prefix}_phrase_{stat}_ms"
    return keys


def shown(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.0f}" if value >= 1000 else f"{value:.3g}"
    return "—" if value is None else str(value)


NOTES = """
Build: speechbot's is the whole index (read, clean, tokenise with jieba, store, build,
save); the others index speechbot's tokens, or texts in comparison form. Start-up:
speechbot's to its first full answer (imports, jieba, the saved index); the others' open
their saved index and answer a first query (bm25s's includes compiling its numba loops).
Phrases: the exact count of the paragraphs holding each. Answers: speechbot's full answer
path (`speechbot search --json`'s work), one process, a fresh mix of searches and phrases.
rank-bm25: build in memory, top 10 of its first 10 queries only (p99 is their worst)."""


def print_comparison(row: dict, reference: bool) -> None:
    """Engines down, measures across, for one corpus size. A dash: not what the engine
    does (tantivy's word index counts no phrases, rank-bm25 keeps nothing on disk)."""
    print(f"\n{row['size']:,} paragraphs")
    print("| engine | " + " | ".join(title for title, _ in COLUMNS) + " |")
    print("|---" * (len(COLUMNS) + 1) + "|")
    skipped = None if reference else "skipped (--no-reference)"
    # A status instead of figures: skipped, or not installed (then the engine's only key).
    engines = [("speechbot", SPEECHBOT, None)] + [
        (name, reference_keys(prefix, does), skipped or row.get(prefix))
        for name, prefix, does in REFERENCES
    ]
    for name, keys, status in engines:
        if status:
            cells = [str(status)] + ["—"] * (len(COLUMNS) - 1)
        else:
            cells = [" / ".join(shown(row.get(keys.get(k, ""))) for k in ks) for _, ks in COLUMNS]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print(NOTES)
    mismatches = {k: v for k, v in row.items() if k.endswith("_count_mismatches")}
    print(f"Phrase counts unlike a substring scan (of {CHECKED_PHRASES}): {mismatches}")
    if "fts5_phrases_not_supported" in row:
        print(f"Phrases under 3 characters (FTS5 cannot): {row['fts5_phrases_not_supported']}")
    print(
        "speechbot on disk, MB: index folder {disk_index_mb:.3g} (word postings"
        " {disk_index_postings_mb:.3g}, context postings {disk_index_context_postings_mb:.3g},"
        " phrase index {disk_index_phrase_index_mb:.3g}, texts {disk_index_text_mb:.3g},"
        " other {disk_index_other_mb:.3g}); SQLite store {disk_store_mb:.3g} (paragraphs"
        " {disk_store_paragraphs_mb:.3g}, free pages"
        " {disk_store_free_mb:.3g}) and its write-ahead log {disk_store_wal_mb:.3g}".format(**row)
    )
