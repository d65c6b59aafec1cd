"""Building a snapshot: tokens from the store (or its cache), postings and columns a chunk
of paragraphs at a time, one segment for a full build, one more for a reload's files.

Exactness-critical: an updated snapshot must equal a fresh build (tests/test_index_update.py).
"""

from __future__ import annotations

import logging
import os
import shutil
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import ClassVar

import numpy as np

from retrieval.index import persist
from retrieval.index.arrays import Runs, spilled
from retrieval.index.bm25 import BM25Params
from retrieval.index.columns import NpyWriter, TextColumnWriter
from retrieval.index.phrases import PhraseIndex
from retrieval.index.postings import Postings, narrowest, postings_of
from retrieval.index.snapshot import Segment, Snapshot, context_of
from retrieval.index.tokenize import Tokenizer, tokenize_batch
from retrieval.model import ParagraphRow, SpeechRow
from retrieval.store import Store
from retrieval.text import normalize
from retrieval.workers import worker_pool

log = logging.getLogger(__name__)

CHUNK_ROWS = 20_000
# Below this many texts to tokenise, starting worker processes costs more than it saves.
PARALLEL_MIN_TEXTS = 4_000
BATCH_TEXTS = 1_000


class TokenSource:
    """The index terms of texts. A big batch is spread over worker processes (one per
    core); the pool is started on first need and lives as long as the build.

    Tokens are not cached: a reload tokenises only the paragraphs of the files that
    changed, and only a full rebuild (a new index format, a damaged index) would read a
    cache — which took as much disk as the texts themselves (docs/scale.md).
    """

    def __init__(self, tokenizer: Tokenizer) -> None:
        self.tokenizer = tokenizer
        self._pool: ProcessPoolExecutor | None = None
        self._parallel = True

    def tokens(self, texts: list[str]) -> list[list[str]]:
        return self.later(texts)()

    def later(self, texts: list[str]) -> Callable[[], list[list[str]]]:
        """The texts' terms when called: a big batch is sent to the workers now, so the
        caller's own work on the texts meanwhile costs no time (a tenth of a full build)."""
        workers = os.cpu_count() or 1
        if len(texts) < PARALLEL_MIN_TEXTS or workers < 2 or not self._parallel:
            return lambda: [" ".join(self.tokenizer.tokens(t)).split() for t in texts]
        if self._pool is None:
            self._pool = worker_pool(workers)
        pool, mode = self._pool, self.tokenizer.search_mode
        batches = [texts[i : i + BATCH_TEXTS] for i in range(0, len(texts), BATCH_TEXTS)]
        try:
            futures = [pool.submit(tokenize_batch, mode, batch) for batch in batches]
        except BrokenProcessPool:
            return self._alone(texts)

        def collect() -> list[list[str]]:
            try:
                return [joined.split() for f in futures for joined in f.result()]
            except BrokenProcessPool:
                return self._alone(texts)()

        return collect

    def _alone(self, texts: list[str]) -> Callable[[], list[list[str]]]:
        log.warning("index: tokeniser workers died; tokenising here")
        self.close()
        self._parallel = False
        return self.later(texts)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None


@contextmanager
def token_source(tokenizer: Tokenizer) -> Iterator[TokenSource]:
    source = TokenSource(tokenizer)
    try:
        yield source
    finally:
        source.close()


