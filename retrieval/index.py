"""An immutable index snapshot built from the store: BM25 over paragraphs and their context."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from retrieval.bm25 import BM25, BM25Params
from retrieval.query import normalize
from retrieval.store import ParagraphRow, SpeechRow, Store
from retrieval.tokenize import Tokenizer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Snapshot:
    """Everything a search needs, never changed after it is built (a reload makes a new one).

    `text` scores the paragraph itself; `context` scores what the paragraph stands under —
    its section heading, its speech's title and congress — so that a question naming a
    congress or a section finds the paragraphs of that speech or section.
    """

    rows: tuple[ParagraphRow, ...]
    speeches: dict[str, SpeechRow]
    text: BM25
    context: BM25
    flat: tuple[str, ...]
    built_at: float

    def __len__(self) -> int:
        return len(self.rows)


def context_of(row: ParagraphRow, speech: SpeechRow) -> str:
    return " ".join(part for part in (row.heading, speech.title, speech.event) if part)


def tokens_for(texts: list[str], store: Store, tokenizer: Tokenizer) -> list[list[str]]:
    """Tokens through the per-content cache, so a reload re-tokenises only new text."""
    keys = [tokenizer.cache_key(t) for t in texts]
    cached = store.cached_tokens(sorted(set(keys)))
    fresh: dict[str, str] = {}
    out: list[list[str]] = []
    for key, text in zip(keys, texts, strict=True):
        joined = cached.get(key)
        if joined is None:
            joined = fresh.get(key)
        if joined is None:
            joined = " ".join(tokenizer.tokens(text))
            fresh[key] = joined
        out.append(joined.split())
    store.cache_tokens(fresh)
    return out


def build_snapshot(store: Store, tokenizer: Tokenizer, params: BM25Params) -> Snapshot:
    started = time.perf_counter()
    speeches = {s.id: s for s in store.speeches()}
    rows = tuple(store.all_paragraphs())
    texts = tokens_for([r.text for r in rows], store, tokenizer)
    contexts = tokens_for([context_of(r, speeches[r.speech_id]) for r in rows], store, tokenizer)
    snapshot = Snapshot(
        rows=rows,
        speeches=speeches,
        text=BM25.from_tokens(texts, params),
        context=BM25.from_tokens(contexts, params),
        flat=tuple(normalize(r.text) for r in rows),
        built_at=time.time(),
    )
    log.info(
        "index: %d paragraphs of %d speeches in %.2fs",
        len(rows),
        len(speeches),
        time.perf_counter() - started,
    )
    return snapshot
