"""Benchmark: synthetic corpora from the bundled corpus's sentences, through the real readers.

    python bench/bench.py --sizes 10000 100000 1000000

First, in a process of its own, the search's compiled loops are compiled once (numba
caches them, as the first run after installing does). Then for each size it writes speech
files to a scratch folder (200 paragraphs a file, each paragraph 2–5 random sentences of
the bundled corpus), then, each step in a fresh process so that memory and start-up are
the real ones:

- index: a full index from scratch (read, clean, tokenise on every core, store, build, save);
  its wall time, throughput in characters per second and peak RSS;
- serve: start-up from the persisted store to the first answer; then, after the
  background warm-up and one pass of other questions and phrases of the same kinds,
  search latency end to end (questions and keywords: analysis, scoring, top-k,
  snippets); phrase look-up latency
  (quoted phrases and pasted fragments, both looked up verbatim); peak RSS while serving;
  a reload after one changed file (until the new corpus serves) and the time its new
  segment then takes to reach the disk in the background;
- reference: on the same tokens, rank-bm25's get_scores (the scores of record) and bm25s,
  each one's query time, and the largest relative difference between our scores and
  rank-bm25's. Skipped with --no-reference (rank-bm25 needs minutes and gigabytes at 1M).

Not part of the test run. bm25s is optional (`pip install bm25s`).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PARAGRAPHS_PER_FILE = 200
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


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_anon_mb() -> float:
    """Resident memory that is the process's own, not pages of the mapped index files
    (which the kernel can drop and read again)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


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
    docs: Path, db: Path, queries: list[str], phrases: list[str], warm: list[str]
) -> dict:
    started = time.perf_counter()
    from retrieval.library import WARM_THREAD, Library

    library = Library.open(docs, db)
    library.engine.search(QUESTIONS[0])
    row: dict = {"startup_s": time.perf_counter() - started}
    engine = library.engine
    # Latency is measured in steady state, once the background warm-up is done.
    started = time.perf_counter()
    for thread in threading.enumerate():
        if thread.name == WARM_THREAD:
            thread.join()
    row["warm_up_s"] = time.perf_counter() - started
    # A server that has run a while has the index files it reads in the page cache; the
    # build that has just written them may have seen them evicted. Other questions of the
    # same kinds, not the measured ones, bring them back.
    for q in warm:
        engine.search(q)
    search = [timed(lambda q=q: engine.search(q, k=3)) for q in queries]
    row["search_median_ms"] = statistics.median(search)
    row["search_p99_ms"] = percentile(search, 0.99)
    phrase = [timed(lambda p=p: engine.search(p, k=3)) for p in phrases]
    row["phrase_median_ms"] = statistics.median(phrase)
    row["phrase_p99_ms"] = percentile(phrase, 0.99)
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


def step_reference(docs: Path, db: Path, queries: list[str]) -> dict:
    import numpy as np
    from rank_bm25 import BM25L

    from retrieval.index.build import token_source
    from retrieval.index.topk import Field, top
    from retrieval.library import Library

    library = Library.open(docs, db)
    snapshot = library.engine.snapshot
    with token_source(library.store, library.tokenizer) as source:
        tokens = source.tokens([row.text for row in snapshot.rows()])
    terms = [library.tokenizer.query_terms(q) for q in queries]
    ours = snapshot.text
    field = [Field(ours)]
    row = {
        "our_scores_median_ms": statistics.median(
            timed(lambda q=q: ours.get_scores(q)) for q in terms
        ),
        "our_top10_median_ms": statistics.median(
            timed(lambda q=q: top(field, q, 10)) for q in terms
        ),
    }
    p = ours.params
    reference = BM25L(tokens, k1=p.k1, b=p.b, delta=p.delta)
    sample = terms[:10]
    row["rank_bm25_scores_median_ms"] = statistics.median(
        timed(lambda q=q: reference.get_scores(q)) for q in sample
    )
    worst = 0.0
    for q in sample:
        # Ours scores every document id, the dead ones of a replaced file too.
        expected, got = reference.get_scores(q), ours.get_scores(q)[snapshot.live()]
        scale = np.maximum(np.abs(expected), 1e-300)
        worst = max(worst, float(np.max(np.abs(got - expected) / scale)))
    row["max_rel_diff_vs_rank_bm25"] = worst
    try:
        import bm25s
    except ImportError:
        row["bm25s_scores_median_ms"] = None
        return row
    started = time.perf_counter()
    retriever = bm25s.BM25(method="bm25l", k1=p.k1, b=p.b, delta=p.delta)
    retriever.index(tokens, show_progress=False)
    row["bm25s_index_s"] = time.perf_counter() - started
    row["bm25s_scores_median_ms"] = statistics.median(
        timed(lambda q=q: retriever.get_scores(q)) for q in terms
    )
    row["bm25s_top10_median_ms"] = statistics.median(
        timed(lambda q=q: retriever.retrieve([q], k=10, show_progress=False)) for q in terms
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


STEPS = {
    "compile": step_compile,
    "index": step_index,
    "serve": step_serve,
    "reference": step_reference,
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
    row = {"size": size}
    row |= run_step("index", docs, db)
    row |= run_step("serve", docs, db, queries, phrases, warm)
    if reference:
        row |= run_step("reference", docs, db, queries[40:80])
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000])
    parser.add_argument("--no-reference", action="store_true", help="skip rank-bm25 and bm25s")
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