class _Postings:
    """The postings of each chunk of documents, merged into one segment at the end."""

    def __init__(self, terms: list[str], spill_to: Path) -> None:
        self.vocab: dict[str, int] = {term: i for i, term in enumerate(terms)}
        self._spill_to = spill_to
        self.parts: list[Runs] = []
        self.lengths: list[np.ndarray] = []
        self.docs = 0

    def add(self, docs: list[list[str]]) -> None:
        vocab = self.vocab
        ids = np.asarray(
            [vocab.setdefault(term, len(vocab)) for doc in docs for term in doc], dtype=np.int64
        )
        lengths = np.fromiter(map(len, docs), dtype=np.int64, count=len(docs))
        part = postings_of(ids, lengths, self.docs)
        # Frequencies in the narrowest type: 3 bytes a posting less to hold.
        docs_of, tfs = (np.asarray(v) for v in part.values)
        tfs = tfs.astype(narrowest(int(tfs.max(initial=0))))
        self.parts.append(self.spill(Runs(part.keys, part.counts, (docs_of, tfs))))
        self.lengths.append(lengths)
        self.docs += len(docs)

    def spill(self, part: Runs) -> Runs:
        """Each chunk's postings wait for the merge in files: a million paragraphs' are
        450 MB, and with the merged arrays beside them they made the build's peak."""
        return spilled(part, self._spill_to)

    def build(self) -> Postings:
        lengths = np.concatenate(self.lengths) if self.lengths else np.zeros(0, dtype=np.int64)
        postings = Postings.from_runs(list(self.vocab), self.parts, lengths, self.spill)
        self.parts.clear()
        return postings


class _Columns:
    """The per-paragraph columns, gathered chunk by chunk."""

    NAMES: ClassVar = {
        "rowid": np.int64,
        "speech": np.int32,
        "n": np.int32,
        "heading": np.int32,
        "damaged": bool,
    }

    def __init__(self, speech_ids: tuple[str, ...], headings: tuple[str, ...] = ()) -> None:
        self.speech_index = {sid: i for i, sid in enumerate(speech_ids)}
        self.headings = {h: i for i, h in enumerate(headings)}
        # Arrays a chunk, not lists of Python ints: a million paragraphs' lists cost 100 MB.
        self.parts: dict[str, list[np.ndarray]] = {k: [] for k in self.NAMES}
        self.size = 0

    def add(self, rows: list[ParagraphRow]) -> None:
        headings = self.headings
        values = {
            "rowid": [r.rowid for r in rows],
            "speech": [self.speech_index[r.speech_id] for r in rows],
            "n": [r.n for r in rows],
            "heading": [headings.setdefault(r.heading, len(headings)) for r in rows],
            "damaged": [r.damaged for r in rows],
        }
        for name, kind in self.NAMES.items():
            self.parts[name].append(np.asarray(values[name], dtype=kind))
        self.size += len(rows)

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            k: np.concatenate(self.parts[k]) if self.parts[k] else np.zeros(0, dtype=t)
            for k, t in self.NAMES.items()
        }


def _speeches(store: Store) -> dict[str, SpeechRow]:
    return {s.id: s for s in store.speeches()}


def _contexts(rows: list[ParagraphRow], speeches: dict[str, SpeechRow]) -> list[str]:
    return [context_of(r.heading, speeches[r.speech_id]) for r in rows]


def build_segment(
    chunks: Iterable[list[ParagraphRow]],
    speeches: dict[str, SpeechRow],
    source: TokenSource,
    key: str,
    after: Segment | None = None,
    *,
    folder: Path,
) -> Segment:
    """One segment from paragraphs in rowid order; its vocabulary extends `after`'s.

    The big arrays — the texts, their comparison form, the bigram postings — go to files
    in `folder` as the chunks come, and are read back from there as a saved snapshot's
    are: a million paragraphs' (1.7 GB) are never in memory."""
    columns = _Columns(tuple(speeches))
    texts = TextColumnWriter(folder / "text_data.npy", persist.open_array)
    flats = TextColumnWriter(folder / "flat_data.npy", persist.open_array)
    grams: list[Runs] = []
    text = _Postings(after.text.terms if after else [], folder / "text")
    context = _Postings(after.context.terms if after else [], folder / "context")
    context_starts: list[int] = []
    previous: ParagraphRow | None = None
    for rows in chunks:
        plain = [r.text for r in rows]
        terms = source.later(plain)
        first = columns.size
        columns.add(rows)
        flat = [normalize(t) for t in plain]
        texts.add(plain)
        flats.add(flat)
        grams.append(spilled(PhraseIndex.chunk_postings(flat, first), folder / "grams"))
        text.add(terms())
        starts = _section_starts(rows, previous)
        previous = rows[-1] if rows else previous
        context_starts += [first + i for i in starts]
        context.add(source.tokens(_contexts([rows[i] for i in starts], speeches)))
    # One index at a time, each dropping its chunks, so they are never all in memory twice.
    gram_docs = NpyWriter(folder / "gram_docs.npy", np.uint32)
    phrases = PhraseIndex.written(flats.build(), grams, gram_docs, persist.open_array)
    grams.clear()
    text_postings = text.build()
    context_postings = context.build()
    return Segment(
        key=key,
        speech_ids=tuple(speeches),
        headings=tuple(columns.headings),
        columns=columns.arrays(),
        texts=texts.build(),
        text=text_postings,
        context=context_postings,
        context_starts=np.asarray([*context_starts, columns.size], dtype=np.int64),
        phrases=phrases,
    )


