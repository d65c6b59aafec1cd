"""The corpus as a service: a store, the files behind it, and the engine serving now.

A reload parses changed files into the store and builds a new snapshot; only then is the
engine reference swapped, in one assignment. Searches hold the engine they started with, so
an answer in flight finishes on the old snapshot, and a failed reload changes nothing.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from retrieval.bm25 import BM25Params
from retrieval.corpus import Progress, sync
from retrieval.index import build_snapshot
from retrieval.model import IndexReport
from retrieval.search import Ranking, SearchEngine
from retrieval.store import Store
from retrieval.tokenize import Tokenizer

log = logging.getLogger(__name__)


class Library:
    def __init__(
        self,
        corpus_dir: Path,
        store: Store,
        tokenizer: Tokenizer | None = None,
        params: BM25Params | None = None,
        ranking: Ranking | None = None,
    ) -> None:
        self.corpus_dir = Path(corpus_dir)
        self.store = store
        self.tokenizer = tokenizer or Tokenizer()
        self.params = params or BM25Params()
        self.ranking = ranking or Ranking()
        self._reload_lock = threading.Lock()
        self._engine: SearchEngine | None = None

    @classmethod
    def open(cls, corpus_dir: Path, store_path: Path | str, **kwargs: object) -> Library:
        """Open the store; index the corpus first when the store is still empty."""
        library = cls(Path(corpus_dir), Store(store_path), **kwargs)  # type: ignore[arg-type]
        if not library.store.sources():
            library.reload()
        return library

    @property
    def engine(self) -> SearchEngine:
        engine = self._engine
        if engine is None:
            with self._reload_lock:
                if self._engine is None:
                    self._engine = self._build()
                engine = self._engine
        return engine

    def _build(self) -> SearchEngine:
        self.tokenizer.warm()
        snapshot = build_snapshot(self.store, self.tokenizer, self.params)
        return SearchEngine(snapshot, self.tokenizer, self.ranking)

    @property
    def reloading(self) -> bool:
        return self._reload_lock.locked()

    def reload(self, progress: Progress | None = None) -> IndexReport:
        """Sync the store with the files, build a new snapshot, swap it in. Blocking.

        Two reloads never interleave: the second waits for the first.
        """
        built: list[SearchEngine] = []
        with self._reload_lock:
            report = sync(
                self.corpus_dir, self.store, progress, lambda: built.append(self._build())
            )
            self._engine = built[0]
        log.info(
            "reload: +%d ~%d -%d files, %d speeches, %d paragraphs in %.2fs",
            len(report.added),
            len(report.changed),
            len(report.removed),
            report.speeches,
            report.paragraphs,
            report.seconds,
        )
        return report
