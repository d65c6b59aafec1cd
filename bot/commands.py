"""The commands users send, in one table that Telegram and the terminal `chat` both serve:
each turns a request into a reply — HTML messages, and the page whose buttons go under the
last of them. Admin commands are Telegram's alone (bot/telegram/admin.py)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from bot import messages as m
from bot.render import html
from bot.service import Asker, BotService, Page, SpeechText
from retrieval import Outline, SpeechRow


@dataclass(frozen=True)
class Request:
    args: str
    asker: Asker
    bot_username: str = "botname"


@dataclass(frozen=True)
class Reply:
    """`page`: the answer whose buttons go under the last message; `reading`: the paragraph
    read in full, whose 上一段 / 下一段 go there instead."""

    messages: list[str]
    page: Page | None = None
    reading: SpeechText | None = None
    # A listing of speeches, each with a button that opens its outline.
    speeches: tuple[SpeechRow, ...] = ()
    # An outline, with a button a top-level section that opens its first paragraph.
    outline: Outline | None = None


# /start's parameter from a deep link: read_<speech id>_<paragraph> opens that paragraph.
READ_LINK = re.compile(r"^read_([0-9a-f]{1,32})_(\d{1,6})$")


def read_link(speech_id: str, n: int) -> str:
    return f"read_{speech_id}_{n}"


Action = Callable[[BotService, Request], Reply]


def _text(text: str) -> Reply:
    return Reply([html.esc(text)])


def ask(service: BotService, request: Request) -> Reply:
    """A question, as a command or as plain text."""
    if not request.args.strip():
        return _text(m.ASK_USAGE)
    page = service.ask(request.args, request.asker)
    return Reply(html.page_messages(page), page)


def _find(service: BotService, request: Request) -> Reply:
    if not request.args.strip():
        return _text(m.FIND_USAGE)
    page = service.find(request.args, request.asker)
    return Reply(html.page_messages(page), page)


def _help(service: BotService, request: Request) -> Reply:
    return _text(m.HELP.format(username=request.bot_username))


def _start(service: BotService, request: Request) -> Reply:
    """/start, and the deep link a group sends a reader along (a paragraph to read)."""
    link = READ_LINK.match(request.args.strip())
    text = service.full_text(link[1], int(link[2])) if link else None
    if text is None:
        return _help(service, request)
    return Reply(html.full_text_messages(text), reading=text)


def _speeches(service: BotService, request: Request) -> Reply:
    speeches = service.speeches()
    return Reply(html.speeches_messages(speeches), speeches=tuple(speeches))


def _speech(service: BotService, request: Request) -> Reply:
    wanted = request.args.strip()
    if not wanted:
        first = service.speeches()
        return _text(m.SPEECH_USAGE.format(example=first[0].id if first else "1a2b3c4d"))
    outline = service.outline(wanted)
    if outline is None:
        return _text(m.UNKNOWN_SPEECH.format(id=wanted[:40]))
    return Reply(html.outline_messages(outline), outline=outline)


@dataclass(frozen=True)
class Command:
    name: str
    action: Action
    in_groups: bool = True
    # Listed in Telegram's command menu (its description is in messages.COMMANDS).
    listed: bool = True


COMMANDS = (
    Command("start", _start, listed=False),
    Command("ask", ask),
    Command("find", _find),
    Command("speeches", _speeches),
    Command("speech", _speech, in_groups=False),
    Command("help", _help),
)
BY_NAME = {c.name: c for c in COMMANDS}


def run(name: str, service: BotService, request: Request) -> Reply:
    """The reply to /name; an unknown command gets a pointer to /help."""
    command = BY_NAME.get(name.lower())
    if command is None:
        return _text(m.UNKNOWN_COMMAND)
    return command.action(service, request)


def menu(in_groups: bool) -> dict[str, str]:
    """The command menu Telegram shows, for private chats or for groups."""
    return {
        c.name: m.COMMANDS[c.name] for c in COMMANDS if c.listed and (c.in_groups or not in_groups)
    }