def _section_starts(rows: list[ParagraphRow], previous: ParagraphRow | None) -> list[int]:
    """Which rows begin a run of paragraphs of one speech and heading (`previous` is the
    row before the first)."""
    starts = []
    for i, row in enumerate(rows):
        if previous is None or (row.speech_id, row.heading) != (
            previous.speech_id,
            previous.heading,
        ):
            starts.append(i)
        previous = row
    return starts


def _in_folder(root: Path | None, build: Callable[..., Segment]) -> Segment:
    """A segment built in a folder of its own (persist.build_folder), removed once nothing
    reads it: a saved segment's folder holds its files under links of its own."""
    with persist.build_folder(root) as folder:
        try:
            segment = build(folder=folder)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
    weakref.finalize(segment, shutil.rmtree, folder, True)
    return segment


def build_snapshot(
    store: Store,
    tokenizer: Tokenizer,
    params: BM25Params,
    fingerprint: str = "",
    root: Path | None = None,
) -> Snapshot:
    """The whole store as one segment, built in the index folder `root` (see
    persist.build_folder), or in a temporary one."""
    started = time.perf_counter()
    speeches = _speeches(store)
    with token_source(tokenizer) as source:
        chunks = store.paragraph_chunks(CHUNK_ROWS)
        segment = _in_folder(root, partial(build_segment, chunks, speeches, source, fingerprint))
    snapshot = Snapshot(fingerprint, speeches, (segment,), np.zeros(len(segment), bool), params)
    log.info(
        "index: %d paragraphs of %d speeches in %.2fs",
        len(snapshot),
        len(speeches),
        time.perf_counter() - started,
    )
    return snapshot


def update_snapshot(
    old: Snapshot,
    store: Store,
    tokenizer: Tokenizer,
    sources: set[str],
    fingerprint: str,
    root: Path | None = None,
) -> Snapshot:
    """`old` with the paragraphs of `sources` marked dead and a segment of their paragraphs
    as the store now has them. Only the new text is read and tokenised.

    The result scores and orders exactly as a full build would: the store writes a
    replaced file's paragraphs with rowids above all others, so the live documents stay
    in rowid order across segments.
    """
    started = time.perf_counter()
    speeches = _speeches(store)
    dead = []
    for seg in old.segments:
        stale = np.array(
            [sid not in speeches or old.speeches[sid].source in sources for sid in seg.speech_ids],
            dtype=bool,
        )
        dead.append(stale[seg.columns["speech"]] if len(seg) else np.zeros(0, dtype=bool))
    segments = old.segments
    rows = store.paragraphs_of_sources(sorted(sources))
    if rows:
        with token_source(tokenizer) as source:
            last = old.segments[-1]
            build = partial(build_segment, [rows], speeches, source, fingerprint, last)
            added = _in_folder(root, build)
        segments += (added,)
        dead.append(np.zeros(len(added), dtype=bool))
    marked = np.concatenate(dead)
    marked[: len(old.dead)] |= old.dead
    snapshot = Snapshot(fingerprint, speeches, segments, marked, old.params)
    log.info(
        "index: %d paragraphs live, %d added, in %.2fs",
        len(snapshot),
        len(rows),
        time.perf_counter() - started,
    )
    return snapshot
