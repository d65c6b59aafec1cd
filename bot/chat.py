"""`speechbot chat`: the bot in a terminal, showing exactly what it would send, as plain text.

Its buttons are typed: under an answer or a paragraph the terminal lists them as commands
(/more, /full 1, /next …), which do what pressing them in Telegram does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from bot import commands
from bot import messages as m
from bot.commands import Reply, Request
from bot.render import html
from bot.service import Asker, BotService, Page, SpeechText

PROMPT = "问> "
# The terminal is one chat: 还有吗 pages on from its last answer.
TERMINAL_CHAT = 0


class TerminalChat:
    """One terminal conversation: what its last answer and last paragraph were, so that the
    typed buttons act on them."""

    def __init__(self, service: BotService) -> None:
        self.service = service
        self.page: Page | None = None
        self.reading: SpeechText | None = None

    def respond(self, line: str) -> list[str]:
        """The messages the bot would send for one private-chat line, as plain text: the
        same command table and rendering as Telegram's."""
        text = line.strip()
        head, _, args = text.partition(" ")
        button = self._button(head.lower(), args.strip()) if text.startswith("/") else None
        if button is not None:
            reply = button
        elif text.startswith("/"):
            reply = commands.run(head[1:], self.service, self._request(args.strip()))
        else:
            reply = commands.ask(self.service, self._request(text))
        if reply.page is not None:
            self.page, self.reading = reply.page, None
        elif reply.reading is not None:
            self.reading = reply.reading
        return [*(html.to_plain(t) for t in reply.messages), *self._buttons(reply)]

    def _request(self, args: str) -> Request:
        return Request(args, Asker(chat_type="terminal", chat_id=TERMINAL_CHAT))

    def _button(self, name: str, args: str) -> Reply | None:
        """A typed button, or None when the line is no button."""
        page, reading = self.page, self.reading
        if name in ("/more", "/back") and page is not None:
            size = page.size
            offset = page.offset + len(page.answer.hits) if name == "/more" else page.offset - size
            turned = self.service.page(page.log_id, max(offset, 0))
            if turned is None or not turned.answer.hits:
                return Reply([html.esc(m.NO_MORE)])
            return Reply(html.page_messages(turned), turned)
        if name == "/full" and page is not None and args.isdigit():
            hit = next((h for h in page.answer.hits if h.rank == int(args)), None)
            text = self.service.full_text(hit.speech_id, hit.paragraph) if hit else None
            return Reply(html.full_text_messages(text), reading=text) if text else None
        if name in ("/next", "/prev") and reading is not None:
            numbers = [p.n for p in reading.paragraphs]
            at = numbers.index(reading.focus) + (1 if name == "/next" else -1)
            if not 0 <= at < len(numbers):
                return Reply([html.esc(m.NO_MORE)])
            text = self.service.full_text(reading.speech.id, numbers[at])
            return Reply(html.full_text_messages(text), reading=text) if text else None
        if name == "/cite" and page is not None and args.isdigit():
            hit = next((h for h in page.answer.hits if h.rank == int(args)), None)
            cited = self.service.citation(hit.speech_id, hit.paragraph) if hit else None
            return Reply([f"{html.esc(m.CITATION)}\n{html.esc(cited)}"]) if cited else None
        if name == "/cite" and reading is not None:
            cited = self.service.citation(reading.speech.id, reading.focus)
            return Reply([f"{html.esc(m.CITATION)}\n{html.esc(cited or '')}"])
        if name in ("/useful", "/useless") and page is not None:
            self.service.vote(page.log_id, None, name == "/useful")
            return Reply([html.esc(m.THANKS)])
        return None

    def _buttons(self, reply: Reply) -> list[str]:
        """The buttons Telegram would show under the reply, as commands to type."""
        typed: list[str] = []
        if reply.page is not None and reply.page.answer.hits:
            page = reply.page
            typed += [f"/full {h.rank}" for h in page.answer.hits]
            typed += [f"/cite {h.rank}" for h in page.answer.hits]
            typed += ["/back"] if page.offset > 0 else []
            typed += ["/more"] if page.more else []
            typed += ["/useful", "/useless"] if page.log_id else []
        elif reply.reading is not None:
            typed += ["/prev", "/next", "/cite"]
        return [m.TYPED_BUTTONS.format(commands=" ".join(typed))] if typed else []


def run(
    service: BotService,
    lines: Iterable[str],
    write: Callable[[str], object],
    prompt: Callable[[], None] = lambda: None,
) -> None:
    chat = TerminalChat(service)
    prompt()
    for line in lines:
        if line.strip() in ("/quit", "/exit"):
            break
        if line.strip():
            for message in chat.respond(line):
                write(message + "\n")
        prompt()
