"""SQLite store (via sqlite-utils): every write to the corpus database goes through here."""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from retrieval.model import Paragraph, ParagraphRow, SourceRecord, Speech, SpeechRow, speech_id

log = logging.getLogger(__name__)

SCHEMA_VERSION = "1"
# How long a write waits for another process's (`speechbot index` beside `speechbot serve`)
# before "database is locked": a reload runs off the event loop, so waiting costs nothing.
BUSY_TIMEOUT_SECONDS = 60.0
# SQLite's words for a file that is not a database, or one whose pages are broken.
_DAMAGED = frozenset({"SQLITE_NOTADB", "SQLITE_CORRUPT"})
# The longest speech id the store gives (the bot's buttons carry up to 32 hex digits).
LONGEST_ID = 32

_SPEECH_COLUMNS = "id, title, event, place, source, ordinal, paragraphs, date, speaker"


class DamagedStore(Exception):
    """A database file SQLite cannot read (the corpus store or the bot's journal)."""


class Database(ABC):
    """One database file; a connection per thread, because reloads run off the event loop."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._write_lock = threading.RLock()
        try:
            self._create_schema()
        except sqlite3.DatabaseError as exc:
            if getattr(exc, "sqlite_errorname", "") not in _DAMAGED:
                raise
            raise DamagedStore(f"{self.path}: not a readable SQLite database ({exc})") from exc

    @property
    def db(self) -> sqlite_utils.Database:
        db = getattr(self._local, "db", None)
        if db is None:
            conn = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_SECONDS)
            db = sqlite_utils.Database(conn)
            db.enable_wal()
            self._local.db = db
        return db

    @abstractmethod
    def _create_schema(self) -> None: ...

    def checkpoint(self) -> None:
        """Fold the write-ahead log back into the database and truncate it: after a big
        reload the log is as large as the store, and a process that exits without closing
        its connection would leave it on disk. Skipped when readers hold it."""
        try:
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.OperationalError as exc:
            log.info("store: checkpoint skipped (%s)", exc)

    @contextmanager
    def transaction(self) -> Iterator[sqlite_utils.Database]:
        """All-or-nothing writes: a failure half-way leaves the previous state intact.

        The write lock is taken first (BEGIN IMMEDIATE), where SQLite waits for another
        process's. Taken only at the first write after a read, SQLite would fail at once
        with "database is locked" rather than risk a deadlock.
        """
        with self._write_lock:
            db = self.db
            if db.conn.in_transaction:
                # Nested in a transaction of this thread: a savepoint.
                with db.atomic():
                    yield db
                return
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                db.rollback()
                raise


class Store(Database):
    """The corpus: source files, speeches, paragraphs and the token cache."""

    def _create_schema(self) -> None:
        db = self.db
        db.table("sources").create(
            {
                "path": str,
                "size": int,
                "mtime": float,
                "sha256": str,
                "loaded_at": float,
                "speeches": int,
            },
            pk="path",
            if_not_exists=True,
        )
        db.table("speeches").create(
            {
                "id": str,
                "title": str,
                "source_title": str,
                "event": str,
                "place": str,
                "source": str,
                "ordinal": int,
                "paragraphs": int,
                "date": str,
                "speaker": str,
            },
            pk="id",
            if_not_exists=True,
        )
        for column in ("date", "speaker"):
            if column not in db.table("speeches").columns_dict:
                # Stores from before dates and speakers were read: "" until re-read.
                db.table("speeches").add_column(column, str, not_null_default="")
        db.table("paragraphs").create(
            {
                "id": int,
                "speech_id": str,
                "n": int,
                "heading": str,
                "text": str,
                "source_text": str,
                "damaged": int,
            },
            pk="id",
            if_not_exists=True,
        )
        db.table("meta").create({"key": str, "value": str}, pk="key", if_not_exists=True)
        db.table("paragraphs").create_index(["speech_id", "n"], unique=True, if_not_exists=True)
        db.table("speeches").create_index(["source"], if_not_exists=True)
        if "tokens" in db.table_names():
            _slim(db)

    # sources and speeches -------------------------------------------------

    def sources(self) -> dict[str, SourceRecord]:
        return {row["path"]: SourceRecord(**row) for row in self.db["sources"].rows}

    def replace_source(
        self, db: sqlite_utils.Database, record: SourceRecord, speeches: Iterable[Speech]
    ) -> None:
        """Within a transaction: the file's old speeches go, the new ones come in; a speech
        read again keeps the id it had (see _free_id)."""
        had = {
            row["ordinal"]: row["id"]
            for row in db.query("select id, ordinal from speeches where source = ?", [record.path])
        }
        self.delete_source(db, record.path)
        speeches = list(speeches)
        db.table("sources").insert(record.__dict__ | {"speeches": len(speeches)}, replace=True)
        for speech in speeches:
            sid = _free_id(db, speech, had.get(speech.ordinal))
            db.table("speeches").insert(
                {
                    "id": sid,
                    "title": speech.title,
                    "source_title": speech.source_title,
                    "event": speech.event,
                    "place": speech.place,
                    "date": speech.date,
                    "speaker": speech.speaker,
                    "source": speech.source,
                    "ordinal": speech.ordinal,
                    "paragraphs": len(speech.paragraphs),
                }
            )
            db.table("paragraphs").insert_all(
                (_paragraph_row(sid, p) for p in speech.paragraphs), batch_size=500
            )

    def touch_source(self, db: sqlite_utils.Database, path: str, mtime: float) -> None:
        db.table("sources").update(path, {"mtime": mtime})

    def delete_source(self, db: sqlite_utils.Database, path: str) -> None:
        ids = [r["id"] for r in db.query("select id from speeches where source = ?", [path])]
        for sid in ids:
            db.execute("delete from paragraphs where speech_id = ?", [sid])
        db.execute("delete from speeches where source = ?", [path])
        db.execute("delete from sources where path = ?", [path])

    def speeches(self) -> list[SpeechRow]:
        rows = self.db.query(f"select {_SPEECH_COLUMNS} from speeches order by source, ordinal")
        return [SpeechRow(**row) for row in rows]

    def speech(self, speech_id: str) -> SpeechRow | None:
        rows = list(
            self.db.query(
                f"select {_SPEECH_COLUMNS} from speeches where id = ?",
                [speech_id],
            )
        )
        return SpeechRow(**rows[0]) if rows else None

    def paragraphs_of(self, speech_id: str) -> list[ParagraphRow]:
        rows = self.db.query(
            "select id as rowid, speech_id, n, heading, text, damaged from paragraphs "
            "where speech_id = ? order by n",
            [speech_id],
        )
        return [_row(r) for r in rows]

    def all_paragraphs(self) -> Iterator[ParagraphRow]:
        """In rowid order: a file's paragraphs are written together, in reading order."""
        rows = self.db.query(
            "select id as rowid, speech_id, n, heading, text, damaged from paragraphs order by id"
        )
        return (_row(r) for r in rows)

    def paragraphs_of_sources(self, paths: list[str]) -> list[ParagraphRow]:
        if not paths:
            return []
        marks = ",".join("?" * len(paths))
        rows = self.db.query(
            "select p.id as rowid, p.speech_id, p.n, p.heading, p.text, p.damaged "
            f"from paragraphs p join speeches s on s.id = p.speech_id where s.source in ({marks}) "
            "order by p.id",
            paths,
        )
        return [_row(r) for r in rows]

    def paragraph_chunks(self, size: int) -> Iterator[list[ParagraphRow]]:
        """Every paragraph in reading order (file, speech, paragraph), a list at a time."""
        chunk: list[ParagraphRow] = []
        for row in self.all_paragraphs():
            chunk.append(row)
            if len(chunk) == size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    def fingerprint(self) -> str:
        """Changes whenever the paragraphs do: which files, their content, their rows."""
        digest = hashlib.sha1(SCHEMA_VERSION.encode())
        for row in self.db.query("select path, sha256 from sources order by path"):
            digest.update(f"{row['path']}\x00{row['sha256']}\x00".encode())
        counts = next(self.db.query("select count(*) as n, max(id) as top from paragraphs"))
        digest.update(f"{counts['n']}:{counts['top']}".encode())
        return digest.hexdigest()[:16]

    def counts(self) -> tuple[int, int, int]:
        """Speeches, paragraphs and damaged paragraphs."""
        row = next(
            self.db.query(
                "select (select count(*) from speeches) as s, (select count(*) from paragraphs)"
                " as p, (select count(*) from paragraphs where damaged) as d"
            )
        )
        return row["s"], row["p"], row["d"]

    def damaged_paragraphs(self, limit: int) -> list[ParagraphRow]:
        rows = self.db.query(
            "select id as rowid, speech_id, n, heading, text, damaged from paragraphs "
            "where damaged order by id limit ?",
            [limit],
        )
        return [_row(r) for r in rows]


