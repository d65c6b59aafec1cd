"""Benchmark: synthetic corpora from the bundled corpus's sentences, through the real readers.

    python bench/bench.py --sizes 10000 100000

For each size it writes speech files to a scratch folder, then measures: a full index from
scratch (parse, clean, tokenise, store, build), tokenisation throughput, start-up from the
persisted store to the first answer, search latency (median and p99 over questions and
pasted fragments), phrase look-up latency, a reload after one changed file, peak RSS — and,
on the same tokens, rank-bm25's get_scores (the scores of record) and bm25s when installed.
Not part of the test run.
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config import BUNDLED_CORPUS
from retrieval.index import tokens_for
from retrieval.library import Library
from retrieval.snippet import sentences
from retrieval.store import Store

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
    library = Library.open(BUNDLED_CORPUS, ":memory:")
    out = []
    for row in library.engine.snapshot.rows:
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


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn, repeat: int = 1) -> list[float]:
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def bench_size(size: int, pool: list[str], scratch: Path) -> dict:
    rng = random.Random(size)
    docs = scratch / f"corpus_{size}"
    write_corpus(docs, size, pool, rng)
    db = scratch / f"store_{size}.db"
    row: dict = {"paragraphs": size}

    started = time.perf_counter()
    library = Library(docs, Store(db))
    report = library.reload()
    row["index_s"] = time.perf_counter() - started
    chars = sum(len(r.text) for r in library.engine.snapshot.rows)

    fresh = Store(scratch / f"tok_{size}.db")
    texts = [r.text for r in library.engine.snapshot.rows[:5000]]
    took = timed(lambda: tokens_for(texts, fresh, library.tokenizer))[0] / 1000
    row["tokenise_chars_per_s"] = sum(map(len, texts)) / took

    started = time.perf_counter()
    restarted = Library.open(docs, db)
    restarted.engine.search(QUESTIONS[0])
    row["startup_s"] = time.perf_counter() - started
    engine = restarted.engine

    queries = QUESTIONS * 10 + [rng.choice(pool)[:12] for _ in range(40)]
    search = [t for q in queries for t in timed(lambda q=q: engine.search(q, k=3))]
    row["search_median_ms"] = statistics.median(search)
    row["search_p99_ms"] = percentile(search, 0.99)
    phrases = [f"“{rng.choice(pool)[2:10]}”" for _ in range(50)]
    phrase = [t for p in phrases for t in timed(lambda p=p: engine.search(p, k=3))]
    row["phrase_median_ms"] = statistics.median(phrase)

    tokens = tokens_for(
        [r.text for r in engine.snapshot.rows], restarted.store, restarted.tokenizer
    )
    terms = [restarted.tokenizer.query_terms(q) for q in queries[:40]]
    ours = [t for q in terms for t in timed(lambda q=q: engine.snapshot.text.get_scores(q))]
    row["our_bm25_median_ms"] = statistics.median(ours)
    from rank_bm25 import BM25L

    params = engine.snapshot.text.params
    reference = BM25L(tokens, k1=params.k1, b=params.b, delta=params.delta)
    ref = [t for q in terms[:10] for t in timed(lambda q=q: reference.get_scores(q))]
    row["rank_bm25_median_ms"] = statistics.median(ref)
    try:
        import bm25s

        retriever = bm25s.BM25(method="bm25l", k1=params.k1, b=params.b, delta=params.delta)
        retriever.index(tokens)
        got = [t for q in terms for t in timed(lambda q=q: retriever.get_scores(q))]
        row["bm25s_median_ms"] = statistics.median(got)
    except ImportError:
        row["bm25s_median_ms"] = None

    changed = sorted(docs.glob("*.txt"))[0]
    changed.write_text(changed.read_text(encoding="utf-8") + "新增的一段讲话内容。\n", "utf-8")
    started = time.perf_counter()
    restarted.reload()
    row["reload_one_file_s"] = time.perf_counter() - started
    row["peak_rss_mb"] = peak_rss_mb()
    row["chars"] = chars
    row["speeches"] = report.speeches
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000])
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args()
    pool = corpus_sentences()
    scratch = Path(tempfile.mkdtemp(prefix="speechbot-bench-"))
    try:
        rows = [bench_size(size, pool, scratch) for size in args.sizes]
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    keys = list(rows[0])
    print("| " + " | ".join(keys) + " |")
    print("|" + " --- |" * len(keys))
    for row in rows:
        cells = [f"{v:.3g}" if isinstance(v, float) else str(v) for v in row.values()]
        print("| " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
