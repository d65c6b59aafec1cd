"""Statistics for admins, from a known query log; the log never waits for a reload."""

import datetime
import threading
from pathlib import Path

from bot.config import BUNDLED_CORPUS
from bot.journal import Journal
from bot.stats import stats_of
from retrieval.library import Library
from retrieval.store import Store


def test_stats_figures_from_a_known_query_log(tmp_path: Path) -> None:
    journal = Journal.beside(tmp_path / "s.db")
    now = datetime.datetime.now().replace(hour=12, minute=0).timestamp()
    rows = [
        ("工会是什么", True, 10.0, "u1", now - 60),
        ("工会是什么", True, 20.0, "u2", now - 120),
        ("明天下雨吗", False, 30.0, "u1", now - 180),
        ("明天下雨吗", False, 40.0, "u3", now - 3 * 86400),
        ("很久以前", True, 50.0, "u4", now - 30 * 86400),
    ]
    for query, answered, ms, who, ts in rows:
        journal.log_query(
            chat_type="private", user_hash=who, query=query, answered=answered,
            top_speech="", top_paragraph=0, latency_ms=ms, ts=ts,
        )  # fmt: skip
    stats = stats_of(journal, now=now)
    assert stats.week == 4 and stats.askers == 3
    assert stats.today == 3
    assert stats.nothing_found_share == 0.5
    assert stats.median_ms == 25.0
    assert set(stats.top) == {("工会是什么", 2), ("明天下雨吗", 2)}
    assert stats.unanswered == [("明天下雨吗", 2)]


def test_logging_a_question_does_not_wait_for_a_reload(tmp_path: Path) -> None:
    library = Library(BUNDLED_CORPUS, Store(tmp_path / "s.db"))
    journal = Journal.beside(library.store_path)
    logged = threading.Event()

    def ask() -> None:
        journal.log_query(
            chat_type="private", user_hash="u", query="工会", answered=True,
            top_speech="", top_paragraph=0, latency_ms=1.0,
        )  # fmt: skip
        logged.set()

    # A reload holds the corpus database's write transaction while it builds the index.
    with library.store.transaction():
        threading.Thread(target=ask).start()
        assert logged.wait(5)
