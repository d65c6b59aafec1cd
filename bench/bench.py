"""Benchmark: synthetic corpora from the bundled corpus's sentences, through the real readers.

    python bench/bench.py --sizes 10000 100000 1000000

First, in a process of its own, the search's compiled loops are compiled once (numba
caches them, as the first run after installing does). Then for each size it writes speech
files to a scratch folder (200 paragraphs a file, each paragraph 2–5 random sentences of
the bundled corpus), then, each step in a fresh process so that memory and start-up are
the real ones:

- index: a full index from scratch (read, clean, tokenise on every core, store, build, save);
  its wall time, throughput in characters per second and peak RSS; then the disk it takes,
  the index folder by component and the SQLite store by table;
- serve: start-up from the persisted store to the first answer; then, after the
  background warm-up and one pass of other questions and phrases of the same kinds,
  search latency end to end (questions and keywords: analysis, scoring, top-k,
  snippets); phrase look-up latency
  (quoted phrases and pasted fragments, both looked up verbatim); the full answer path
  (`speechbot search --json`'s work: Library.search and the JSON) over a fresh mix of
  both, and answers a second; peak RSS while serving;
  a reload after one changed file (until the new corpus serves) and the time its new
  segment then takes to reach the disk in the background;
- engine: the engine alone, as the reference engines are measured: BM25 top 10 of the
  question terms, and the exact count of the paragraphs holding each phrase, checked
  against a substring scan;
- reference (bench/engines.py): on the same tokens, tantivy (BM25 top 10; exact phrases
  from single characters with positions), SQLite FTS5 with the trigram tokenizer (exact
  phrases), bm25s and rank-bm25 (the scores of record: ours are compared with its),
  each one's build time, disk, start-up in a fresh process and latency. Skipped with
  --no-reference (rank-bm25 needs minutes and gigabytes at 1M).

A table comparing the engines closes each run. Not part of the test run. tantivy and
bm25s are optional (`pip install -e '.[bench]'`); without them their rows say so.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import engines
from engines import folder_mb, latency, library_at, steady, timings

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PARAGRAPHS_PER_FILE = 200
# As many passages an answer as the bot and the command line give by default.
ANSWER_K = 3
QUESTIONS = [
    "工会工作的立身之本是什么？",
    "劳动关系矛盾应该在哪里化解？",
    "怎样维护职工的民主政治权益？",
    "职工文化和企业发展有什么关系？",
    "四季送",
    "女职工关爱行动",
    "明天会下雨吗",
    "哈尔滨市工会第十七次代表大会讲了什么",
]


def corpus_sentences() -> list[str]:
    from bot.config import BUNDLED_CORPUS
    from retrieval.library import Library
    from retrieval.query.snippet import sentences

    library = Library.open(BUNDLED_CORPUS, ":memory:")
    out = []
    for row in library.engine.snapshot.rows():
        out += [row.text[s:e] for s, e in sentences(row.text) if e - s > 8]
    return out


def write_corpus(folder: Path, paragraphs: int, pool: list[str], rng: random.Random) -> None:
    folder.mkdir(parents=True)
    for start in range(0, paragraphs, PARAGRAPHS_PER_FILE):
        count = min(PARAGRAPHS_PER_FILE, paragraphs - start)
        body = ["".join(rng.sample(pool, rng.randint(2, 5))) for _ in range(count)]
        title = f"在第{start // PARAGRAPHS_PER_FILE + 1}号工会代表大会上的讲话"
        (folder / f"speech_{start:08d}.txt").write_text(
            "\n".join([title, *body]) + "\n", encoding="utf-8"
        )


def query_sets(pool: list[str], rng: random.Random) -> tuple[list[str], list[str]]:
    """Searches (questions and keywords) and phrase look-ups (quoted or pasted text).

    Questions: the fixed ones, and pieces of corpus sentences asked about (…是什么？), so
    their words vary; keywords: 3–4 characters of a sentence. Phrases: quoted pieces, and
    pasted fragments (12 characters, no question words), both looked up verbatim.
    """

    def piece(lo: int, hi: int) -> str:
        sentence = rng.choice(pool).rstrip("。！？；")
        size = rng.randint(lo, hi)
        start = rng.randint(0, max(0, len(sentence) - size))
        return sentence[start : start + size]

    questions = QUESTIONS * 5 + [f"{piece(4, 10)}是什么？" for _ in range(120)]
    keywords = [piece(3, 4) for _ in range(40)]
    phrases = [f"“{piece(4, 10)}”" for _ in range(60)] + [piece(12, 12) for _ in range(60)]
    return questions + keywords, phrases


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_anon_mb() -> float:
    """Resident memory that is the process's own, not pages of the mapped index files
    (which the kernel can drop and read again)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# disk ----------------------------------------------------------------------------------

