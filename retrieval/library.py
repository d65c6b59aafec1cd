"""The corpus as a service: a store, the files behind it, and the engine serving now.

A reload parses changed files into the store and builds a new snapshot; only then is the
engine reference swapped, in one assignment. Searches hold the engine they started with, so
an answer in flight finishes on the old snapshot, and a failed reload changes nothing.
This is the one class callers use (retrieval.__all__); what it is made of stays inside.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path

from retrieval.index import persist, phrases, pruning
from retrieval.index.bm25 import BM25Params
from retrieval.index.build import build_snapshot, update_snapshot
from retrieval.index.snapshot import Snapshot
from retrieval.index.tokenize import Tokenizer
from retrieval.ingest.clean import damaged_spans
from retrieval.ingest.files import (
    check_file,
    free_name,
    refusing_full_disk,
    safe_name,
    trashed,
    written,
)
from retrieval.ingest.sync import Parsed, Progress, require_corpus, sync
from retrieval.model import Answer, IndexReport, ParagraphRow, SpeechRow
from retrieval.outline import Outline, citation, outline_of
from retrieval.query.cues import load as load_cues
from retrieval.query.ranking import Ranking
from retrieval.query.restore import mends
from retrieval.query.search import SearchEngine
from retrieval.store import Store

log = logging.getLogger(__name__)

# The thread that prepares a new snapshot for questions (see _warm).
WARM_THREAD = "warm-index"
# From this many paragraphs on, the search's compiled loops are compiled in advance.
COMPILE_IN_ADVANCE = 20_000


def _warm(engine: SearchEngine) -> None:
    """Work out the block maxima of the text's common terms (bm25.BM25.maxima) and the
    sounds of the corpus's words (typos, query/spelling.py), and for a big corpus compile
    the search's loops (or load them from numba's cache). A small corpus seldom needs them;
    a short command would exit before a compile done here finished, and one done when
    needed is then cached.

    Then what is alive — the snapshot, the tokenizer's dictionary — stays alive until the
    next reload: it is moved out of the garbage collector's way, so that a full collection
    during a question walks only what questions made (on a big corpus, 20–50 ms less)."""
    snapshot = engine.snapshot
    if len(snapshot) >= COMPILE_IN_ADVANCE:
        pruning.warm()
        phrases.warm()
    snapshot.text.warm()
    engine.lexicon.pinyin  # noqa: B018 - built now, not by the first question with a typo
    gc.freeze()


class UnknownSpeech(KeyError):
    """No speech has that id."""


@dataclass(frozen=True)
class AddedFile:
    """A file added to the corpus: its name there, the reload, its speeches (id, title)."""

    name: str
    report: IndexReport
    speeches: list[tuple[str, str]]


# Damaged paragraphs a damage report reads at the most (each costs a phrase look-up or two).
DAMAGE_REPORT_LIMIT = 1_000


@dataclass
class DamageReport:
    mended: list[tuple[str, int, str, str]] = field(default_factory=list)
    marked: list[tuple[str, int, str]] = field(default_factory=list)


@dataclass(frozen=True)
class CorpusStats:
    speeches: int
    paragraphs: int
    damaged: int


class Library:
    def __init__(
        self,
        corpus_dir: Path,
        store: Store | Path | str,
        tokenizer: Tokenizer | None = None,
        params: BM25Params | None = None,
        ranking: Ranking | None = None,
    ) -> None:
        self.corpus_dir = Path(corpus_dir)
        self.store = store if isinstance(store, Store) else Store(store)
        self.tokenizer = tokenizer or Tokenizer()
        self.params = params or BM25Params()
        self.ranking = ranking or Ranking()
        self._reload_lock = threading.Lock()
        self._engine: SearchEngine | None = None
        self._save_lock = threading.Lock()
        self._saver: threading.Thread | None = None

    @classmethod
    def open(cls, corpus_dir: Path, store_path: Path | str, **kwargs: object) -> Library:
        """Open the store; index the corpus first when the store is still empty."""
        library = cls(Path(corpus_dir), store_path, **kwargs)  # type: ignore[arg-type]
        if not library.store.sources():
            library.reload()
        return library

    def load(self) -> SearchEngine:
        """The engine serving now; the first call loads the saved index or builds it."""
        engine = self._engine
        if engine is None:
            with self._reload_lock:
                if self._engine is None:
                    self._engine = self._build()
                    self._swapped()
                engine = self._engine
        return engine

    @property
    def engine(self) -> SearchEngine:
        return self.load()

    @property
    def store_path(self) -> Path:
        return self.store.path

    # What the bot and the command line ask of the corpus --------------------------------

    def search(self, question: str, k: int = 3, offset: int = 0, follows: str = "") -> Answer:
        """The best passages for a question, `follows` being the question it follows up."""
        return self.load().search(question, k=k, offset=offset, follows=follows)

    def find_phrase(self, text: str, k: int = 10, offset: int = 0) -> Answer:
        return self.load().find_phrase(text, k=k, offset=offset)

    @staticmethod
    def asks_for_more(text: str) -> bool:
        """Whether a message only asks for more results (还有吗, 再来几条)."""
        return load_cues().asks_for_more(text)

    def speeches(self) -> list[SpeechRow]:
        return self.store.speeches()

    def speech(self, wanted: str) -> SpeechRow | None:
        """The speech with that id, or the one speech a name points at (滨州, 南昌十三大,
        教科文卫体); None when there is none, or more than one."""
        speech = self.store.speech(wanted.strip())
        if speech is None and wanted.strip():
            named = self.load().lexicon.catalog.find(wanted).speech_ids
            speech = self.store.speech(named[0]) if len(named) == 1 else None
        return speech

    def paragraphs(self, speech_id: str) -> list[ParagraphRow]:
        return self.store.paragraphs_of(speech_id)

    def outline(self, speech_id: str) -> Outline | None:
        """The speech's sections as a tree, with its paragraphs; None for an unknown id."""
        speech = self.speech(speech_id)
        if speech is None:
            return None
        return outline_of(speech, self.paragraphs(speech.id))

    def citation(self, speech_id: str, n: int) -> str | None:
        """A copy-ready reference to a paragraph; None when the speech or paragraph is gone."""
        outline = self.outline(speech_id)
        if outline is None or not any(p.n == n for p in outline.paragraphs):
            return None
        return citation(outline, n)

    def damage_report(self, limit: int = DAMAGE_REPORT_LIMIT) -> DamageReport:
        """The garbled runs of the corpus's damaged paragraphs (the first `limit` of them):
        those the rest of the corpus mends, as (speech id, paragraph, garbled, mended), and
        those still marked, as (speech id, paragraph, garbled)."""
        snapshot = self.load().snapshot
        report = DamageReport()
        for p in self.store.damaged_paragraphs(limit):
            fixed = {(f.start, f.end): f.text for f in mends(snapshot, p.text)}
            for start, end in damaged_spans(p.text):
                garbled = p.text[start:end]
                if (start, end) in fixed:
                    report.mended.append((p.speech_id, p.n, garbled, fixed[(start, end)]))
                else:
                    report.marked.append((p.speech_id, p.n, garbled))
        return report

    def stats(self) -> CorpusStats:
        speeches, paragraphs, damaged = self.store.counts()
        return CorpusStats(speeches, paragraphs, damaged)

    def add_file(self, file_name: str, data: bytes, replace: bool = False) -> AddedFile:
        """Check a new speech file, write it into the corpus folder and reload.

        Raises SourceError (or UnsupportedFile, NameTaken) when the file cannot be used or
        the corpus folder is gone, DiskFull when the disk is full; on any failure the folder
        and the corpus serving are as they were. A file replaced goes to the trash.
        """
        require_corpus(self.corpus_dir)
        target = self.corpus_dir / safe_name(file_name)
        if target.exists() and not (replace and target.is_file()):
            target = free_name(target)
        rel = target.relative_to(self.corpus_dir).as_posix()
        with refusing_full_disk():
            # Checked under the name it will have: the reload then reads the same speeches,
            # with the same ids, and need not parse the file again.
            speeches = check_file(target.name, data)
            parsed = {(rel, hashlib.sha256(data).hexdigest()): speeches}
            with written(self.corpus_dir, target, data):
                report = self._reload(None, parsed)
        found = [(s.id, s.title) for s in self.store.speeches() if s.source == rel]
        return AddedFile(rel, report, found or [(s.id, s.title) for s in speeches])

    def remove_speech(self, speech_id: str) -> tuple[str, IndexReport]:
        """Move the speech's source file to the trash (every speech in that file goes) and
        reload; the file is put back if the reload fails. Raises UnknownSpeech, SourceError
        when the corpus folder is gone, DiskFull when the disk is full."""
        require_corpus(self.corpus_dir)
        speech = self.speech(speech_id)
        if speech is None:
            raise UnknownSpeech(speech_id)
        with refusing_full_disk(), trashed(self.corpus_dir, self.corpus_dir / speech.source):
            report = self._reload(None, None)
        return speech.source, report

    @property
    def index_dir(self) -> Path | None:
        """Saved snapshots live beside the database; an in-memory store keeps none."""
        if str(self.store.path) == ":memory:":
            return None
        return self.store.path.with_name(self.store.path.name + ".index")

    def _build(
        self, report: IndexReport | None = None, previous: Snapshot | None = None
    ) -> SearchEngine:
        self.tokenizer.warm()
        return SearchEngine(self._snapshot(report, previous), self.tokenizer, self.ranking)

    def _key(self) -> str:
        return persist.fingerprint(self.store.fingerprint(), self.tokenizer.version, self.params)

    def _snapshot(self, report: IndexReport | None, previous: Snapshot | None) -> Snapshot:
        """The snapshot of the store's content now: the previous one if nothing changed,
        else the saved one, else `previous` updated with the files `report` names, else
        built from the whole store (saving it is `_swapped`'s job)."""
        key = self._key()
        if previous is not None and previous.fingerprint == key:
            return previous
        folder = self.index_dir / key if self.index_dir else None
        if folder is not None and folder.is_dir():
            try:
                return persist.load(folder, self.store.speeches(), self.params)
            except (OSError, ValueError, KeyError) as exc:
                log.warning("index: saved snapshot unreadable (%s), building it again", exc)
                shutil.rmtree(folder, ignore_errors=True)
        snapshot = None
        if previous is not None and report is not None:
            touched = {*report.added, *report.changed, *report.removed}
            snapshot = update_snapshot(
                previous, self.store, self.tokenizer, touched, key, self.index_dir
            )
            if len(snapshot) != report.paragraphs:
                log.warning("index: update gave %d paragraphs, rebuilding", len(snapshot))
                snapshot = None
            elif snapshot.worn:
                snapshot = None
        if snapshot is None:
            snapshot = build_snapshot(self.store, self.tokenizer, self.params, key, self.index_dir)
        return snapshot

    def _swapped(self) -> None:
        """Warm the new snapshot up and save it for the next start-up; drop older ones.

        In threads of their own, so the new corpus serves at once. The saver is not a
        daemon, so a command that exits still finishes writing first.
        """
        root, snapshot = self.index_dir, self._engine.snapshot if self._engine else None
        if snapshot is None:
            return
        engine = self._engine
        threading.Thread(target=_warm, args=(engine,), name=WARM_THREAD, daemon=True).start()
        if root is None:
            return

        def save() -> None:
            with self._save_lock:
                try:
                    persist.save(snapshot, root / snapshot.fingerprint)
                except OSError as exc:
                    # Serving goes on; the next start-up builds the index again.
                    log.warning("index: could not save the snapshot (%s)", exc)
                    return
                if self._engine is not None:
                    persist.prune(root, self._engine.snapshot)

        self._saver = threading.Thread(target=save, name="save-index")
        self._saver.start()

    def wait_saved(self, timeout: float | None = None) -> None:
        """Block until the latest snapshot is on disk."""
        if self._saver is not None:
            self._saver.join(timeout)

    def reload(self, progress: Progress | None = None) -> IndexReport:
        """Sync the store with the files, build a new snapshot, swap it in. Blocking.

        Two reloads never interleave: the second waits for the first. Raises SourceError
        when the corpus folder is gone, DiskFull when the disk is full; either way the store
        and the corpus serving are as they were.
        """
        with refusing_full_disk():
            return self._reload(progress, None)

    def _reload(self, progress: Progress | None, parsed: Parsed | None) -> IndexReport:
        built: list[SearchEngine] = []
        with self._reload_lock:
            current = self._engine
            # The serving snapshot can be updated in place only if it shows the store as it
            # is now (another process may have indexed the same store meanwhile).
            previous = (
                current.snapshot
                if current and current.snapshot.fingerprint == self._key()
                else None
            )
            report = sync(
                self.corpus_dir,
                self.store,
                progress,
                lambda report: built.append(self._build(report, previous)),
                parsed,
            )
            self._engine = built[0]
            self._swapped()
            self.store.checkpoint()
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
