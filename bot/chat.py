"""`speechbot chat`: the bot in a terminal, showing exactly what it would send, as plain text."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from bot import messages as m
from bot import telegram_render as tr
from bot.service import BotService

PROMPT = "问> "
# The terminal is one chat: 还有吗 pages on from its last answer.
TERMINAL_CHAT = 0


def respond(service: BotService, line: str) -> list[str]:
    """The messages the bot would send for one private-chat line, as plain text."""
    command, _, rest = line.strip().partition(" ")
    rest = rest.strip()
    if command in ("/start", "/help"):
        return [m.HELP.format(username="botname")]
    if command == "/speeches":
        return [tr.to_plain(t) for t in service.speeches()]
    if command == "/speech":
        outline = service.outline(rest) if rest else None
        return [tr.to_plain(t) for t in outline] if outline else [m.UNKNOWN_SPEECH.format(id=rest)]
    if command == "/find":
        page = service.find(rest, "terminal", None) if rest else None
        return [tr.to_plain(t) for t in page.messages] if page else [m.FIND_USAGE]
    if command == "/ask":
        line = rest
    if not line.strip():
        return [m.ASK_USAGE]
    page = service.ask(line, "terminal", None, chat_id=TERMINAL_CHAT)
    return [tr.to_plain(t) for t in page.messages]


def run(
    service: BotService,
    lines: Iterable[str],
    write: Callable[[str], None],
    prompt: Callable[[], None] = lambda: None,
) -> None:
    prompt()
    for line in lines:
        if line.strip() in ("/quit", "/exit"):
            break
        if line.strip():
            for message in respond(service, line):
                write(message + "\n")
        prompt()
