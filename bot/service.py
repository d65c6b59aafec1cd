"""What the bot does, without Telegram: ask, page, show in full; every question logged.

Handlers and the terminal `chat` both call this, so they send the same answers.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

from bot import messages as m
from bot import telegram_render as tr
from bot.access import user_hash
from bot.config import Config
from bot.journal import Journal
from retrieval import NONE, Answer, Library


@dataclass(frozen=True)
class Page:
    """One page of an answer, rendered, with what its buttons need."""

    answer: Answer
    messages: list[str]
    log_id: int
    offset: int
    more: bool


class BotService:
    def __init__(self, library: Library, config: Config, journal: Journal | None = None) -> None:
        self.library = library
        self.config = config
        self.journal = journal or Journal.beside(library.store_path)

    def ask(
        self,
        question: str,
        chat_type: str,
        user_id: int | None,
        k: int = 0,
        chat_id: int | None = None,
        replied_to: int | None = None,
    ) -> Page:
        """Answer a question. In a chat (`chat_id`), 还有吗 pages on from the chat's last
        answer, and a reply to one of the bot's answers (`replied_to`, its message id) is
        read together with the question that answer was for."""
        journal = self.journal
        earlier = journal.answered_by(chat_id, replied_to) if chat_id and replied_to else None
        if chat_id is not None and self.library.asks_for_more(question):
            return self._more(chat_id, earlier or journal.last_shown(chat_id), k)
        follows = ""
        if earlier is not None:
            entry = journal.logged_query(earlier[0])
            follows = entry["query"] if entry else ""
        started = time.perf_counter()
        answer, more = self._search(question, k or self.config.top_k, 0, follows)
        top = answer.hits[0] if answer.hits else None
        log_id = journal.log_query(
            chat_type=chat_type,
            user_hash=user_hash(self.config.telegram, user_id),
            query=question,
            answered=answer.answered,
            top_speech=top.speech_id if top else "",
            top_paragraph=top.paragraph if top else 0,
            latency_ms=(time.perf_counter() - started) * 1000,
            follows=follows,
        )
        if chat_id is not None and answer.answered:
            journal.remember_shown(chat_id, log_id, len(answer.hits))
        return Page(answer, self._render(answer), log_id, 0, more)

    def _more(self, chat_id: int, asked: tuple[int, int] | None, k: int) -> Page:
        """The passages after those shown of a question: (log id, how many were shown) of
        the answer replied to, or of the chat's last one."""
        page = self.page(asked[0], asked[1], k) if asked is not None else None
        if page is None:
            empty = Answer(query="", confidence=NONE, hits=())
            return Page(empty, [tr.esc(m.NO_EARLIER_QUESTION)], 0, 0, False)
        self.journal.remember_shown(chat_id, page.log_id, page.offset + len(page.answer.hits))
        return page

    def remember_sent(self, chat_id: int, message_ids: list[int], page: Page) -> None:
        """Which question the messages just sent answer, for replies to them."""
        if page.log_id:
            shown = page.offset + len(page.answer.hits)
            self.journal.remember_answer(chat_id, message_ids, page.log_id, shown)

    def _render(self, answer: Answer) -> list[str]:
        """The answer's messages; an outline asked for comes first."""
        blocks = tr.answer_blocks(answer)
        if answer.outline:
            speech = self.library.speech(answer.outline)
            if speech is not None:
                paragraphs = self.library.paragraphs(speech.id)
                blocks = tr.outline_blocks(speech, paragraphs) + blocks
        return tr.pack(blocks)

    def find(self, phrase: str, chat_type: str, user_id: int | None, k: int = 0) -> Page:
        """Exact look-up: the phrase is asked in quotes, so paging keeps it a phrase."""
        quoted = phrase.strip().strip("「」『』“”‘’\"'")
        return self.ask(f"“{quoted}”", chat_type, user_id, k)

    def page(self, log_id: int, offset: int, k: int = 0) -> Page | None:
        """The results after `offset` of a logged question; None when the entry is gone."""
        entry = self.journal.logged_query(log_id)
        if entry is None:
            return None
        k = k or self.config.top_k
        answer, more = self._search(entry["query"], k, offset, entry.get("follows") or "")
        return Page(answer, tr.pack(tr.answer_blocks(answer)), log_id, offset, more)

    def _search(self, question: str, k: int, offset: int, follows: str = "") -> tuple[Answer, bool]:
        """One more hit than shown is fetched, so the "more" button appears only when useful."""
        answer = self.library.search(question, k=k + 1, offset=offset, follows=follows)
        return dataclasses.replace(answer, hits=answer.hits[:k]), len(answer.hits) > k

    def full_text(self, speech_id: str, n: int) -> list[str] | None:
        speech = self.library.speech(speech_id)
        if speech is None:
            return None
        paragraphs = self.library.paragraphs(speech.id)
        if not any(p.n == n for p in paragraphs):
            return None
        return tr.pack(tr.full_text_blocks(speech, paragraphs, n))

    def speeches(self) -> list[str]:
        return tr.pack(tr.speeches_blocks(self.library.speeches()))

    def outline(self, speech_id: str) -> list[str] | None:
        speech = self.library.speech(speech_id)
        if speech is None:
            return None
        return tr.pack(tr.outline_blocks(speech, self.library.paragraphs(speech.id)))
