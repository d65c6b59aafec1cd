"""What users asked and what admins did, and where each chat's conversation stands."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from retrieval import DamagedStore, Database

log = logging.getLogger(__name__)


class Journal(Database):
    """What users asked and what admins did, in a file of its own.

    Its own file, so that logging a question never waits for a reload, which holds the
    corpus database's write lock while it builds the new index.
    """

    # Questions answered since start-up whose log entry could not be written (a full
    # disk, a locked file): the answers went out, /stats says how many it is missing.
    unlogged = 0

    @classmethod
    def beside(cls, store_path: Path | str) -> Journal:
        """The journal of a corpus database: a file of its own beside it."""
        if str(store_path) == ":memory:":
            return cls(":memory:")
        return cls(cls.path_beside(Path(store_path)))

    @classmethod
    def opened_or_set_aside(cls, store_path: Path) -> Journal:
        """For a bot running unattended: a journal SQLite cannot read is renamed to
        `….damaged` (kept for inspection, nothing deleted) and a new one started."""
        path = cls.path_beside(store_path)
        try:
            return cls(path)
        except DamagedStore as exc:
            aside = path.with_name(path.name + ".damaged")
            log.warning("journal %s is damaged (%s): moved to %s, starting anew", path, exc, aside)
            path.replace(aside)
            return cls(path)

    @staticmethod
    def path_beside(store_path: Path) -> Path:
        return store_path.with_name(store_path.stem + ".journal.db")

    def _create_schema(self) -> None:
        db = self.db
        # 有用 / 没用 under an answer: one vote per user and question, the last one counts.
        db.table("feedback").create(
            {"log_id": int, "user_hash": str, "useful": int, "ts": float},
            pk=("log_id", "user_hash"),
            if_not_exists=True,
        )
        db.table("query_log").create(
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
        db.table("audit_log").create(
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
        db.table("query_log").create_index(["ts"], if_not_exists=True)
        if "follows" not in db["query_log"].columns_dict:
            # Stores from before follow-ups: the question an entry followed up, if any.
            db.table("query_log").add_column("follows", str, not_null_default="")
        # Per chat, the question last answered and how many of its passages were shown,
        # so that 还有吗 pages on; and which question each answer message answered, so that
        # a reply to it is read together with that question. Both outlive a restart.
        db.table("conversations").create(
            {"chat_id": int, "log_id": int, "shown": int}, pk="chat_id", if_not_exists=True
        )
        db.table("answer_messages").create(
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
        try:
            return self._insert_query(
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
        except Exception:
            self.unlogged += 1
            raise

    def _insert_query(self, entry: dict) -> int:
        with self.transaction() as db:
            table = db.table("query_log").insert(entry)
        # The id SQLite gave the row: an integer primary key is never None after an insert.
        return int(table.last_pk)  # type: ignore[arg-type]

    def logged_query(self, entry_id: int) -> dict | None:
        rows = list(self.db.query("select * from query_log where id = ?", [entry_id]))
        return rows[0] if rows else None

    def remember_shown(self, chat_id: int, log_id: int, shown: int) -> None:
        with self.transaction() as db:
            db.table("conversations").upsert(
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
            db.table("answer_messages").upsert_all(rows, pk=("chat_id", "message_id"))

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

    def log_feedback(self, log_id: int, user_hash: str, useful: bool) -> bool:
        """Record a vote on an answer; False when the question is not in the log."""
        if self.logged_query(log_id) is None:
            return False
        row = {"log_id": log_id, "user_hash": user_hash, "useful": int(useful), "ts": time.time()}
        with self.transaction() as db:
            db.table("feedback").upsert(row, pk=("log_id", "user_hash"))
        return True

    def feedback_since(self, since: float) -> list[dict]:
        """Votes since then, each with the question it was on."""
        return list(
            self.db.query(
                "select f.useful, q.query from feedback f join query_log q on q.id = f.log_id "
                "where f.ts >= ?",
                [since],
            )
        )

    def log_admin_action(self, *, user_hash: str, action: str, target: str, outcome: str) -> None:
        with self.transaction() as db:
            db.table("audit_log").insert(
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
