"""Inline buttons and their callback data, which lives in SQLite, not in memory.

`m:<log id>:<offset>` pages a logged question; `f:<speech id>:<n>` opens a paragraph in
full. Both survive a restart and fit Telegram's 64 bytes.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import messages as m
from bot.service import Page

MORE = "m"
FULL = "f"


def answer_keyboard(page: Page) -> InlineKeyboardMarkup | None:
    answer = page.answer
    if not answer.answered or not answer.hits:
        return None
    rows = []
    full = [
        InlineKeyboardButton(
            f"{m.FULL_TEXT} {hit.rank}" if len(answer.hits) > 1 else m.FULL_TEXT,
            callback_data=f"{FULL}:{hit.speech_id}:{hit.paragraph}",
        )
        for hit in answer.hits
    ]
    rows.append(full)
    if page.more:
        next_offset = page.offset + len(answer.hits)
        data = f"{MORE}:{page.log_id}:{next_offset}"
        rows.append([InlineKeyboardButton(m.MORE_RESULTS, callback_data=data)])
    return InlineKeyboardMarkup(rows)


def parse(data: str) -> tuple[str, str, int] | None:
    """(kind, key, number) or None for anything malformed or from an older version."""
    parts = data.split(":")
    if len(parts) != 3 or parts[0] not in (MORE, FULL) or not parts[2].isdigit():
        return None
    return parts[0], parts[1], int(parts[2])