def _slim(db: sqlite_utils.Database) -> None:
    """Stores from before 2 December 2026 kept a token cache and every paragraph's source
    text even where it equals the cleaned text: together more than half the file. Both go,
    once, and the file is compacted (a minute for a million paragraphs)."""
    log.warning("store: dropping the token cache and duplicate texts, then compacting")
    with db.conn:
        db.execute("drop table tokens")
        db.execute("update paragraphs set source_text = null where source_text = text")
    db.execute("vacuum")


def _free_id(db: sqlite_utils.Database, speech: Speech, had: str | None) -> str:
    """The id the speech had, else its short id, else more digits of the same hash: the
    first of them no other speech has. Short ids are 8 hex digits, and two places in the
    corpus can share them (speech_0016277.txt and speech_0086579.txt do); the one there
    first keeps the short id, so ids users have seen keep working, and none is given twice.
    """
    full = speech_id(speech.source, speech.ordinal, digits=LONGEST_ID)
    wanted = [speech.id, *(full[:digits] for digits in range(12, LONGEST_ID + 1, 4))]
    for candidate in [had, *wanted] if had else wanted:
        if db.execute("select 1 from speeches where id = ?", [candidate]).fetchone() is None:
            return candidate
    raise ValueError(f"speech id {full} is taken: {speech.source}#{speech.ordinal}")


def _paragraph_row(speech_id: str, p: Paragraph) -> dict:
    return {
        "speech_id": speech_id,
        "n": p.n,
        "heading": p.heading,
        "text": p.text,
        # Kept only where cleaning changed the text (mended, or pinyin taken out).
        "source_text": p.source_text if p.source_text != p.text else None,
        "damaged": int(p.damaged),
    }


def _row(r: dict) -> ParagraphRow:
    return ParagraphRow(
        rowid=r["rowid"],
        speech_id=r["speech_id"],
        n=r["n"],
        heading=r["heading"] or "",
        text=r["text"],
        damaged=bool(r["damaged"]),
    )
