"""Keep the store in step with a directory of speech files, parsing only what changed."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from pathlib import Path

from retrieval.clean import clean_speech
from retrieval.model import IndexReport, Speech
from retrieval.sources import SUPPORTED_SUFFIXES, SourceError, read_file
from retrieval.store import SourceRecord, Store

log = logging.getLogger(__name__)

TRASH_DIR = ".trash"
Progress = Callable[[int, int, str], None]


def corpus_files(corpus_dir: Path) -> list[Path]:
    """Speech files below the directory; hidden folders (the trash among them) are skipped."""
    if not corpus_dir.is_dir():
        return []
    return sorted(
        p
        for p in corpus_dir.rglob("*")
        if p.is_file()
        and p.suffix.lower() in SUPPORTED_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(corpus_dir).parts)
    )


def parse_file(path: Path, root: Path) -> list[Speech]:
    """One file to clean speeches; raises SourceError with the reason."""
    speeches = [clean_speech(raw) for raw in read_file(path, root)]
    speeches = [s for s in speeches if s.paragraphs]
    if not speeches:
        raise SourceError("no speech text found")
    return speeches


def sync(
    corpus_dir: Path,
    store: Store,
    progress: Progress | None = None,
    before_commit: Callable[[], None] | None = None,
) -> IndexReport:
    """Bring the store in line with the directory in one transaction.

    Unchanged files (same size and content hash) are not parsed again. A file that fails to
    parse keeps the speeches it had before, so one bad upload never empties the corpus.
    `before_commit` runs inside the transaction (the caller builds its index there): if it
    raises, the store is left exactly as it was.
    """
    started = time.perf_counter()
    report = IndexReport()
    if not corpus_dir.is_dir():
        raise SourceError(f"corpus directory not found: {corpus_dir}")
    files = corpus_files(corpus_dir)
    report.files = len(files)
    known = store.sources()
    parsed: list[tuple[SourceRecord, list[Speech], bool]] = []
    touched: list[tuple[str, float]] = []
    seen: set[str] = set()
    for i, path in enumerate(files, 1):
        rel = path.relative_to(corpus_dir).as_posix()
        seen.add(rel)
        if progress:
            progress(i, len(files), rel)
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
        try:
            speeches = parse_file(path, corpus_dir)
        except SourceError as exc:
            note = " (kept the previous version)" if old else ""
            report.warnings.append(f"{rel}: {exc}{note}")
            continue
        record = SourceRecord(rel, len(data), stat.st_mtime, digest, time.time(), len(speeches))
        parsed.append((record, speeches, old is not None))
    removed = sorted(set(known) - seen)
    with store.transaction() as db:
        for record, speeches, existed in parsed:
            store.replace_source(db, record, speeches)
            (report.changed if existed else report.added).append(record.path)
        for rel, mtime in touched:
            store.touch_source(db, rel, mtime)
        for rel in removed:
            store.delete_source(db, rel)
            report.removed.append(rel)
        report.speeches, report.paragraphs, report.damaged = store.counts()
        if before_commit:
            before_commit()
    report.seconds = time.perf_counter() - started
    for warning in report.warnings:
        log.warning("corpus: %s", warning)
    return report
