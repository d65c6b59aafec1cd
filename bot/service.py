"""What the bot does, without Telegram: ask, page, show in full; every question logged.

Handlers and the terminal `chat` both call this, so they send the same answers.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

from bot import telegram_render as tr
from bot.access import user_hash
from bot.config import Config
from retrieval.library import Library
from retrieval.model import Answer


@dataclass(frozen=True)
class Page:
    """One page of an answer, rendered, with what its buttons need."""

    answer: Answer
    messages: list[str]
    log_id: int
    offset: int
    more: bool


class BotService:
    def __init__(self, library: Library, config: Config) -> None:
        self.library = library
        self.config = config

    def ask(self, question: str, chat_type: str, user_id: int | None, k: int = 0) -> Page:
        started = time.perf_counter()
        answer, more = self._search(question, k or self.config.top_k, 0)
        top = answer.hits[0] if answer.hits else None
        log_id = self.library.journal.log_query(
            chat_type=chat_type,
            user_hash=user_hash(self.config.telegram, user_id),
            query=question,
            answered=answer.answered,
            top_speech=top.speech_id if top else "",
            top_paragraph=top.paragraph if top else 0,
            latency_ms=(time.perf_counter() - started) * 1000,
        )
        return Page(answer, tr.pack(tr.answer_blocks(answer)), log_id, 0, more)

    def find(self, phrase: str, chat_type: str, user_id: int | None, k: int = 0) -> Page:
        """Exact look-up: the phrase is asked in quotes, so paging keeps it a phrase."""
        quoted = phrase.strip().strip("「」『』“”‘’\"'")
        return self.ask(f"“{quoted}”", chat_type, user_id, k)

    def page(self, log_id: int, offset: int, k: int = 0) -> Page | None:
        """The results after `offset` of a logged question; None when the entry is gone."""
        entry = self.library.journal.logged_query(log_id)
        if entry is None:
            return None
        answer, more = self._search(entry["query"], k or self.config.top_k, offset)
        return Page(answer, tr.pack(tr.answer_blocks(answer)), log_id, offset, more)

    def _search(self, question: str, k: int, offset: int) -> tuple[Answer, bool]:
        """One more hit than shown is fetched, so the "more" button appears only when useful."""
        answer = self.library.engine.search(question, k=k + 1, offset=offset)
        return dataclasses.replace(answer, hits=answer.hits[:k]), len(answer.hits) > k

    def full_text(self, speech_id: str, n: int) -> list[str] | None:
        store = self.library.store
        speech = store.speech(speech_id)
        if speech is None:
            return None
        paragraphs = store.paragraphs_of(speech_id)
        if not any(p.n == n for p in paragraphs):
            return None
        return tr.pack(tr.full_text_blocks(speech, paragraphs, n))

    def speeches(self) -> list[str]:
        return tr.pack(tr.speeches_blocks(self.library.store.speeches()))

    def outline(self, speech_id: str) -> list[str] | None:
        store = self.library.store
        speech = store.speech(speech_id.strip())
        if speech is None:
            return None
        return tr.pack(tr.outline_blocks(speech, store.paragraphs_of(speech.id)))
