"""Keep the store in step with a directory of speech files, parsing only what changed."""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from pathlib import Path

from retrieval.ingest.clean import clean_speech
from retrieval.ingest.sources import SUPPORTED_SUFFIXES, SourceError, read_file
from retrieval.model import IndexReport, SourceRecord, Speech
from retrieval.store import Store
from retrieval.workers import worker_pool

log = logging.getLogger(__name__)

TRASH_DIR = ".trash"
# Below this many files to parse, starting worker processes costs more than it saves.
PARALLEL_MIN_FILES = 16
Progress = Callable[[int, int, str], None]
# Files parsed already (an upload, checked before it was written), by path and SHA-256.
Parsed = Mapping[tuple[str, str], list[Speech]]


def require_corpus(corpus_dir: Path) -> None:
    """Refuse to work on a corpus folder that is gone (an unmounted disk, a typo): indexing
    it, or writing a file into a new empty one, would empty the store."""
    if not corpus_dir.is_dir():
        raise SourceError(f"corpus directory not found: {corpus_dir}")


def corpus_files(corpus_dir: Path) -> list[Path]:
    """Speech files below the directory, and folders named like one (reported, not read);
    hidden folders (the trash among them) are skipped."""
    if not corpus_dir.is_dir():
        return []
    return sorted(
        p
        for p in corpus_dir.rglob("*")
        if p.suffix.lower() in SUPPORTED_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(corpus_dir).parts)
        and (p.is_file() or p.is_dir())
    )


def parse_file(path: Path, root: Path) -> list[Speech]:
    """One file to clean speeches; raises SourceError with the reason."""
    speeches = [clean_speech(raw) for raw in read_file(path, root)]
    speeches = [s for s in speeches if s.paragraphs]
    if not speeches:
        raise SourceError("no speech text found")
    return speeches


def _parse(path: Path, root: Path) -> list[Speech] | SourceError:
    try:
        return parse_file(path, root)
    except SourceError as exc:
        return exc
    except Exception as exc:
        # A reader's failure nobody foresaw is still this one file's: the rest must load.
        log.exception("corpus: %s could not be parsed", path)
        return SourceError(f"cannot read file ({type(exc).__name__}: {exc})"[:300])


def parsed_files(paths: list[Path], root: Path) -> Iterator[list[Speech] | SourceError]:
    """Each file's speeches or the reason it failed, in order; many files on every core."""
    workers = os.cpu_count() or 1
    done = 0
    if len(paths) >= PARALLEL_MIN_FILES and workers > 1:
        try:
            with worker_pool(workers) as pool:
                for result in pool.map(_parse, paths, [root] * len(paths), chunksize=4):
                    yield result
                    done += 1
        except BrokenProcessPool:
            log.warning("corpus: parse workers died; parsing the remaining files here")
    yield from (_parse(p, root) for p in paths[done:])


def _changes(
    corpus_dir: Path, known: dict[str, SourceRecord], report: IndexReport
) -> tuple[list[tuple[Path, SourceRecord]], list[tuple[str, float]], set[str]]:
    """The files to parse (new or changed content), those only touched (same content, new
    time) and every file seen; unreadable files are reported and left as they were."""
    files = corpus_files(corpus_dir)
    todo: list[tuple[Path, SourceRecord]] = []
    touched: list[tuple[str, float]] = []
    seen: set[str] = set()
    for path in files:
        rel = path.relative_to(corpus_dir).as_posix()
        if path.is_dir():
            report.warnings.append(f"{rel}: a folder, not a file")
            continue
        report.files += 1
        seen.add(rel)
        try:
            data = path.read_bytes()
            stat = path.stat()
        except OSError as exc:
            report.warnings.append(f"{rel}: cannot read file ({exc.strerror or exc})")
            continue
        digest = hashlib.sha256(data).hexdigest()
        old = known.get(rel)
        if old and old.sha256 == digest:
            report.unchanged += 1
            if old.mtime != stat.st_mtime:
                touched.append((rel, stat.st_mtime))
            continue
        todo.append((path, SourceRecord(rel, len(data), stat.st_mtime, digest, 0.0, 0)))
    return todo, touched, seen


def sync(
    corpus_dir: Path,
    store: Store,
    progress: Progress | None = None,
    before_commit: Callable[[IndexReport], None] | None = None,
    parsed: Parsed | None = None,
) -> IndexReport:
    """Bring the store in line with the directory in one transaction.

    Unchanged files (same size and content hash) are not parsed again. A file that fails to
    parse keeps the speeches it had before, so one bad upload never empties the corpus.
    Parsed files go into the store one by one, so a big corpus is never all in memory.
    `before_commit` runs inside the transaction with the report so far (the caller builds
    its index there): if it raises, the store is left exactly as it was. A file in `parsed`
    with the same content is not parsed again.
    """
    started = time.perf_counter()
    report = IndexReport()
    require_corpus(corpus_dir)
    known = store.sources()
    todo, touched, seen = _changes(corpus_dir, known, report)
    removed = sorted(set(known) - seen)
    ready = parsed or {}
    with store.transaction() as db:
        fresh = parsed_files(
            [path for path, r in todo if (r.path, r.sha256) not in ready], corpus_dir
        )
        for i, (_, record) in enumerate(todo, 1):
            key = (record.path, record.sha256)
            result = ready[key] if key in ready else next(fresh)
            if progress:
                progress(i, len(todo), record.path)
            existed = record.path in known
            if isinstance(result, SourceError):
                note = " (kept the previous version)" if existed else ""
                report.warnings.append(f"{record.path}: {result}{note}")
                continue
            loaded = replace(record, loaded_at=time.time(), speeches=len(result))
            store.replace_source(db, loaded, result)
            (report.changed if existed else report.added).append(record.path)
        for rel, mtime in touched:
            store.touch_source(db, rel, mtime)
        for rel in removed:
            store.delete_source(db, rel)
            report.removed.append(rel)
        report.speeches, report.paragraphs, report.damaged = store.counts()
        if before_commit:
            before_commit(report)
    report.seconds = time.perf_counter() - started
    for warning in report.warnings:
        log.warning("corpus: %s", warning)
    return report
