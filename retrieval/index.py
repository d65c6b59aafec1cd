"""An immutable index snapshot built from the store: BM25 over paragraphs and their context.

Paragraphs are read from the store in chunks and become numpy arrays and text columns, so a
million of them fit in memory and the whole snapshot can be saved (persist.py) and mapped
back at start-up without re-reading or re-tokenising anything.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing import get_context
from typing import ClassVar

import numpy as np

from retrieval.arrays import Runs
from retrieval.bm25 import BM25, BM25Params, postings_of
from retrieval.columns import TextColumn, TextColumnBuilder
from retrieval.phrases import PhraseIndex
from retrieval.query import normalize
from retrieval.store import ParagraphRow, SpeechRow, Store
from retrieval.tokenize import Tokenizer, tokenize_batch

log = logging.getLogger(__name__)

CHUNK_ROWS = 20_000
# Below this many texts to tokenise, starting worker processes costs more than it saves.
PARALLEL_MIN_TEXTS = 4_000
BATCH_TEXTS = 1_000


@dataclass(frozen=True)
class Snapshot:
    """Everything a search needs, never changed after it is built (a reload makes a new one).

    `text` scores the paragraph itself; `context` scores what the paragraph stands under —
    its section heading, its speech's title and congress — so that a question naming a
    congress or a section finds the paragraphs of that speech or section. Per paragraph
    (a document id is its position): `columns` holds rowid, speech, n, heading, damaged.
    """

    fingerprint: str
    speeches: dict[str, SpeechRow]
    speech_ids: tuple[str, ...]
    headings: tuple[str, ...]
    columns: dict[str, np.ndarray]
    texts: TextColumn
    text: BM25
    context: BM25
    phrases: PhraseIndex

    def __len__(self) -> int:
        return len(self.texts)

    def row(self, doc: int) -> ParagraphRow:
        c = self.columns
        return ParagraphRow(
            rowid=int(c["rowid"][doc]),
            speech_id=self.speech_ids[int(c["speech"][doc])],
            n=int(c["n"][doc]),
            heading=self.headings[int(c["heading"][doc])],
            text=self.texts[doc],
            damaged=bool(c["damaged"][doc]),
        )

    def rows(self) -> Iterator[ParagraphRow]:
        return (self.row(doc) for doc in range(len(self)))

    def context_text(self, doc: int) -> str:
        c = self.columns
        speech = self.speeches[self.speech_ids[int(c["speech"][doc])]]
        return context_of(self.headings[int(c["heading"][doc])], speech)


def context_of(heading: str, speech: SpeechRow) -> str:
    return " ".join(part for part in (heading, speech.title, speech.event) if part)


class TokenSource:
    """Tokens through the per-content cache, so a reload re-tokenises only new text.

    A big batch of new text is spread over worker processes (one per core); the pool is
    started on first need and lives as long as the build.
    """

    def __init__(self, store: Store, tokenizer: Tokenizer) -> None:
        self.store = store
        self.tokenizer = tokenizer
        self._pool: ProcessPoolExecutor | None = None
        self._parallel = True

    def tokens(self, texts: list[str]) -> list[list[str]]:
        keys = [self.tokenizer.cache_key(t) for t in texts]
        known = self.store.cached_tokens(sorted(set(keys)))
        missing = {k: t for k, t in zip(keys, texts, strict=True) if k not in known}
        fresh = dict(zip(missing, self._tokenize(list(missing.values())), strict=True))
        self.store.cache_tokens(fresh)
        known |= fresh
        return [known[k].split() for k in keys]

    def _tokenize(self, texts: list[str]) -> list[str]:
        workers = os.cpu_count() or 1
        if len(texts) < PARALLEL_MIN_TEXTS or workers < 2 or not self._parallel:
            return [" ".join(self.tokenizer.tokens(t)) for t in texts]
        if self._pool is None:
            # Spawned, not forked: the bot's event loop and reload threads are running.
            self._pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn"))
        batches = [texts[i : i + BATCH_TEXTS] for i in range(0, len(texts), BATCH_TEXTS)]
        modes = [self.tokenizer.search_mode] * len(batches)
        try:
            done = list(self._pool.map(tokenize_batch, modes, batches))
        except BrokenProcessPool:
            log.warning("index: tokeniser workers died; tokenising here")
            self.close()
            self._parallel = False
            return self._tokenize(texts)
        return [joined for batch in done for joined in batch]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None


@contextmanager
def token_source(store: Store, tokenizer: Tokenizer) -> Iterator[TokenSource]:
    source = TokenSource(store, tokenizer)
    try:
        yield source
    finally:
        source.close()


class _Postings:
    """The postings of each chunk of documents, merged into one index at the end."""

    def __init__(self) -> None:
        self.vocab: dict[str, int] = {}
        self.parts: list[Runs] = []
        self.lengths: list[np.ndarray] = []
        self.docs = 0

    def add(self, docs: list[list[str]]) -> None:
        vocab = self.vocab
        ids = np.asarray(
            [vocab.setdefault(term, len(vocab)) for doc in docs for term in doc], dtype=np.int64
        )
        lengths = np.fromiter(map(len, docs), dtype=np.int64, count=len(docs))
        self.parts.append(postings_of(ids, lengths, self.docs))
        self.lengths.append(lengths)
        self.docs += len(docs)

    def build(self, params: BM25Params) -> BM25:
        lengths = np.concatenate(self.lengths) if self.lengths else np.zeros(0, dtype=np.int64)
        index = BM25.from_runs(list(self.vocab), self.parts, lengths, params)
        self.parts.clear()
        return index


class _Columns:
    """The per-paragraph columns, gathered chunk by chunk."""

    NAMES: ClassVar = {"rowid": np.int64, "speech": np.int32, "n": np.int32, "heading": np.int32}

    def __init__(self, speech_ids: tuple[str, ...], headings: tuple[str, ...] = ()) -> None:
        self.speech_index = {sid: i for i, sid in enumerate(speech_ids)}
        self.headings = {h: i for i, h in enumerate(headings)}
        self.values: dict[str, list] = {k: [] for k in [*self.NAMES, "damaged"]}

    def add(self, rows: list[ParagraphRow]) -> None:
        v = self.values
        v["rowid"] += [r.rowid for r in rows]
        v["speech"] += [self.speech_index[r.speech_id] for r in rows]
        v["n"] += [r.n for r in rows]
        v["heading"] += [self.headings.setdefault(r.heading, len(self.headings)) for r in rows]
        v["damaged"] += [r.damaged for r in rows]

    def arrays(self) -> dict[str, np.ndarray]:
        out = {k: np.asarray(self.values[k], dtype=t) for k, t in self.NAMES.items()}
        out["damaged"] = np.asarray(self.values["damaged"], dtype=bool)
        return out


def _speeches(store: Store) -> dict[str, SpeechRow]:
    return {s.id: s for s in store.speeches()}


def _contexts(rows: list[ParagraphRow], speeches: dict[str, SpeechRow]) -> list[str]:
    return [context_of(r.heading, speeches[r.speech_id]) for r in rows]


def build_snapshot(
    store: Store, tokenizer: Tokenizer, params: BM25Params, fingerprint: str = ""
) -> Snapshot:
    started = time.perf_counter()
    speeches = _speeches(store)
    columns = _Columns(tuple(speeches))
    texts, flats = TextColumnBuilder(), TextColumnBuilder()
    grams: list[Runs] = []
    text, context = _Postings(), _Postings()
    with token_source(store, tokenizer) as source:
        for rows in store.paragraph_chunks(CHUNK_ROWS):
            first = len(columns.values["rowid"])
            columns.add(rows)
            plain = [r.text for r in rows]
            flat = [normalize(t) for t in plain]
            texts.add(plain)
            flats.add(flat)
            grams.append(PhraseIndex.chunk_postings(flat, first))
            text.add(source.tokens(plain))
            context.add(source.tokens(_contexts(rows, speeches)))
    # One index at a time, each dropping its chunks, so they are never all in memory twice.
    phrases = PhraseIndex.from_chunks(flats.build(), grams)
    grams.clear()
    text_index = text.build(params)
    context_index = context.build(params)
    snapshot = Snapshot(
        fingerprint=fingerprint,
        speeches=speeches,
        speech_ids=tuple(speeches),
        headings=tuple(columns.headings),
        columns=columns.arrays(),
        texts=texts.build(),
        text=text_index,
        context=context_index,
        phrases=phrases,
    )
    log.info(
        "index: %d paragraphs of %d speeches in %.2fs",
        len(snapshot),
        len(speeches),
        time.perf_counter() - started,
    )
    return snapshot


def update_snapshot(
    old: Snapshot, store: Store, tokenizer: Tokenizer, sources: set[str], fingerprint: str
) -> Snapshot:
    """`old` without the paragraphs of `sources`, then their paragraphs as the store has them.

    The result equals a full build: documents are in rowid order in both, and a replaced
    file's paragraphs get new, higher rowids. Only the new text is read and tokenised.
    """
    started = time.perf_counter()
    speeches = _speeches(store)
    speech_ids = tuple(speeches)
    stale = np.array(
        [sid not in speeches or old.speeches[sid].source in sources for sid in old.speech_ids],
        dtype=bool,
    )
    keep = ~stale[old.columns["speech"]] if len(old) else np.zeros(0, dtype=bool)
    rows = store.paragraphs_of_sources(sorted(sources))
    columns = _Columns(speech_ids, old.headings)
    columns.add(rows)
    added = columns.arrays()
    position = {sid: i for i, sid in enumerate(speech_ids)}
    remap = np.array([position.get(sid, -1) for sid in old.speech_ids], dtype=np.int32)
    kept = {k: v[keep] for k, v in old.columns.items()}
    kept["speech"] = remap[kept["speech"]]
    plain = [r.text for r in rows]
    with token_source(store, tokenizer) as source:
        text_tokens = source.tokens(plain)
        context_tokens = source.tokens(_contexts(rows, speeches))
    snapshot = Snapshot(
        fingerprint=fingerprint,
        speeches=speeches,
        speech_ids=speech_ids,
        headings=tuple(columns.headings),
        columns={k: np.concatenate([kept[k], added[k]]) for k in kept},
        texts=TextColumn.concat([old.texts.take(keep), TextColumn.from_texts(plain)]),
        text=old.text.updated(keep, text_tokens),
        context=old.context.updated(keep, context_tokens),
        phrases=old.phrases.updated(keep, [normalize(t) for t in plain]),
    )
    log.info(
        "index: kept %d paragraphs, added %d, in %.2fs",
        int(keep.sum()),
        len(rows),
        time.perf_counter() - started,
    )
    return snapshot
