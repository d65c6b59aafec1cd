"""SQLite store (via sqlite-utils): every write to the corpus database goes through here."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from retrieval.model import Paragraph, ParagraphRow, SourceRecord, Speech, SpeechRow

SCHEMA_VERSION = "1"


_SPEECH_COLUMNS = "id, title, event, place, source, ordinal, paragraphs, date, speaker"


class Database(ABC):
    """One database file; a connection per thread, because reloads run off the event loop."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._write_lock = threading.RLock()
        self._create_schema()

    @property
    def db(self) -> sqlite_utils.Database:
        db = getattr(self._local, "db", None)
        if db is None:
            conn = sqlite3.connect(str(self.path), timeout=30)
            db = sqlite_utils.Database(conn)
            db.enable_wal()
            self._local.db = db
        return db

    @abstractmethod
    def _create_schema(self) -> None: ...

    @contextmanager
    def transaction(self) -> Iterator[sqlite_utils.Database]:
        """All-or-nothing writes: a failure half-way leaves the previous state intact."""
        with self._write_lock, self.db.atomic() as db:
            yield db


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
        db.table("tokens").create({"key": str, "tokens": str}, pk="key", if_not_exists=True)
        db.table("meta").create({"key": str, "value": str}, pk="key", if_not_exists=True)
        db.table("paragraphs").create_index(["speech_id", "n"], unique=True, if_not_exists=True)
        db.table("speeches").create_index(["source"], if_not_exists=True)

    # sources and speeches -------------------------------------------------

    def sources(self) -> dict[str, SourceRecord]:
        return {row["path"]: SourceRecord(**row) for row in self.db["sources"].rows}

    def replace_source(
        self, db: sqlite_utils.Database, record: SourceRecord, speeches: Iterable[Speech]
    ) -> None:
        """Within a transaction: the file's old speeches go, the new ones come in."""
        self.delete_source(db, record.path)
        speeches = list(speeches)
        db.table("sources").insert(record.__dict__ | {"speeches": len(speeches)}, replace=True)
        for speech in speeches:
            db.table("speeches").insert(
                {
                    "id": speech.id,
                    "title": speech.title,
                    "source_title": speech.source_title,
                    "event": speech.event,
                    "place": speech.place,
                    "date": speech.date,
                    "speaker": speech.speaker,
                    "source": speech.source,
                    "ordinal": speech.ordinal,
                    "paragraphs": len(speech.paragraphs),
                },
                replace=True,
            )
            db.table("paragraphs").insert_all(
                (_paragraph_row(speech.id, p) for p in speech.paragraphs), batch_size=500
            )

    def touch_source(self, db: sqlite_utils.Database, path: str, mtime: float) -> None:
        db.table("sources").update(path, {"mtime": mtime})

    def delete_source(self, db: sqlite_utils.Database, path: str) -> None:
        ids = [r["id"] for r in db.query("select id from speeches where source = ?", [path])]
        for speech_id in ids:
            db.execute("delete from paragraphs where speech_id = ?", [speech_id])
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

    # token cache -----------------------------------------------------------

    def cached_tokens(self, keys: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self.db.query(
                f"select key, tokens from tokens where key in ({marks})", chunk
            ):
                found[row["key"]] = row["tokens"]
        return found

    def cache_tokens(self, pairs: dict[str, str]) -> None:
        if not pairs:
            return
        with self.transaction() as db:
            db.table("tokens").insert_all(
                ({"key": k, "tokens": v} for k, v in pairs.items()), replace=True, batch_size=1000
            )


def _paragraph_row(speech_id: str, p: Paragraph) -> dict:
    return {
        "speech_id": speech_id,
        "n": p.n,
        "heading": p.heading,
        "text": p.text,
        "source_text": p.source_text,
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
