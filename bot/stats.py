"""The admins' statistics, from the question log."""

from __future__ import annotations

import datetime as dt
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field

from bot.journal import Journal


@dataclass
class Stats:
    today: int = 0
    week: int = 0
    askers: int = 0
    nothing_found_share: float = 0.0
    median_ms: float = 0.0
    top: list[tuple[str, int]] = field(default_factory=list)
    unanswered: list[tuple[str, int]] = field(default_factory=list)
    votes: int = 0
    useless_share: float = 0.0
    useless: list[tuple[str, int]] = field(default_factory=list)
    unlogged: int = 0


def stats_of(journal: Journal, now: float | None = None) -> Stats:
    """Questions today and in the last 7 days, askers, share answered "nothing found", the
    most asked and the most often unanswered questions, the median answer time."""
    now = time.time() if now is None else now
    midnight = dt.datetime.fromtimestamp(now).replace(hour=0, minute=0, second=0)
    week = journal.query_log(now - 7 * 86400)
    stats = Stats(
        today=sum(1 for e in week if e["ts"] >= midnight.timestamp()),
        week=len(week),
        unlogged=journal.unlogged,
    )
    votes = journal.feedback_since(now - 7 * 86400)
    if votes:
        useless = [v["query"].strip() for v in votes if not v["useful"]]
        stats.votes = len(votes)
        stats.useless_share = len(useless) / len(votes)
        stats.useless = Counter(useless).most_common(10)
    if not week:
        return stats
    stats.askers = len({e["user_hash"] for e in week if e["user_hash"]})
    unanswered = [e for e in week if not e["answered"]]
    stats.nothing_found_share = len(unanswered) / len(week)
    stats.median_ms = statistics.median(e["latency_ms"] for e in week)
    stats.top = Counter(e["query"].strip() for e in week).most_common(10)
    stats.unanswered = Counter(e["query"].strip() for e in unanswered).most_common(10)
    return stats
