"""Admin work without Telegram: reload, upload, remove, statistics — every action audited.

Nothing here loses data: an upload is checked in a scratch folder before it touches the
corpus, written with a rename, and undone if the reload fails; a removed file goes to the
trash folder inside the corpus directory.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import statistics
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bot import messages as m
from bot.access import user_hash
from bot.config import Config
from retrieval.ingest.sources import SUPPORTED_SUFFIXES, SourceError
from retrieval.ingest.sync import TRASH_DIR, parse_file
from retrieval.library import Library
from retrieval.model import IndexReport, Speech

_UNSAFE = re.compile(r"[^\w.\-（）()\u3400-\u9fff]+")


class AdminError(Exception):
    """A refused admin action; the message is for the admin (Chinese)."""


@dataclass(frozen=True)
class UploadResult:
    name: str
    report: IndexReport
    speeches: list[tuple[str, str]]


@dataclass
class Stats:
    today: int = 0
    week: int = 0
    askers: int = 0
    nothing_found_share: float = 0.0
    median_ms: float = 0.0
    top: list[tuple[str, int]] = field(default_factory=list)
    unanswered: list[tuple[str, int]] = field(default_factory=list)


class AdminService:
    def __init__(self, library: Library, config: Config) -> None:
        self.library = library
        self.config = config

    def audit(self, user_id: int | None, action: str, target: str, outcome: str) -> None:
        self.library.journal.log_admin_action(
            user_hash=user_hash(self.config.telegram, user_id),
            action=action,
            target=target[:200],
            outcome=outcome[:500],
        )

    def reload(self) -> IndexReport:
        """Blocking: run it off the event loop. The old corpus serves until the swap."""
        return self.library.reload()

    def upload(self, file_name: str, data: bytes, replace: bool = False) -> UploadResult:
        """Check, write atomically, reload; on any failure the corpus is as it was."""
        name = safe_name(file_name)
        suffix = Path(name).suffix.lower()
        if suffix not in SUPPORTED_SUFFIXES:
            raise AdminError(m.UPLOAD_BAD_TYPE.format(suffix=suffix or "无"))
        self.check_size(len(data))
        speeches = check_file(name, data)
        corpus = self.library.corpus_dir
        target = corpus / name
        if target.exists() and not replace:
            target = free_name(target)
        backup = target.read_bytes() if target.exists() else None
        write_atomically(target, data)
        try:
            report = self.library.reload()
        except Exception:
            if backup is None:
                target.unlink(missing_ok=True)
            else:
                write_atomically(target, backup)
            raise
        rel = target.relative_to(corpus).as_posix()
        found = [(s.id, s.title) for s in self.library.store.speeches() if s.source == rel]
        return UploadResult(rel, report, found or [(s.id, s.title) for s in speeches])

    def check_size(self, size: int) -> None:
        limit = self.config.telegram.max_upload_bytes
        if size > limit:
            shown = f"{limit / 2**20:.3g} MB" if limit >= 2**20 else f"{limit / 1024:.0f} KB"
            raise AdminError(m.UPLOAD_TOO_BIG.format(limit=shown))

    def remove(self, speech_id: str) -> tuple[str, IndexReport]:
        """Move the speech's source file to the trash (every speech in that file goes)."""
        speech = self.library.store.speech(speech_id.strip())
        if speech is None:
            raise AdminError(m.UNKNOWN_SPEECH.format(id=speech_id[:40]))
        corpus = self.library.corpus_dir
        source = corpus / speech.source
        trash = corpus / TRASH_DIR
        trash.mkdir(exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        moved = trash / f"{stamp}_{source.name}"
        os.replace(source, moved)
        try:
            report = self.library.reload()
        except Exception:
            os.replace(moved, source)
            raise
        return speech.source, report

    def stats(self, now: float | None = None) -> Stats:
        now = time.time() if now is None else now
        midnight = dt.datetime.fromtimestamp(now).replace(hour=0, minute=0, second=0)
        week = self.library.journal.query_log(now - 7 * 86400)
        stats = Stats(today=sum(1 for e in week if e["ts"] >= midnight.timestamp()), week=len(week))
        if not week:
            return stats
        stats.askers = len({e["user_hash"] for e in week if e["user_hash"]})
        unanswered = [e for e in week if not e["answered"]]
        stats.nothing_found_share = len(unanswered) / len(week)
        stats.median_ms = statistics.median(e["latency_ms"] for e in week)
        stats.top = Counter(e["query"].strip() for e in week).most_common(10)
        stats.unanswered = Counter(e["query"].strip() for e in unanswered).most_common(10)
        return stats


def safe_name(file_name: str) -> str:
    """A plain file name: no folders, no hidden files, nothing a shell would trip on."""
    name = _UNSAFE.sub("_", Path(file_name).name).strip("._") or "upload"
    return name[-120:]


def free_name(path: Path) -> Path:
    for i in range(2, 1000):
        candidate = path.with_name(f"{path.stem}_{i}{path.suffix}")
        if not candidate.exists():
            return candidate
    raise AdminError(m.UPLOAD_NAME_TAKEN)


def check_file(name: str, data: bytes) -> list[Speech]:
    """Parse in a scratch folder: a bad file never reaches the corpus directory."""
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / name
        path.write_bytes(data)
        try:
            return parse_file(path, Path(scratch))
        except SourceError as exc:
            raise AdminError(m.UPLOAD_REJECTED.format(reason=reason_in_chinese(str(exc)))) from exc


def reason_in_chinese(reason: str) -> str:
    for english, chinese in m.SOURCE_REASONS.items():
        if reason.startswith(english):
            return chinese
    return reason


def write_atomically(target: Path, data: bytes) -> None:
    """Temporary file in the same folder, then rename: readers never see half a file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
