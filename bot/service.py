"""What the bot does, without Telegram: ask, page, read a speech; every question logged.

Values in, values out: Telegram's handlers and the terminal `chat` render what this returns
(bot/render), so they show the same answers.
"""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from bot.access import user_hash
from bot.config import Config
from bot.journal import Journal
from retrieval import NONE, Answer, Library, Outline, ParagraphRow, SpeechRow

log = logging.getLogger(__name__)

# Page.notice when 还有吗 comes before any question in the chat.
NO_EARLIER_QUESTION = "no_earlier_question"


@dataclass(frozen=True)
class SpeechText:
    """A speech and its paragraphs; `focus` is the paragraph asked for (0: the whole)."""

    speech: SpeechRow
    paragraphs: list[ParagraphRow]
    focus: int = 0


@dataclass(frozen=True)
class Page:
    """One page of an answer, with what its buttons need: the logged question, where the
    page starts, whether more follow. `outline`: the speech whose outline was asked for."""

    answer: Answer
    log_id: int
    offset: int
    more: bool
    outline: Outline | None = None
    notice: str = ""
    # Passages a page shows (the page before starts this many earlier).
    size: int = 3


@dataclass(frozen=True)
class Asker:
    """Who asks, and where: the chat's type and id, the user, the bot message replied to."""

    chat_type: str
    user_id: int | None = None
    chat_id: int | None = None
    replied_to: int | None = None
    k: int = 0


T = TypeVar("T")


def _best_effort(action: Callable[..., T], *args: object) -> T | None:
    """A journal read or write that may fail (a full disk, a locked or damaged file)
    without taking the answer with it: None, and a warning in the log."""
    try:
        return action(*args)
    except (sqlite3.Error, OSError) as exc:
        log.warning("journal: %s failed (%s); answering without it", action.__name__, exc)
        return None


class BotService:
    def __init__(self, library: Library, config: Config, journal: Journal | None = None) -> None:
        self.library = library
        self.config = config
        self.journal = journal or Journal.beside(library.store_path)

    def ask(self, question: str, asker: Asker) -> Page:
        """Answer a question. In a chat, 还有吗 pages on from the chat's last answer, and a
        reply to one of the bot's answers is read together with the question it answered."""
        journal, chat = self.journal, asker.chat_id
        earlier = None
        if chat is not None and asker.replied_to:
            earlier = _best_effort(journal.answered_by, chat, asker.replied_to)
        if chat is not None and self.library.asks_for_more(question):
            last = earlier or _best_effort(journal.last_shown, chat)
            return self._more(chat, last, asker.k)
        follows = ""
        if earlier is not None:
            entry = _best_effort(journal.logged_query, earlier[0])
            follows = entry["query"] if entry else ""
        started = time.perf_counter()
        answer, more = self._search(question, asker.k or self.config.top_k, 0, follows)
        top = answer.hits[0] if answer.hits else None
        # Answering never depends on writing: without a log entry the answer still goes
        # out, only without the buttons that need one (paging, votes).
        log_id = (
            _best_effort(
                lambda: journal.log_query(
                    chat_type=asker.chat_type,
                    user_hash=user_hash(self.config.telegram, asker.user_id),
                    query=question,
                    answered=answer.answered,
                    top_speech=top.speech_id if top else "",
                    top_paragraph=top.paragraph if top else 0,
                    latency_ms=(time.perf_counter() - started) * 1000,
                    follows=follows,
                )
            )
            or 0
        )
        if chat is not None and answer.answered and log_id:
            _best_effort(journal.remember_shown, chat, log_id, len(answer.hits))
        outline = self.library.outline(answer.outline) if answer.outline else None
        size = asker.k or self.config.top_k
        return Page(answer, log_id, 0, more, outline, size=size)

    def find(self, phrase: str, asker: Asker) -> Page:
        """Exact look-up: the phrase is asked in quotes, so paging keeps it a phrase."""
        quoted = phrase.strip().strip("「」『』“”‘’\"'")
        return self.ask(f"“{quoted}”", asker)

    def _more(self, chat_id: int, asked: tuple[int, int] | None, k: int) -> Page:
        """The passages after those shown of a question: (log id, how many were shown) of
        the answer replied to, or of the chat's last one."""
        page = self.page(asked[0], asked[1], k) if asked is not None else None
        if page is None:
            empty = Answer(query="", confidence=NONE, hits=())
            return Page(empty, 0, 0, False, notice=NO_EARLIER_QUESTION)
        shown = page.offset + len(page.answer.hits)
        _best_effort(self.journal.remember_shown, chat_id, page.log_id, shown)
        return page

    def remember_sent(self, chat_id: int, message_ids: list[int], page: Page) -> None:
        """Which question the messages just sent answer, for replies to them."""
        if page.log_id:
            shown = page.offset + len(page.answer.hits)
            _best_effort(self.journal.remember_answer, chat_id, message_ids, page.log_id, shown)

    def page(self, log_id: int, offset: int, k: int = 0) -> Page | None:
        """The results after `offset` of a logged question; None when the entry is gone."""
        entry = self.journal.logged_query(log_id)
        if entry is None:
            return None
        k = k or self.config.top_k
        answer, more = self._search(entry["query"], k, offset, entry.get("follows") or "")
        return Page(answer, log_id, offset, more, size=k)

    def _search(self, question: str, k: int, offset: int, follows: str = "") -> tuple[Answer, bool]:
        """One more hit than shown is fetched, so the "more" button appears only when useful."""
        answer = self.library.search(question, k=k + 1, offset=offset, follows=follows)
        # More only while relevant passages are left (answer.total; 0 when not known).
        more = len(answer.hits) > k and (not answer.total or answer.total > offset + k)
        return dataclasses.replace(answer, hits=answer.hits[:k]), more

    def full_text(self, speech_id: str, n: int) -> SpeechText | None:
        """A paragraph of a speech with the speech around it; None when either is gone."""
        text = self.speech_text(speech_id)
        if text is None or not any(p.n == n for p in text.paragraphs):
            return None
        return dataclasses.replace(text, focus=n)

    def speeches(self) -> list[SpeechRow]:
        return self.library.speeches()

    def speech_text(self, speech_id: str) -> SpeechText | None:
        speech = self.library.speech(speech_id)
        if speech is None:
            return None
        return SpeechText(speech, self.library.paragraphs(speech.id))

    def owns(self, chat_id: int, message_id: int, log_id: int) -> bool:
        """Whether the bot's message in that chat answered that logged question: a button
        naming another one (forged, or from another chat) must not page or vote on it."""
        answered = _best_effort(self.journal.answered_by, chat_id, message_id)
        return answered is not None and answered[0] == log_id

    def vote(self, log_id: int, user_id: int | None, useful: bool) -> bool:
        """有用 / 没用 on an answer, for the admins' statistics; False for an unknown one."""
        who = user_hash(self.config.telegram, user_id)
        return self.journal.log_feedback(log_id, who, useful)

    def citation(self, speech_id: str, n: int) -> str | None:
        return self.library.citation(speech_id, n)

    def outline(self, wanted: str) -> Outline | None:
        """The outline of a speech named by its id, its place or its congress (滨州,
        南昌十三大); None when no one speech answers to it."""
        return self.library.outline(wanted)
