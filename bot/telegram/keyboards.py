"""Inline buttons and their callback data, which lives in SQLite, not in memory.

`m:<log id>:<offset>` pages a logged question; `f:<speech id>:<n>` opens a paragraph in
full. Both survive a restart and fit Telegram's 64 bytes. Each kind is routed to its
handler by the pattern below (app.register).
"""

from __future__ import annotations

import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import messages as m
from bot.service import Page

MORE = "m"
FULL = "f"
MORE_PATTERN = re.compile(rf"^{MORE}:(\d{{1,12}}):(\d{{1,6}})$")
FULL_PATTERN = re.compile(rf"^{FULL}:([0-9a-f]{{1,32}}):(\d{{1,6}})$")


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