# Saved arrays by the start of their names (persist._save_segment): the first that fits.
INDEX_PARTS = (
    ("postings", ("bm25_text_",)),
    ("context_postings", ("bm25_context_", "context_starts")),
    ("phrase_index", ("flat_", "grams", "gram_")),
    ("text", ("text_",)),
)


def index_part(name: str) -> str:
    """Columns, the dead-document mask, meta.json and checksums.json are `other`."""
    return next((part for part, heads in INDEX_PARTS if name.startswith(heads)), "other")


def disk_usage(db: Path) -> dict:
    """The index folder beside the store by component, and the store by table (the token
    cache, kept so that a reload re-tokenises only new text, is a table of its own)."""
    parts = dict.fromkeys([*(p for p, _ in INDEX_PARTS), "other"], 0)
    index = db.with_name(db.name + ".index")
    for path in index.rglob("*"):
        if path.is_file():
            parts[index_part(path.name)] += path.stat().st_size
    row = {f"disk_index_{part}_mb": size / 1e6 for part, size in parts.items()}
    row["disk_index_mb"] = folder_mb(index)
    row["disk_store_mb"] = folder_mb(db)
    # The write-ahead log goes only when the last connection closes (a checkpoint reuses
    # it at the size it reached): a process that ends without closing leaves it behind.
    wal = db.with_name(db.name + "-wal")
    row["disk_store_wal_mb"] = folder_mb(wal) if wal.exists() else 0.0
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        tables = con.execute(
            "SELECT s.tbl_name, sum(d.pgsize) FROM dbstat d JOIN sqlite_schema s"
            " ON d.name = s.name GROUP BY s.tbl_name"
        ).fetchall()
        free = con.execute("PRAGMA freelist_count").fetchone()[0]
        page = con.execute("PRAGMA page_size").fetchone()[0]
    for table, size in tables:
        if table == "paragraphs":
            row["disk_store_paragraphs_mb"] = size / 1e6
    row["disk_store_free_mb"] = free * page / 1e6
    return row


# steps, each run in its own process ----------------------------------------------------


def step_index(docs: Path, db: Path) -> dict:
    from retrieval.library import Library
    from retrieval.store import Store

    started = time.perf_counter()
    library = Library(docs, Store(db))
    report = library.reload()
    library.wait_saved()
    took = time.perf_counter() - started
    chars = sum(len(r.text) for r in library.engine.snapshot.rows())
    return {
        "paragraphs": report.paragraphs,
        "index_s": took,
        "index_chars_per_s": chars / took,
        "index_peak_rss_mb": peak_rss_mb(),
    }


def step_serve(
    docs: Path,
    db: Path,
    queries: list[str],
    phrases: list[str],
    warm: list[str],
    answers: list[str],
) -> dict:
    started = time.perf_counter()
    from retrieval.library import Library

    library = Library.open(docs, db)
    library.engine.search(QUESTIONS[0])
    row: dict = {"startup_s": time.perf_counter() - started}
    from bot.cli import answer_json  # the answer's JSON, as `search --json` prints it

    engine = library.engine
    started = time.perf_counter()
    steady(library)
    row["warm_up_s"] = time.perf_counter() - started
    # A server that has run a while has the index files it reads in the page cache; the
    # build that has just written them may have seen them evicted. Other questions of the
    # same kinds, not the measured ones, bring them back.
    for q in warm:
        engine.search(q)
    row |= latency("search", timings(lambda q: engine.search(q, k=ANSWER_K), queries))
    row |= latency("phrase", timings(lambda p: engine.search(p, k=ANSWER_K), phrases))

    # Questions not asked before: the tokenizer and the bigram counts remember what was.
    def answer(question: str) -> None:
        json.dumps(answer_json(library.search(question, k=ANSWER_K)), ensure_ascii=False)

    started = time.perf_counter()
    row |= latency("answer", timings(answer, answers))
    row["answers_per_s"] = len(answers) / (time.perf_counter() - started)
    row["serve_peak_rss_mb"] = peak_rss_mb()
    row["serve_rss_anon_mb"] = rss_anon_mb()
    changed = sorted(docs.glob("*.txt"))[0]
    changed.write_text(changed.read_text(encoding="utf-8") + "新增的一段讲话内容。\n", "utf-8")
    started = time.perf_counter()
    library.reload()
    row["reload_one_file_s"] = time.perf_counter() - started
    started = time.perf_counter()
    library.wait_saved()
    row["save_after_reload_s"] = time.perf_counter() - started
    row["reload_peak_rss_mb"] = peak_rss_mb()
    return row


