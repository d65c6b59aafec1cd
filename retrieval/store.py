"""SQLite store (via sqlite-utils): every write of the project goes through here."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from retrieval.model import Paragraph, Speech

SCHEMA_VERSION = "1"


@dataclass(frozen=True)
class SourceRecord:
    path: str
    size: int
    mtime: float
    sha256: str
    loaded_at: float
    speeches: int


@dataclass(frozen=True)
class ParagraphRow:
    """A paragraph with the speech context the index and the replies need."""

    rowid: int
    speech_id: str
    n: int
    heading: str
    text: str
    damaged: bool


@dataclass(frozen=True)
class SpeechRow:
    id: str
    title: str
    event: str
    place: str
    source: str
    ordinal: int
    paragraphs: int


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
        db["sources"].create(
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
        db["speeches"].create(
            {
                "id": str,
                "title": str,
                "source_title": str,
                "event": str,
                "place": str,
                "source": str,
                "ordinal": int,
                "paragraphs": int,
            },
            pk="id",
            if_not_exists=True,
        )
        db["paragraphs"].create(
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
        db["tokens"].create({"key": str, "tokens": str}, pk="key", if_not_exists=True)
        db["meta"].create({"key": str, "value": str}, pk="key", if_not_exists=True)
        db["paragraphs"].create_index(["speech_id", "n"], unique=True, if_not_exists=True)
        db["speeches"].create_index(["source"], if_not_exists=True)

    # sources and speeches -------------------------------------------------

    def sources(self) -> dict[str, SourceRecord]:
        return {row["path"]: SourceRecord(**row) for row in self.db["sources"].rows}

    def replace_source(
        self, db: sqlite_utils.Database, record: SourceRecord, speeches: Iterable[Speech]
    ) -> None:
        """Within a transaction: the file's old speeches go, the new ones come in."""
        self.delete_source(db, record.path)
        speeches = list(speeches)
        db["sources"].insert(record.__dict__ | {"speeches": len(speeches)}, replace=True)
        for speech in speeches:
            db["speeches"].insert(
                {
                    "id": speech.id,
                    "title": speech.title,
                    "source_title": speech.source_title,
                    "event": speech.event,
                    "place": speech.place,
                    "source": speech.source,
                    "ordinal": speech.ordinal,
                    "paragraphs": len(speech.paragraphs),
                },
                replace=True,
            )
            db["paragraphs"].insert_all(
                (_paragraph_row(speech.id, p) for p in speech.paragraphs), batch_size=500
            )

    def touch_source(self, db: sqlite_utils.Database, path: str, mtime: float) -> None:
        db["sources"].update(path, {"mtime": mtime})

    def delete_source(self, db: sqlite_utils.Database, path: str) -> None:
        ids = [r["id"] for r in db.query("select id from speeches where source = ?", [path])]
        for speech_id in ids:
            db.execute("delete from paragraphs where speech_id = ?", [speech_id])
        db.execute("delete from speeches where source = ?", [path])
        db.execute("delete from sources where path = ?", [path])

    def speeches(self) -> list[SpeechRow]:
        rows = self.db.query(
            "select id, title, event, place, source, ordinal, paragraphs from speeches "
            "order by source, ordinal"
        )
        return [SpeechRow(**row) for row in rows]

    def speech(self, speech_id: str) -> SpeechRow | None:
        rows = list(
            self.db.query(
                "select id, title, event, place, source, ordinal, paragraphs from speeches "
                "where id = ?",
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
            db["tokens"].insert_all(
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


class Journal(Database):
    """What users asked and what admins did, in a file of its own.

    Its own file, so that logging a question never waits for a reload, which holds the
    corpus database's write lock while it builds the new index.
    """

    @classmethod
    def beside(cls, store: Store) -> Journal:
        if str(store.path) == ":memory:":
            return cls(":memory:")
        return cls(store.path.with_name(store.path.stem + ".journal.db"))

    def _create_schema(self) -> None:
        db = self.db
        db["query_log"].create(
            {
                "id": int,
                "ts": float,
                "chat_type": str,
                "user_hash": str,
                "query": str,
                "answered": int,
                "top_speech": str,
                "top_paragraph": int,
                "latency_ms": float,
            },
            pk="id",
            if_not_exists=True,
        )
        db["audit_log"].create(
            {
                "id": int,
                "ts": float,
                "user_hash": str,
                "action": str,
                "target": str,
                "outcome": str,
            },
            pk="id",
            if_not_exists=True,
        )
        db["query_log"].create_index(["ts"], if_not_exists=True)
        if "follows" not in db["query_log"].columns_dict:
            # Stores from before follow-ups: the question an entry followed up, if any.
            db["query_log"].add_column("follows", str, not_null_default="")
        # Per chat, the question last answered and how many of its passages were shown,
        # so that 还有吗 pages on; and which question each answer message answered, so that
        # a reply to it is read together with that question. Both outlive a restart.
        db["conversations"].create(
            {"chat_id": int, "log_id": int, "shown": int}, pk="chat_id", if_not_exists=True
        )
        db["answer_messages"].create(
            {"chat_id": int, "message_id": int, "log_id": int, "shown": int},
            pk=("chat_id", "message_id"),
            if_not_exists=True,
        )

    def log_query(
        self,
        *,
        chat_type: str,
        user_hash: str,
        query: str,
        answered: bool,
        top_speech: str,
        top_paragraph: int,
        latency_ms: float,
        ts: float | None = None,
        follows: str = "",
    ) -> int:
        """Returns the entry's id, which buttons under an answer refer to."""
        with self.transaction() as db:
            return (
                db["query_log"]
                .insert(
                    {
                        "ts": time.time() if ts is None else ts,
                        "chat_type": chat_type,
                        "user_hash": user_hash,
                        "query": query,
                        "answered": int(answered),
                        "top_speech": top_speech,
                        "top_paragraph": top_paragraph,
                        "latency_ms": latency_ms,
                        "follows": follows,
                    }
                )
                .last_pk
            )

    def logged_query(self, entry_id: int) -> dict | None:
        rows = list(self.db.query("select * from query_log where id = ?", [entry_id]))
        return rows[0] if rows else None

    def remember_shown(self, chat_id: int, log_id: int, shown: int) -> None:
        with self.transaction() as db:
            db["conversations"].upsert(
                {"chat_id": chat_id, "log_id": log_id, "shown": shown}, pk="chat_id"
            )

    def last_shown(self, chat_id: int) -> tuple[int, int] | None:
        """The chat's last answered question's log id, and how many passages were shown."""
        rows = list(self.db.query("select * from conversations where chat_id = ?", [chat_id]))
        return (rows[0]["log_id"], rows[0]["shown"]) if rows else None

    def remember_answer(
        self, chat_id: int, message_ids: list[int], log_id: int, shown: int
    ) -> None:
        rows = [
            {"chat_id": chat_id, "message_id": m, "log_id": log_id, "shown": shown}
            for m in message_ids
        ]
        with self.transaction() as db:
            db["answer_messages"].upsert_all(rows, pk=("chat_id", "message_id"))

    def answered_by(self, chat_id: int, message_id: int) -> tuple[int, int] | None:
        """The log id of the question a message of the bot answered, and how many of its
        passages had been shown up to that message."""
        rows = list(
            self.db.query(
                "select log_id, shown from answer_messages where chat_id = ? and message_id = ?",
                [chat_id, message_id],
            )
        )
        return (rows[0]["log_id"], rows[0]["shown"]) if rows else None

    def query_log(self, since: float) -> list[dict]:
        return list(self.db.query("select * from query_log where ts >= ? order by ts", [since]))

    def log_admin_action(self, *, user_hash: str, action: str, target: str, outcome: str) -> None:
        with self.transaction() as db:
            db["audit_log"].insert(
                {
                    "ts": time.time(),
                    "user_hash": user_hash,
                    "action": action,
                    "target": target,
                    "outcome": outcome,
                }
            )

    def audit_log(self) -> list[dict]:
        return list(self.db.query("select * from audit_log order by id"))
