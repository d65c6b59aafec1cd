"""`speechbot chat`: the bot in a terminal, showing exactly what it would send, as plain text."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from bot import commands
from bot.commands import Request
from bot.render import html
from bot.service import Asker, BotService

PROMPT = "问> "
# The terminal is one chat: 还有吗 pages on from its last answer.
TERMINAL_CHAT = 0


def respond(service: BotService, line: str) -> list[str]:
    """The messages the bot would send for one private-chat line, as plain text: the same
    command table and rendering as Telegram's."""
    text = line.strip()
    asker = Asker(chat_type="terminal", chat_id=TERMINAL_CHAT)
    if text.startswith("/"):
        head, _, args = text.partition(" ")
        reply = commands.run(head[1:], service, Request(args.strip(), asker))
    else:
        reply = commands.ask(service, Request(text, asker))
    return [html.to_plain(t) for t in reply.messages]


def run(
    service: BotService,
    lines: Iterable[str],
    write: Callable[[str], object],
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