def step_engine(
    docs: Path, db: Path, queries: list[str], phrases: list[str], warm: list[str]
) -> dict:
    """Our engine as the reference engines are measured: the top 10 of the question terms
    over the paragraphs' words, and the exact count of the paragraphs holding a phrase."""
    from retrieval.index.topk import Field, top

    library = library_at(docs, db)
    snapshot = library.engine.snapshot
    terms = engines.query_terms(library, queries)
    work = engines.phrases_of(library, phrases, warm)
    field = [Field(snapshot.text)]
    for q in engines.query_terms(library, warm):
        top(field, q, 10)
    for needle in work.warm:
        snapshot.containing(needle)
    row = {"our_scores_median_ms": statistics.median(timings(snapshot.text.get_scores, terms))}
    row |= latency("our_top10", timings(lambda q: top(field, q, 10), terms))
    counts = timings(snapshot.containing, work.needles)
    row |= latency("our_phrase_count", counts, worst=True)
    row["our_phrase_count_mismatches"] = work.mismatches(
        lambda n: len(snapshot.containing(n)), work.needles
    )
    return row


def step_compile() -> dict:
    """The search's compiled loops, compiled once (numba caches them beside the source, as
    a first run after installing does): start-up is then measured as every later one."""
    from retrieval.index import phrases, pruning

    started = time.perf_counter()
    pruning.warm()
    phrases.warm()
    return {"compile_s": time.perf_counter() - started}


STEPS: dict[str, Callable[..., dict]] = {
    "compile": step_compile,
    "index": step_index,
    "serve": step_serve,
    "engine": step_engine,
    **engines.STEPS,
}


def run_step(name: str, *args: object) -> dict:
    """One step in a fresh interpreter; its result comes back as JSON on stdout."""
    payload = json.dumps([name, [str(a) if isinstance(a, Path) else a for a in args]])
    done = subprocess.run(
        [sys.executable, __file__, "--step", payload], capture_output=True, text=True
    )
    if done.returncode:
        raise SystemExit(f"step {name} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_size(size: int, pool: list[str], scratch: Path, reference: bool) -> dict:
    rng = random.Random(size)
    docs = scratch / f"corpus_{size}"
    write_corpus(docs, size, pool, rng)
    db = scratch / f"store_{size}.db"
    queries, phrases = query_sets(pool, rng)
    other_queries, other_phrases = query_sets(pool, random.Random(size + 1))
    warm = other_queries + other_phrases
    fresh_queries, fresh_phrases = query_sets(pool, random.Random(size + 2))
    answers = fresh_queries + fresh_phrases
    random.Random(size).shuffle(answers)
    row: dict = {"size": size}
    row |= run_step("index", docs, db)
    row |= disk_usage(db)
    row |= run_step("serve", docs, db, queries, phrases, warm, answers)
    # The fixed questions once each: the engines remember nothing between queries.
    distinct = queries[len(QUESTIONS) * 4 :]
    row |= run_step("engine", docs, db, distinct, phrases, warm)
    if not reference:
        return row
    row |= run_step("rank_bm25", docs, db, distinct)
    row |= run_step("tantivy", docs, db, distinct, other_queries)
    if "tantivy_disk_mb" in row:
        row |= run_step("startup", docs, db, "tantivy", QUESTIONS[0])
    row |= run_step("tantivy_chars", docs, db, phrases, other_phrases)
    row |= run_step("fts5", docs, db, phrases, other_phrases)
    row |= run_step("startup", docs, db, "fts5", QUESTIONS[4])
    row |= run_step("bm25s", docs, db, distinct, other_queries)
    if "bm25s_disk_mb" in row:
        row |= run_step("startup", docs, db, "bm25s", QUESTIONS[0])
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000])
    parser.add_argument(
        "--no-reference", action="store_true", help="skip tantivy, FTS5, bm25s and rank-bm25"
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        name, step_args = json.loads(args.step)
        paths = [Path(a) if isinstance(a, str) else a for a in step_args[:2]]
        print(json.dumps(STEPS[name](*paths, *step_args[2:])))
        return 0
    pool = corpus_sentences()
    scratch = Path(tempfile.mkdtemp(prefix="speechbot-bench-"))
    print(json.dumps(run_step("compile")), flush=True)
    rows = []
    try:
        for size in args.sizes:
            rows.append(bench_size(size, pool, scratch, not args.no_reference))
            print(json.dumps(rows[-1]), flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    print_table(rows)
    for row in rows:
        engines.print_comparison(row, not args.no_reference)
    return 0


def print_table(rows: list[dict]) -> None:
    """Measures down, sizes across, as the README shows them."""
    print("| measure | " + " | ".join(f"{r['size']:,}" for r in rows) + " |")
    print("|---" * (len(rows) + 1) + "|")
    for key in rows[0] if rows else []:
        cells = [r.get(key) for r in rows]
        shown = [f"{c:.3g}" if isinstance(c, float) else str(c) for c in cells]
        print(f"| {key} | " + " | ".join(shown) + " |")


if __name__ == "__main__":
    sys.exit(main())
